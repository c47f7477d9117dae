/**
 * The engine's retry, resume and rollback decisions, fast: an in-memory fake target
 * (test/helpers/fake-target.ts) in place of a server, a manual clock instead of waiting out the
 * backoff, a temporary SQLite home. What is checked is what the engine decides: when it retries
 * and after how long, where the next attempt resumes, what it restores on the target, what it
 * leaves staged, where a crashed run picks up. The same decisions against real servers stay in
 * test/crash-*.test.ts, test/outage.test.ts and test/engine-targets.test.ts.
 *
 * Backoff draws come from a seeded generator; the seed is in the test names, and
 * KEYTURN_ENGINE_SEED=N replays a run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyPlan, planConfig } from '../config/apply.js';
import { parseConfig } from '../config/load.js';
import { manualClock, type ManualClock } from '../core/clock.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { Credential, Strategy } from '../targets/target.js';
import { engineWith } from '../../test/helpers/engines.js';
import { fakeApplied, FakeTarget } from '../../test/helpers/fake-target.js';
import { seeded } from '../../test/helpers/seeded.js';
import { openTestHome } from '../../test/helpers/state.js';
import type { BoundaryHook, Engine } from './engine.js';

const SEED = Number(process.env.KEYTURN_ENGINE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PATH = 'app/db';
const USER = 'app';
const FIRST: Credential = { username: USER, password: 'First-pass-1' };
const ADMIN: Credential = { username: 'kt_admin', password: 'Admin-pass-1' };
const BASE_MS = 1000;
const BOUNDARIES = ['prepare', 'create', 'set', 'test', 'finish', 'propagate'].flatMap((s) => [`${s}:before`, `${s}:after`]);

let home: Awaited<ReturnType<typeof openTestHome>> | undefined;
afterEach(async () => {
  await home?.close();
  home = undefined;
});

interface World {
  kt: Keyturn;
  clock: ManualClock;
  fake: FakeTarget;
  /** An engine on the fake target and the manual clock, its backoff drawn from `seeded(SEED)`. */
  engine(onBoundary?: BoundaryHook): Engine;
  stored(stage: 'current' | 'pending' | 'previous'): Promise<Credential | null>;
}

/** A home managing `app/db` (user `app`, first password FIRST) on a fake target, `attempts` per run. */
async function world(strategy: Strategy, attempts = 3): Promise<World> {
  const clock = manualClock();
  home = await openTestHome({ clock });
  const kt = home.kt;
  // The target's type is never used: fakeApplied hands every engine the fake instead.
  const config = parseConfig(
    `version: 1
targets:
  db: { type: postgres, host: 127.0.0.1, port: 9, database: fake, admin: admin/db }
secrets:
  admin/db:
    type: database-credential
    initial: { username: ${ADMIN.username}, password: ${ADMIN.password} }
  ${PATH}:
    type: database-credential
    target: db
    strategy: ${strategy}
    rotation: { attempts: ${attempts}, backoffBaseMs: ${BASE_MS}, backoffCapMs: ${8 * BASE_MS} }
    initial: { username: ${FIRST.username}, password: ${FIRST.password} }
`,
    {},
  );
  await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
  const fake = new FakeTarget({ [FIRST.username]: FIRST.password }, ADMIN);
  const random = seeded(SEED);
  return {
    kt,
    clock,
    fake,
    engine: (onBoundary) => engineWith(kt, onBoundary, { applied: fakeApplied(kt.state, fake), clock, random }),
    stored: async (stage) => ((await kt.store.get(PATH, { stage }))?.value ?? null) as Credential | null,
  };
}

describe(`engine decisions on a fake target (KEYTURN_ENGINE_SEED=${SEED})`, () => {
  it("a target's newSecret makes the new credential's secret part instead of a generated password", async () => {
    const w = await world('single-user');
    let made = 0;
    Object.assign(w.fake, { newSecret: () => `made-by-the-target-${++made}` });
    const run = await w.engine().rotate(PATH);
    expect(run.status).toBe('done');
    expect(await w.stored('current')).toEqual({ username: FIRST.username, password: 'made-by-the-target-1' });
    expect(w.fake.logsIn({ username: FIRST.username, password: 'made-by-the-target-1' })).toBe(true);
  });

  it(`a failed set is retried after a full-jitter backoff that doubles; two failed sets bring a fresh value (seed ${SEED})`, async () => {
    const w = await world('single-user');
    w.fake.failNext('set', 2);
    const draws = seeded(SEED);
    const engine = w.engine();

    const first = await engine.rotate(PATH);
    // The set never reached the target: the current password is known good, so pending is cleared and the retry starts at create.
    expect(first).toMatchObject({ status: 'retrying', attempt: 2, errorCode: 'KT_TARGET_UNAVAILABLE', failedStep: 'set', step: 'create', pendingVersionId: null, generation: 1 });
    expect(first.nextAttemptAt! - w.clock.now()).toBe(Math.floor(draws() * BASE_MS));
    expect(await w.stored('pending')).toBeNull();
    expect(w.fake.logsIn(FIRST)).toBe(true);

    w.clock.set(first.nextAttemptAt!);
    const second = await engine.rotate(PATH);
    expect(second).toMatchObject({ id: first.id, status: 'retrying', attempt: 3, failedStep: 'set', generation: 2 });
    expect(second.nextAttemptAt! - w.clock.now()).toBe(Math.floor(draws() * 2 * BASE_MS));

    w.clock.set(second.nextAttemptAt!);
    const done = await engine.rotate(PATH);
    expect(done).toMatchObject({ id: first.id, status: 'done', attempt: 3, errorCode: null, failedStep: null });
    expect(done.pendingVersionId).toBe(`${first.id}.g2`);
    const current = (await w.stored('current'))!;
    expect(w.fake.logsIn(current)).toBe(true);
    expect(w.fake.logsIn(FIRST)).toBe(false);
    expect(w.fake.calls.filter((c) => c.op === 'set').map((c) => c.result)).toEqual(['KT_TARGET_UNAVAILABLE', 'KT_TARGET_UNAVAILABLE', 'ok']);
  });

  it('single-user: a failure at test sets the current password back on the target and clears pending', async () => {
    const w = await world('single-user', 1);
    w.fake.failNext('test', 1, 'KT_TARGET_AUTH_FAILED');
    const run = await w.engine().rotate(PATH);
    expect(run).toMatchObject({ status: 'failed', attempt: 1, errorCode: 'KT_TARGET_AUTH_FAILED', failedStep: 'test' });
    expect(w.fake.users.get(USER)).toBe(FIRST.password);
    expect(w.fake.callsOf('set')).toEqual([USER, USER]);
    expect(await w.stored('current')).toEqual(FIRST);
    expect(await w.stored('pending')).toBeNull();
    const rollback = (await w.engine().runs.steps(run.id)).find((s) => s.step === 'rollback');
    expect(rollback).toMatchObject({ outcome: 'ok', detail: 'restored the current credential on the target; pending cleared' });
  });

  it('alternating-users: a failure at test leaves the current user untouched; the standby that logs in, with no earlier password, is staged previous', async () => {
    const w = await world('alternating-users', 1);
    w.fake.failNext('test', 1);
    const run = await w.engine().rotate(PATH);
    expect(run).toMatchObject({ status: 'failed', failedStep: 'test' });
    expect(w.fake.callsOf('set')).toEqual([`${USER}_clone`]);
    expect(w.fake.logsIn(FIRST)).toBe(true);
    expect(await w.stored('current')).toEqual(FIRST);
    // The new standby user logs in with the pending password, and the store holds no earlier one to set
    // it back to: dropping the stage would leave a working credential the store does not know, so the
    // version becomes previous (what a finished rotation leaves on the standby user) and pending is free.
    expect(await w.stored('pending')).toBeNull();
    const previous = (await w.stored('previous')) as { username: string; password: string };
    expect(previous.username).toBe(`${USER}_clone`);
    expect(w.fake.logsIn(previous)).toBe(true);
    const rollback = (await w.engine().runs.steps(run.id)).find((s) => s.step === 'rollback');
    expect(rollback?.detail).toContain('pending is now previous');
    // The next rotation goes through: it sets the standby user again, from the current version.
    w.fake.failNext('test', 0);
    expect((await w.engine().rotate(PATH)).status).toBe('done');
    expect(w.fake.logsIn((await w.stored('current'))!)).toBe(true);
    expect(w.fake.logsIn(FIRST)).toBe(true);
  });

  it('alternating-users: a failure at test after the standby had a password sets it back to that one, then clears pending', async () => {
    const w = await world('alternating-users', 1);
    expect((await w.engine().rotate(PATH)).status).toBe('done');
    expect((await w.engine().rotate(PATH)).status).toBe('done');
    const current = (await w.stored('current'))!;
    const previous = (await w.stored('previous')) as { username: string; password: string };
    w.fake.failNext('test', 1);
    const run = await w.engine().rotate(PATH);
    expect(run).toMatchObject({ status: 'failed', failedStep: 'test' });
    const rollback = (await w.engine().runs.steps(run.id)).find((s) => s.step === 'rollback');
    expect(rollback?.detail).toContain('pending cleared');
    expect(await w.stored('pending')).toBeNull();
    expect(await w.stored('current')).toEqual(current);
    // The standby user is back on the password the store holds for it, and the failed run's one is gone.
    expect(w.fake.logsIn(previous)).toBe(true);
    const failedPending = (await w.kt.store.get(PATH, { versionId: `${run.id}.g1` }))!.value as { username: string; password: string };
    expect(failedPending.username).toBe(previous.username);
    expect(w.fake.logsIn(failedPending)).toBe(false);
  });

  it('single-user: a run that failed holding the only working password (killed after set, then the target down) is finished by the next rotate, never replaced', async () => {
    const w = await world('single-user', 1);
    const crashing = w.engine((step, when) => {
      if (step === 'set' && when === 'after') throw new Error('crash after set');
    });
    await expect(crashing.rotate(PATH)).rejects.toThrow('crash after set');
    const pending = (await w.stored('pending'))!;
    expect(w.fake.logsIn(pending)).toBe(true);
    expect(w.fake.logsIn(FIRST)).toBe(false);
    // The resume meets the target down: the run fails, keeping its pending version staged.
    w.fake.down = true;
    const failed = await w.engine().rotate(PATH);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(await w.stored('pending')).toEqual(pending);
    // While the target is down, a new rotation cannot tell which credential works: refused, nothing changed.
    await expect(w.engine().rotate(PATH)).rejects.toMatchObject({ code: 'KT_TARGET_UNAVAILABLE' });
    expect((await w.engine().runs.list({ path: PATH })).length).toBe(1);
    expect(await w.stored('pending')).toEqual(pending);
    // Back up: rotate finishes that run (its pending password is the one that works) instead of replacing it.
    w.fake.down = false;
    const done = await w.engine().rotate(PATH);
    expect(done).toMatchObject({ id: failed.id, status: 'done' });
    expect(await w.stored('current')).toEqual(pending);
    expect(w.fake.logsIn(pending)).toBe(true);
  });

  // A run is written by its first commit (prepare with create): a crash before it leaves no run, and the next rotate starts one.
  const BEFORE_FIRST_COMMIT = new Set(['prepare:before', 'prepare:after', 'create:before']);

  it.each(BOUNDARIES.map((boundary, i) => ({ boundary, resume: i % 2 === 0 })))(
    'a crash at $boundary (the hook throws) is resumed to done by the same run, or leaves none before its first commit',
    async ({ boundary, resume }) => {
      const w = await world('single-user');
      let armed = true;
      const crashing = w.engine((step, when) => {
        if (armed && `${step}:${when}` === boundary) {
          armed = false;
          throw new Error(`crash at ${boundary}`);
        }
      });
      await expect(crashing.rotate(PATH)).rejects.toThrow(`crash at ${boundary}`);
      const engine = w.engine();
      const [crashed] = await engine.runs.list({ path: PATH });
      // Right after the crash the store knows a credential that logs in.
      const current = (await w.stored('current'))!;
      const pending = await w.stored('pending');
      expect(w.fake.logsIn(current) || (pending !== null && w.fake.logsIn(pending)), 'neither current nor pending logs in').toBe(true);

      if (BEFORE_FIRST_COMMIT.has(boundary)) {
        expect(crashed, `${boundary}: a run was written before its first commit`).toBeUndefined();
        expect(pending).toBeNull();
        expect(w.fake.callsOf('set')).toEqual([]);
        expect(await engine.rotate(PATH)).toMatchObject({ status: 'done', attempt: 1 });
        expect(w.fake.logsIn((await w.stored('current'))!)).toBe(true);
        expect(w.fake.callsOf('set')).toEqual([USER]);
        return;
      }
      // After propagate the run is done already; anywhere else it is still running, and finishes.
      const done = crashed!.status === 'done' ? crashed! : resume ? await engine.resume(crashed!.id) : await engine.rotate(PATH);
      expect(crashed!.status).toBe(boundary === 'propagate:after' ? 'done' : 'running');
      expect(done).toMatchObject({ id: crashed!.id, status: 'done', attempt: 1 });
      const after = (await w.stored('current'))!;
      expect(after).not.toEqual(FIRST);
      expect(w.fake.logsIn(after)).toBe(true);
      expect(w.fake.logsIn(FIRST)).toBe(false);
      expect(await w.stored('pending')).toBeNull();
      // The hook throws only between journaled steps, so the target got exactly one set.
      expect(w.fake.callsOf('set')).toEqual([USER]);
    },
  );

  it(`the run fails after its attempts while the target is down; the current password is never touched (seed ${SEED})`, async () => {
    const w = await world('single-user', 3);
    w.fake.down = true;
    const engine = w.engine();
    let run = await engine.rotate(PATH);
    for (let attempt = 2; attempt <= 3; attempt++) {
      expect(run).toMatchObject({ status: 'retrying', attempt, errorCode: 'KT_TARGET_UNAVAILABLE' });
      // The current password could not be checked: the pending value stays staged and the retry resumes at set.
      expect(run.step).toBe('set');
      expect(await w.stored('pending')).not.toBeNull();
      w.clock.set(run.nextAttemptAt!);
      run = await engine.rotate(PATH);
    }
    expect(run).toMatchObject({ status: 'failed', attempt: 3, errorCode: 'KT_TARGET_UNAVAILABLE', failedStep: 'set', nextAttemptAt: null });
    const steps = await engine.runs.steps(run.id);
    expect(steps.filter((s) => s.step === 'set' && s.outcome === 'failed')).toHaveLength(3);
    w.fake.down = false;
    expect(w.fake.users.get(USER)).toBe(FIRST.password);
    expect(await w.stored('current')).toEqual(FIRST);
  });

  it('cancel after the target took the pending password sets the current one back and clears pending', async () => {
    const w = await world('single-user');
    // The target goes down once the new password is set, before the test step.
    const run = await w
      .engine((step, when) => {
        if (step === 'test' && when === 'before') w.fake.down = true;
      })
      .rotate(PATH);
    expect(run).toMatchObject({ status: 'retrying', failedStep: 'test', step: 'set' });
    const pending = (await w.stored('pending'))!;
    w.fake.down = false;
    expect(w.fake.logsIn(pending)).toBe(true);

    const cancelled = await w.engine().cancel(run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(w.fake.logsIn(FIRST)).toBe(true);
    expect(w.fake.logsIn(pending)).toBe(false);
    expect(await w.stored('current')).toEqual(FIRST);
    expect(await w.stored('pending')).toBeNull();
  });

  it('alternating-users: each rotation sets the standby user and makes it current; the previous one keeps logging in', async () => {
    const w = await world('alternating-users');
    const engine = w.engine();
    expect((await engine.rotate(PATH)).status).toBe('done');
    const clone = (await w.stored('current'))!;
    expect(clone.username).toBe(`${USER}_clone`);
    expect(w.fake.logsIn(clone)).toBe(true);
    expect(w.fake.logsIn(FIRST)).toBe(true);

    expect((await engine.rotate(PATH)).status).toBe('done');
    const primary = (await w.stored('current'))!;
    expect(primary.username).toBe(USER);
    expect(w.fake.logsIn(primary)).toBe(true);
    expect(w.fake.logsIn(clone)).toBe(true);
    expect(w.fake.logsIn(FIRST)).toBe(false);
    expect(w.fake.callsOf('set')).toEqual([`${USER}_clone`, USER]);
  });
});
