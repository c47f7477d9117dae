/**
 * Stale runs never touch the target: a run whose starting version is no longer current is
 * refused on resume (KT_RUN_SUPERSEDED) before any outside effect and cancelled; a finished run
 * whose value was superseded never re-delivers it; a rollback restores the credential current
 * now, never the run's starting one; `secret rollback` of a managed credential is refused
 * (KT_ROLLBACK_MANAGED). Each ends by logging in, with a plain driver, as the stored current
 * credential on the real PostgreSQL password cluster.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { KeyturnError } from '../src/core/errors.js';
import type { Step } from '../src/engine/runs-repo.js';
import { expectCode } from '../src/contracts/store-contract.js';
import { runCli } from './helpers/cli.js';
import { psqlAsPostgres } from './helpers/pg-auth.js';
import { tempDir } from './helpers/state.js';
import { usePostgresHome, type PostgresHome } from './helpers/postgres-home.js';
import { engineWith } from './helpers/engines.js';

const home = usePostgresHome();
let h: PostgresHome;

const rotation = (attempts: number) => `    rotation: { attempts: ${attempts}, backoffBaseMs: 20, backoffCapMs: 100, timeoutMs: 3000 }\n`;

async function setup(options: { attempts?: number; consumers?: string; viaProxy?: boolean } = {}): Promise<void> {
  h = await home.open({ viaProxy: options.viaProxy !== false, secretExtra: rotation(options.attempts ?? 1) + (options.consumers ?? '') });
}

const engineDownAt = (step: Step) => h.engineDownAt(step);
const stored = (stage?: 'current' | 'pending' | 'previous') => h.stored(stage);

async function expectCurrentLogsIn(): Promise<void> {
  const current = (await stored())!;
  expect(await h.fx.logsIn(current)).toBe(true);
}

describe('a superseded run never touches the target', () => {
  it('a run failed at set, then a newer run finished: runs resume refuses it, cancels it, and the current credential keeps logging in', async () => {
    await setup({ attempts: 1 });
    const v1 = (await stored())!;
    const failed = await engineDownAt('set').rotate(h.fx.path);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE' });
    await h.proxy!.up();
    // A new rotate does not resume a failed run: it starts a new one and finishes with v3.
    const newer = await (await h.kt.engine()).rotate(h.fx.path);
    expect(newer.status).toBe('done');
    expect(newer.id).not.toBe(failed.id);
    const v3 = (await stored())!;
    expect(v3).not.toEqual(v1);
    expect(await stored('previous')).toEqual(v1);

    const r = await runCli(['runs', 'resume', failed.id], { env: h.fx.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KT_RUN_SUPERSEDED');
    expect(r.stderr).toContain('keyturn rotate');
    const after = await (await h.kt.engine()).runs.get(failed.id);
    expect(after.status).toBe('cancelled');
    // Nothing moved: v3 is current, logs in, and v1 does not (the target was never given it back).
    expect(await stored()).toEqual(v3);
    expect(await stored('pending')).toBeNull();
    expect(await h.fx.logsIn(v1)).toBe(false);
    await expectCurrentLogsIn();
    await expectCode(async () => (await h.kt.engine()).resume(failed.id), 'KT_RUN_FINISHED');
  });

  it('a retrying run whose current was replaced by secret put: runs resume refuses and cancels it; a new rotate starts from the stored current', async () => {
    await setup({ attempts: 3 });
    const retrying = await engineDownAt('set').rotate(h.fx.path);
    expect(retrying).toMatchObject({ status: 'retrying', step: 'set' });
    await h.proxy!.up();
    // The operator sets a password on the database and stores it.
    const put = { username: h.fx.username, password: 'Kt-put-by-hand-0123456789' };
    await psqlAsPostgres(`ALTER ROLE ${h.fx.username} PASSWORD '${put.password}';`);
    await h.kt.store.put(h.fx.path, put);
    expect(await h.fx.logsIn(put)).toBe(true);

    await expectCode(async () => (await h.kt.engine()).resume(retrying.id), 'KT_RUN_SUPERSEDED');
    expect((await (await h.kt.engine()).runs.get(retrying.id)).status).toBe('cancelled');
    expect(await stored()).toEqual(put);
    expect(await h.fx.logsIn(put)).toBe(true);

    const fresh = await (await h.kt.engine()).rotate(h.fx.path);
    expect(fresh.status).toBe('done');
    expect(fresh.id).not.toBe(retrying.id);
    expect(await stored('previous')).toEqual(put);
    await expectCurrentLogsIn();
  });

  it('secret put during an unfinished run is refused (KT_RUN_ACTIVE, nothing stored); --supersede stores it and cancels the run without touching the target', async () => {
    await setup({ viaProxy: false });
    // A rotation killed right after it set its pending password on the database.
    const crashing = engineWith(h.kt, (s, when) => {
      if (s === 'set' && when === 'after') throw new KeyturnError('KT_INTERNAL', 'simulated crash after set');
    });
    await expectCode(() => crashing.rotate(h.fx.path), 'KT_INTERNAL');
    const unfinished = (await (await h.kt.engine()).runs.active(h.fx.path))!;
    expect(unfinished.step).toBe('test');
    const before = await stored();
    // The operator sets a password on the database by hand, then tries to store it.
    const put = { username: h.fx.username, password: 'Kt-put-by-hand-1357924680' };
    await psqlAsPostgres(`ALTER ROLE ${h.fx.username} PASSWORD '${put.password}';`);
    const refused = await runCli(['secret', 'put', h.fx.path, '--field', `username=${put.username}`, '--field', 'password=-'], { env: h.fx.env, stdin: put.password });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('KT_RUN_ACTIVE');
    expect(refused.stderr).toContain(unfinished.id);
    expect(refused.stderr).toContain('--supersede');
    expect(await stored()).toEqual(before);

    const r = await runCli(['secret', 'put', h.fx.path, '--field', `username=${put.username}`, '--field', 'password=-', '--supersede', '--json'], { env: h.fx.env, stdin: put.password });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cancelledRun: unfinished.id });
    const cancelled = await (await h.kt.engine()).runs.get(unfinished.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', errorCode: 'KT_RUN_SUPERSEDED' });
    // The operator's value is current and logs in; the run's pending value was cleared, since the current one is seen to log in.
    expect(await stored()).toEqual(put);
    expect(await stored('pending')).toBeNull();
    expect(await h.fx.logsIn(put)).toBe(true);
    // The next rotation starts from the operator's value.
    const fresh = await (await h.kt.engine()).rotate(h.fx.path);
    expect(fresh.status).toBe('done');
    expect(await stored('previous')).toEqual(put);
    await expectCurrentLogsIn();
  });

  it('rotate on a superseded unfinished run cancels it and rotates from the stored current', async () => {
    await setup({ attempts: 3 });
    const retrying = await engineDownAt('set').rotate(h.fx.path);
    expect(retrying.status).toBe('retrying');
    await h.proxy!.up();
    const put = { username: h.fx.username, password: 'Kt-put-by-hand-9876543210' };
    await psqlAsPostgres(`ALTER ROLE ${h.fx.username} PASSWORD '${put.password}';`);
    await h.kt.store.put(h.fx.path, put);

    const r = await runCli(['rotate', h.fx.path, '--json'], { env: h.fx.env });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as { id: string; status: string };
    expect(run.status).toBe('done');
    expect(run.id).not.toBe(retrying.id);
    expect((await (await h.kt.engine()).runs.get(retrying.id)).status).toBe('cancelled');
    expect(await stored('previous')).toEqual(put);
    await expectCurrentLogsIn();
  });

  it('cancelling a run that crashed after finish keeps the credential now current (never restores the starting one)', async () => {
    // With a consumer, finish commits on its own before propagate (without one, it commits with propagate: the run is done at once).
    const base = tempDir();
    await setup({ viaProxy: false, consumers: `    consumers:\n      - type: file\n        path: ${join(base.dir, 'db.env')}\n` });
    const close = h.fx.close;
    h.fx.close = async () => {
      await close();
      base.remove();
    };
    const crashing = engineWith(h.kt, (s, when) => {
      if (s === 'propagate' && when === 'before') throw new KeyturnError('KT_INTERNAL', 'simulated crash after finish');
    });
    await expectCode(() => crashing.rotate(h.fx.path), 'KT_INTERNAL');
    const active = (await (await h.kt.engine()).runs.active(h.fx.path))!;
    expect(active.step).toBe('propagate');
    expect((await h.kt.store.get(h.fx.path))!.id).toBe(active.pendingVersionId);
    const cancelled = await (await h.kt.engine()).cancel(active.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await h.kt.store.get(h.fx.path))!.id).toBe(active.pendingVersionId);
    await expectCurrentLogsIn();
  });
});

describe('resuming an older finished run', () => {
  it('never re-delivers a superseded value to a consumer that failed', async () => {
    // The consumer writes into a folder of its own, which is a plain file at first: the first delivery fails.
    const base = tempDir();
    const target = join(base.dir, 'app', 'db.env');
    onTestFinished(() => base.remove());
    await setup({ viaProxy: false, consumers: `    consumers:\n      - type: file\n        path: ${target}\n        template: "PASSWORD={{password}}\\n"\n` });
    const { fx, kt } = h;
    writeFileSync(join(base.dir, 'app'), 'not a folder');

    const r1 = await (await kt.engine()).rotate(fx.path);
    expect(r1.status).toBe('done');
    expect((await (await kt.engine()).runs.consumers(r1.id)).map((c) => c.status)).toEqual(['failed']);
    rmSync(join(base.dir, 'app'), { force: true });
    mkdirSync(join(base.dir, 'app'), { mode: 0o700 });

    const r2 = await (await kt.engine()).rotate(fx.path);
    expect(r2.status).toBe('done');
    const v3 = (await stored())!;
    expect(readFileSync(target, 'utf8')).toBe(`PASSWORD=${v3.password}\n`);

    const r = await runCli(['runs', 'resume', r1.id], { env: fx.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('KT_RUN_SUPERSEDED');
    // The file still holds the current value, and it logs in.
    expect(readFileSync(target, 'utf8')).toBe(`PASSWORD=${v3.password}\n`);
    expect(await stored()).toEqual(v3);
    await expectCurrentLogsIn();
  });
});

describe('secret rollback', () => {
  it('is refused for a managed credential (it would only move stages) and stays a stage move for an unmanaged secret', async () => {
    await setup({ viaProxy: false });
    const done = await (await h.kt.engine()).rotate(h.fx.path);
    expect(done.status).toBe('done');
    const v2 = (await stored())!;
    const r = await runCli(['secret', 'rollback', h.fx.path], { env: h.fx.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KT_ROLLBACK_MANAGED');
    expect(r.stderr).toContain('keyturn rotate');
    expect(await stored()).toEqual(v2);
    await expectCurrentLogsIn();

    await h.kt.store.put('plain/token', 'one');
    await h.kt.store.put('plain/token', 'two');
    const plain = await runCli(['secret', 'rollback', 'plain/token', '--json'], { env: h.fx.env });
    expect(plain.code, plain.stderr).toBe(0);
    expect((await h.kt.store.get('plain/token'))!.value).toBe('one');
  });
});
