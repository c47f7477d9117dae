/**
 * Target outages during a rotation: the run retries with backoff, then fails; the stored current
 * credential is untouched and (where the target never took the pending one) still logs in; once
 * the target is back, resume or cancel converges without lockout.
 */
import { describe, expect, it } from 'vitest';
import type { Strategy } from '../src/targets/target.js';
import { usePostgresHome, type PostgresHome } from './helpers/postgres-home.js';

const RETRY = '    rotation: { attempts: 3, backoffBaseMs: 20, backoffCapMs: 100, timeoutMs: 3000 }\n';

const home = usePostgresHome();
let h: PostgresHome;

async function setup(strategy: Strategy): Promise<void> {
  h = await home.open({ strategy, secretExtra: RETRY });
}

describe('target outages', () => {
  it('down during set: retried, then failed; current untouched and logging in; cancel clears pending once back', async () => {
    await setup('single-user');
    const before = await h.stored('current');
    const run = await h.engineDownAt('set').rotate(h.fx.path, { wait: true });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE', attempt: 3 });
    const steps = await (await h.kt.engine()).runs.steps(run.id);
    expect(steps.filter((s) => s.step === 'set' && s.outcome === 'failed')).toHaveLength(3);
    expect(await h.stored('current')).toEqual(before);
    expect(await h.fx.logsIn(before!)).toBe(true);
    await h.proxy!.up();
    const cancelled = await (await h.kt.engine()).cancel(run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(await h.stored('pending')).toBeNull();
    expect(await h.fx.logsIn((await h.stored('current'))!)).toBe(true);
  });

  it('down during set: once back, resume finishes the rotation', async () => {
    await setup('alternating-users');
    const run = await h.engineDownAt('set').rotate(h.fx.path, { wait: true });
    expect(run.status).toBe('failed');
    await h.proxy!.up();
    const done = await (await h.kt.engine()).resume(run.id);
    expect(done.status).toBe('done');
    const current = (await h.stored('current'))!;
    expect(current.username).toBe(`${h.fx.username}_clone`);
    expect(await h.fx.logsIn(current)).toBe(true);
    expect(await h.stored('pending')).toBeNull();
  });

  it('down during test, alternating-users: the current user is never touched and keeps logging in', async () => {
    await setup('alternating-users');
    const before = (await h.stored('current'))!;
    const run = await h.engineDownAt('test').rotate(h.fx.path, { wait: true });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE' });
    expect(await h.stored('current')).toEqual(before);
    expect(await h.fx.logsIn(before)).toBe(true);
    await h.proxy!.up();
    expect((await (await h.kt.engine()).resume(run.id)).status).toBe('done');
    expect(await h.fx.logsIn((await h.stored('current'))!)).toBe(true);
  });

  it('down during test, single-user: the store keeps the pending credential the target took; resume makes it current', async () => {
    await setup('single-user');
    const before = (await h.stored('current'))!;
    const run = await h.engineDownAt('test').rotate(h.fx.path, { wait: true });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE' });
    expect(await h.stored('current')).toEqual(before);
    const pending = (await h.stored('pending'))!;
    // The target took the new password before it went down: the store still knows it.
    expect(await h.fx.logsIn(pending)).toBe(true);
    await h.proxy!.up();
    const done = await (await h.kt.engine()).resume(run.id);
    expect(done.status).toBe('done');
    expect(await h.stored('current')).toEqual(pending);
    expect(await h.stored('pending')).toBeNull();
    expect(await h.fx.logsIn(pending)).toBe(true);
    expect(await h.fx.logsIn(before)).toBe(false);
  });

  it('down during test: the run says it failed at test, though its next attempt resumes at set', async () => {
    await setup('single-user');
    const run = await h.engineDownAt('test').rotate(h.fx.path);
    // The current credential could not be checked (target down), so the retry starts again at set.
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, errorCode: 'KT_TARGET_UNAVAILABLE', failedStep: 'test', step: 'set' });
    const { runLine } = await import('../src/cli/commands/run-view.js');
    expect(runLine(run, [])).toMatch(/^app\/db: attempt 1 failed at test: KT_TARGET_UNAVAILABLE: .+; the next attempt resumes at set at /);
    await h.proxy!.up();
    const done = await (await h.kt.engine()).resume(run.id);
    expect(done).toMatchObject({ status: 'done', errorCode: null, failedStep: null });
  });

  it('a retry that is due is continued by `keyturn rotate --due` once the target is back', async () => {
    await setup('single-user');
    const run = await h.engineDownAt('set').rotate(h.fx.path);
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, errorCode: 'KT_TARGET_UNAVAILABLE' });
    await h.proxy!.up();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, run.nextAttemptAt! - Date.now()) + 5));
    const { runCli } = await import('./helpers/cli.js');
    const due = await runCli(['rotate', '--due', '--json'], { env: h.fx.env });
    expect(due.code, due.stderr).toBe(0);
    const lines = due.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ path: h.fx.path, status: 'done', runId: run.id });
    expect(lines.at(-1)).toMatchObject({ summary: { total: 1, done: 1, failed: 0 } });
    const nothing = await runCli(['rotate', '--due', '--json'], { env: h.fx.env });
    expect(JSON.parse(nothing.stdout.trim())).toMatchObject({ summary: { total: 0 } });
    expect(await h.fx.logsIn((await h.stored('current'))!)).toBe(true);
  });

  it('refused credentials: after two failed sets the next attempt generates a fresh value', async () => {
    await setup('single-user');
    // The target's admin becomes a role without the right to change passwords: every set is refused.
    const weak = await h.fx.target.weakAdmin!();
    await h.kt.store.put('admin/db', { username: weak.username, password: weak.password });
    const run = await (await h.kt.engine()).rotate(h.fx.path, { wait: true });
    expect(run.status).toBe('failed');
    expect(run.errorCode).toMatch(/^KT_TARGET_/);
    expect(run.generation).toBe(2);
    const ids = (await h.kt.store.versions(h.fx.path)).map((v) => v.id);
    expect(ids).toEqual(expect.arrayContaining([`${run.id}.g1`, `${run.id}.g2`]));
    expect(await h.stored('pending')).toBeNull();
    expect(await h.fx.logsIn((await h.stored('current'))!)).toBe(true);
  });
});
