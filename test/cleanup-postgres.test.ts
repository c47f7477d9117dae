/**
 * The cleanup after a rotation (src/engine/cleanup.ts) against the real password-auth PostgreSQL
 * (55432), alternating-users: after `grace` the previous credential no longer logs in and the
 * current one does; past `retainPrevious` (and the store's retention hold) a replaced version that
 * holds no stage is purged; a cleanup is journaled in the replacing run and audited; a standby
 * whose previous password was ended is never set back to it; and a real `keyturn rotate --due`
 * process killed (SIGKILL) just before or just after the cleanup's change on the target ends, at
 * the next pass, with the previous credential refused and the current one logging in.
 *
 * In-process parts run on a manual clock (the scheduler's pass, as `rotate --due` makes it); the
 * kill -9 part runs the real CLI on the system clock with a grace of 1 s, waiting for the due time
 * the state database holds (a time, not a guess), then for the process's end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engineAuditPort } from '../src/audit/hooks.js';
import { defaultContext } from '../src/audit/context.js';
import { loadSettings } from '../src/config/settings.js';
import { asCredential } from '../src/engine/next-value.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import type { Credential } from '../src/targets/target.js';
import { runCli, startCli } from './helpers/cli.js';
import { cleanupWorld, until, type CleanupWorld } from './helpers/cleanup-world.js';
import { engineWith, refusedOnce } from './helpers/engines.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let w: CleanupWorld<'postgres'> | undefined;
let fx: RotationFixture<'postgres'> | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
  await fx?.close();
  fx = undefined;
});

async function world(schedule: string): Promise<CleanupWorld<'postgres'>> {
  w = await cleanupWorld('postgres', 'alternating-users', schedule);
  return w;
}

describe('cleanup after grace, alternating-users on PostgreSQL', () => {
  it('after grace the previous credential no longer logs in and the current one does; journaled, audited, never set back', async () => {
    const w = await world('{ every: 90d, grace: 1h, retainPrevious: 7d }');
    const first = await w.cred('current');
    const run = await w.engine.rotate('app/db');
    expect(run.status).toBe('done');
    const current = await w.cred('current');
    const previous = await w.cred('previous');
    expect(previous).toEqual(first);
    expect(current.username).toBe(`${first.username}_clone`);
    expect(await w.fx.logsIn(previous)).toBe(true);

    // Inside the grace period: nothing is due; the scheduler's row says when the cleanup is.
    expect(await w.pass()).toEqual([]);
    const row = await w.engine.due.get('app/db');
    expect(row).toMatchObject({ reason: 'cleanup', dueAt: run.finishedAt! + HOUR });
    expect(await w.fx.logsIn(previous)).toBe(true);

    w.clock.advance(HOUR);
    const outcomes = await w.pass();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.run).toBeNull();
    expect(outcomes[0]!.cleanups).toEqual([expect.objectContaining({ versionId: (await w.kt.store.get('app/db', { stage: 'previous' }))!.id, revoke: 'done', purge: 'pending', errorCode: null })]);
    expect(await w.fx.logsIn(previous)).toBe(false);
    expect(await w.fx.logsIn(current)).toBe(true);

    // Journaled in the replacing run, audited intent then success; no value anywhere in them.
    const steps = await w.engine.runs.steps(run.id);
    const cleanup = steps.filter((s) => s.step === 'cleanup');
    expect(cleanup).toEqual([expect.objectContaining({ outcome: 'ok' })]);
    expect(cleanup[0]!.detail).toContain(`${first.username} no longer logs in`);
    expect((await w.events('secret.cleanup')).map((e) => e.outcome)).toEqual(['intent', 'success']);
    const events = await w.kt.state.db.selectFrom('audit_leaves').select('leaf').orderBy('seq').execute();
    const all = events.map((e) => String(e.leaf)).join('\n') + JSON.stringify(steps);
    for (const p of [first.password, current.password]) expect(all).not.toContain(p);

    // A later failed rotation that sets the standby (the revoked user) and rolls back never restores the ended password.
    const failing = engineWith(w.kt, undefined, { applied: refusedOnce(w.kt.state), audit: engineAuditPort(w.kt.audit, defaultContext()), clock: w.clock });
    const bad = await failing.rotate('app/db');
    expect(bad.status).not.toBe('done');
    expect(await w.kt.store.get('app/db', { stage: 'pending' })).toBeNull();
    expect(await w.fx.logsIn(previous)).toBe(false);
    expect(await w.fx.logsIn(current)).toBe(true);
    const rollback = (await failing.runs.steps(bad.id)).find((s) => s.step === 'rollback');
    expect(rollback?.detail).toContain('a password nobody holds');
  });

  it('when the current credential does not log in, the previous one is kept (KT_CLEANUP_UNSAFE), journaled and tried again later', async () => {
    const w = await world('{ every: 90d, grace: 1h }');
    const run = await w.engine.rotate('app/db');
    const previous = await w.cred('previous');
    const current = await w.cred('current');
    // The current user's password changed behind Keyturn's back: the previous credential may be the only one that works.
    await w.fx.target.sql(`ALTER ROLE "${current.username}" PASSWORD 'Changed-by-hand-1'`);
    w.clock.advance(HOUR);
    const [outcome] = await w.pass();
    expect(outcome!.cleanups).toEqual([expect.objectContaining({ revoke: 'pending', errorCode: 'KT_CLEANUP_UNSAFE' })]);
    expect(outcome!.cleanups[0]!.dueAt).toBeGreaterThan(w.clock.now());
    expect(await w.fx.logsIn(previous)).toBe(true);
    const failed = (await w.engine.runs.steps(run.id)).filter((s) => s.step === 'cleanup');
    expect(failed).toEqual([expect.objectContaining({ outcome: 'failed', error_code: 'KT_CLEANUP_UNSAFE' })]);
    // Fixed (the stored password set back by hand): the next try ends the previous credential.
    await w.fx.target.sql(`ALTER ROLE "${current.username}" PASSWORD '${current.password.replace(/'/g, "''")}'`);
    w.clock.set(outcome!.cleanups[0]!.dueAt!);
    const [again] = await w.pass();
    expect(again!.cleanups).toEqual([expect.objectContaining({ revoke: 'done', errorCode: null })]);
    expect(await w.fx.logsIn(previous)).toBe(false);
    expect(await w.fx.logsIn(current)).toBe(true);
  });

  it('two instances journal the cleanups of one run (revoke on one, purge on the other) without a clash', async () => {
    const w = await world('{ every: 90d, grace: 1h, retainPrevious: 1d }');
    const run = await w.engine.rotate('app/db');
    // Another instance (its own engine and journal cache) ends the previous credential.
    const other = engineWith(w.kt, undefined, { audit: engineAuditPort(w.kt.audit, defaultContext()), clock: w.clock });
    w.clock.advance(HOUR);
    expect((await w.pass(other))[0]!.cleanups).toEqual([expect.objectContaining({ revoke: 'done' })]);
    // This instance rotates again (the first version holds no stage now), then, past the store's hold, purges it into the same run's journal.
    await w.engine.rotate('app/db');
    w.clock.advance(8 * DAY);
    const purged = (await w.pass()).flatMap((o) => o.cleanups).find((c) => c.runId === run.id);
    expect(purged).toMatchObject({ purge: 'done', errorCode: null });
    expect((await w.engine.runs.steps(run.id)).filter((s) => s.step === 'cleanup').map((s) => s.outcome)).toEqual(['ok', 'ok']);
  });

  it('past retainPrevious a replaced version that holds no stage is purged; one still previous waits', async () => {
    const w = await world('{ every: 90d, grace: 1h, retainPrevious: 2d }');
    const v1 = (await w.kt.store.get('app/db'))!;
    await w.engine.rotate('app/db');
    const v2 = (await w.kt.store.get('app/db'))!;
    w.clock.advance(HOUR);
    await w.pass();
    await w.engine.rotate('app/db'); // v1 holds no stage now; v2 is previous
    const v3 = (await w.kt.store.get('app/db'))!;
    expect((await w.kt.store.versions('app/db')).map((v) => [v.number, v.stages])).toEqual([
      [v3.number, ['current']],
      [v2.number, ['previous']],
      [v1.number, []],
    ]);

    // Past retainPrevious (2 d) but inside the store's 7-day retention hold: kept, looked at again when the hold ends.
    w.clock.advance(3 * DAY);
    await w.pass();
    expect((await w.kt.store.versions('app/db')).map((v) => v.number)).toEqual([v3.number, v2.number, v1.number]);
    const open = await w.engine.cleanups.list('app/db');
    expect(open.find((c) => c.versionId === v1.id)?.dueAt).toBe(v1.createdAt + 7 * DAY);

    w.clock.advance(5 * DAY);
    const outcomes = await w.pass();
    const byVersion = Object.fromEntries(outcomes.flatMap((o) => o.cleanups).map((c) => [c.versionId, c]));
    expect(byVersion[v1.id]).toMatchObject({ purge: 'done', dueAt: null });
    expect((await w.kt.store.versions('app/db')).map((v) => v.number)).toEqual([v3.number, v2.number]);
    // v2 still previous: its credential ended after its grace, but the version is kept while staged.
    expect((await w.engine.cleanups.list('app/db')).map((c) => [c.versionId, c.revoke, c.purge])).toEqual([[v2.id, 'done', 'pending']]);
    expect((await w.events('secret.version.purge')).map((e) => e.versionId)).toEqual([v1.id]);
  });
});

describe('cleanup under kill -9 (a real keyturn rotate --due process)', () => {
  for (const when of ['before', 'after'] as const) {
    it(`killed just ${when} the change on the target: the next pass ends with the previous credential refused and the current one logging in`, async () => {
      fx = await rotationFixture('postgres', 'alternating-users', { secretExtra: '    schedule: { every: 90d, grace: 1s }\n' });
      const f = fx;
      expect((await runCli(['rotate', 'app/db'], { env: f.env })).code).toBe(0);
      const open = await openKeyturn(loadSettings(f.env));
      let previous: Credential;
      let current: Credential;
      let dueAt: number;
      try {
        previous = asCredential('app/db', (await open.store.get('app/db', { stage: 'previous' }))!.value);
        current = asCredential('app/db', (await open.store.get('app/db', { stage: 'current' }))!.value);
        dueAt = Number((await open.state.db.selectFrom('version_cleanups').select('due_at').executeTakeFirstOrThrow()).due_at);
      } finally {
        await open.close();
      }
      // The grace period is a time: wait until the database's due time has passed.
      await until(dueAt);
      expect(await f.logsIn(previous)).toBe(true);

      // Its claim on the secret lasts 1 s: the next pass may take it once that has passed (as another instance would).
      const killed = await startCli(['rotate', '--due'], { env: { ...f.env, KEYTURN_CRASH_AT: `cleanup:${when}`, KEYTURN_SCHEDULER_CLAIM_SECONDS: '1' } });
      expect(killed.signal).toBe('SIGKILL');
      const claim = await openKeyturn(loadSettings(f.env));
      try {
        await until(Number((await claim.state.db.selectFrom('schedule_due').select('claimed_until').where('path', '=', 'app/db').executeTakeFirstOrThrow()).claimed_until));
        expect((await claim.state.db.selectFrom('version_cleanups').select('started_at').executeTakeFirstOrThrow()).started_at).not.toBeNull();
      } finally {
        await claim.close();
      }
      expect(await f.logsIn(previous)).toBe(when === 'before');
      expect(await f.logsIn(current)).toBe(true);

      const again = await runCli(['rotate', '--due', '--json'], { env: f.env });
      expect(again.code).toBe(0);
      const line = again.stdout.split('\n').find((l) => l.includes('"cleanups"'));
      const json = JSON.parse(line!) as { cleanups: Array<{ detail: string }> };
      expect(json).toMatchObject({ path: 'app/db', status: 'cleaned', cleanups: [expect.objectContaining({ revoke: 'done', errorCode: null })] });
      // After the change, the next pass finds the previous credential refused and knows the change was the interrupted attempt's.
      if (when === 'after') expect(json.cleanups[0]!.detail).toContain('changed by the attempt interrupted');
      expect(await f.logsIn(previous)).toBe(false);
      expect(await f.logsIn(current)).toBe(true);
    });
  }
});
