/**
 * Target outages during a rotation: the run retries with backoff, then fails; the stored current
 * credential is untouched and (where the target never took the pending one) still logs in; once
 * the target is back, resume or cancel converges without lockout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import type { Step } from '../src/engine/runs-repo.js';
import { openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import type { Credential, Strategy } from '../src/targets/target.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { PG_AUTH_PORT } from './helpers/pg-auth.js';
import { tcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { downBefore, engineWith } from './helpers/engines.js';

const RETRY = '    rotation: { attempts: 3, backoffBaseMs: 20, backoffCapMs: 100, timeoutMs: 3000 }\n';

let fx: RotationFixture | undefined;
let proxy: TcpProxy | undefined;
let kt: Keyturn | undefined;

afterEach(async () => {
  await kt?.close();
  await proxy?.close();
  await fx?.close();
  kt = undefined;
  proxy = undefined;
  fx = undefined;
});

async function setup(strategy: Strategy): Promise<void> {
  proxy = await tcpProxy(PG_AUTH_PORT);
  fx = await rotationFixture('postgres', strategy, { port: proxy.port, secretExtra: RETRY });
  kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
}

/** An engine whose target goes down at `step` (before it runs). */
const engineDownAt = (step: Step) => engineWith(kt!, downBefore(step, proxy!));

const value = async (stage: 'current' | 'pending') => ((await kt!.store.get(fx!.path, { stage }))?.value ?? null) as Credential | null;

describe('target outages', () => {
  it('down during set: retried, then failed; current untouched and logging in; cancel clears pending once back', async () => {
    await setup('single-user');
    const before = await value('current');
    const run = await engineDownAt('set').rotate(fx!.path, { wait: true });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE', attempt: 3 });
    const steps = await (await kt!.engine()).runs.steps(run.id);
    expect(steps.filter((s) => s.step === 'set' && s.outcome === 'failed')).toHaveLength(3);
    expect(await value('current')).toEqual(before);
    expect(await fx!.logsIn(before!)).toBe(true);
    await proxy!.up();
    const cancelled = await (await kt!.engine()).cancel(run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(await value('pending')).toBeNull();
    expect(await fx!.logsIn((await value('current'))!)).toBe(true);
  });

  it('down during set: once back, resume finishes the rotation', async () => {
    await setup('alternating-users');
    const run = await engineDownAt('set').rotate(fx!.path, { wait: true });
    expect(run.status).toBe('failed');
    await proxy!.up();
    const done = await (await kt!.engine()).resume(run.id);
    expect(done.status).toBe('done');
    const current = (await value('current'))!;
    expect(current.username).toBe(`${fx!.username}_clone`);
    expect(await fx!.logsIn(current)).toBe(true);
    expect(await value('pending')).toBeNull();
  });

  it('down during test, alternating-users: the current user is never touched and keeps logging in', async () => {
    await setup('alternating-users');
    const before = (await value('current'))!;
    const run = await engineDownAt('test').rotate(fx!.path, { wait: true });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE' });
    expect(await value('current')).toEqual(before);
    expect(await fx!.logsIn(before)).toBe(true);
    await proxy!.up();
    expect((await (await kt!.engine()).resume(run.id)).status).toBe('done');
    expect(await fx!.logsIn((await value('current'))!)).toBe(true);
  });

  it('down during test, single-user: the store keeps the pending credential the target took; resume makes it current', async () => {
    await setup('single-user');
    const before = (await value('current'))!;
    const run = await engineDownAt('test').rotate(fx!.path, { wait: true });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE' });
    expect(await value('current')).toEqual(before);
    const pending = (await value('pending'))!;
    // The target took the new password before it went down: the store still knows it.
    expect(await fx!.logsIn(pending)).toBe(true);
    await proxy!.up();
    const done = await (await kt!.engine()).resume(run.id);
    expect(done.status).toBe('done');
    expect(await value('current')).toEqual(pending);
    expect(await value('pending')).toBeNull();
    expect(await fx!.logsIn(pending)).toBe(true);
    expect(await fx!.logsIn(before)).toBe(false);
  });

  it('down during test: the run says it failed at test, though its next attempt resumes at set', async () => {
    await setup('single-user');
    const run = await engineDownAt('test').rotate(fx!.path);
    // The current credential could not be checked (target down), so the retry starts again at set.
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, errorCode: 'KT_TARGET_UNAVAILABLE', failedStep: 'test', step: 'set' });
    const { runLine } = await import('../src/cli/commands/run-view.js');
    expect(runLine(run, [])).toMatch(/^app\/db: attempt 1 failed at test: KT_TARGET_UNAVAILABLE: .+; the next attempt resumes at set at /);
    await proxy!.up();
    const done = await (await kt!.engine()).resume(run.id);
    expect(done).toMatchObject({ status: 'done', errorCode: null, failedStep: null });
  });

  it('a retry that is due is continued by `keyturn rotate --due` once the target is back', async () => {
    await setup('single-user');
    const run = await engineDownAt('set').rotate(fx!.path);
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, errorCode: 'KT_TARGET_UNAVAILABLE' });
    await proxy!.up();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, run.nextAttemptAt! - Date.now()) + 5));
    const { runCli } = await import('./helpers/cli.js');
    const due = await runCli(['rotate', '--due', '--json'], { env: fx!.env });
    expect(due.code, due.stderr).toBe(0);
    const lines = due.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ path: fx!.path, status: 'done', runId: run.id });
    expect(lines.at(-1)).toMatchObject({ summary: { total: 1, done: 1, failed: 0 } });
    const nothing = await runCli(['rotate', '--due', '--json'], { env: fx!.env });
    expect(JSON.parse(nothing.stdout.trim())).toMatchObject({ summary: { total: 0 } });
    expect(await fx!.logsIn((await value('current'))!)).toBe(true);
  });

  it('refused credentials: after two failed sets the next attempt generates a fresh value', async () => {
    await setup('single-user');
    // The target's admin becomes a role without the right to change passwords: every set is refused.
    const weak = await fx!.target.weakAdmin!();
    await kt!.store.put('admin/db', { username: weak.username, password: weak.password });
    const run = await (await kt!.engine()).rotate(fx!.path, { wait: true });
    expect(run.status).toBe('failed');
    expect(run.errorCode).toMatch(/^KT_TARGET_/);
    expect(run.generation).toBe(2);
    const ids = (await kt!.store.versions(fx!.path)).map((v) => v.id);
    expect(ids).toEqual(expect.arrayContaining([`${run.id}.g1`, `${run.id}.g2`]));
    expect(await value('pending')).toBeNull();
    expect(await fx!.logsIn((await value('current'))!)).toBe(true);
  });
});
