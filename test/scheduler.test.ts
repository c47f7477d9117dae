/**
 * The scheduler on a fake clock (src/schedule/scheduler.ts, src/schedule/due-repo.ts): a pass
 * claims only what is due; a window moves the due time to its next opening; the global and
 * per-target limits hold; emergency and manual requests go first, then the most overdue; a
 * `secret put` restarts the clock; a failing secret is retried on the run's backoff and then
 * after a cool-down, never at every pass; `keyturn rotate --due` is one pass; in `keyturn server`
 * the scheduler runs on its own and the metrics show what is due and overdue from the stored due
 * times, and what the scheduler claimed. Rotations run on a
 * temporary SQLite home (an in-memory fake target for the database credentials); two schedulers
 * on one PostgreSQL state database split the due secrets, each rotated once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import type { BoundaryHook, Engine } from '../src/engine/engine.js';
import { localClient } from '../src/client/local.js';
import { Scheduler, type DueOutcome, type SchedulerOptions } from '../src/schedule/scheduler.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { engineWith } from './helpers/engines.js';
import { fakeApplied, FakeTarget } from './helpers/fake-target.js';
import { applyYaml, openTestHome, postgresState } from './helpers/state.js';
import { runCli } from './helpers/cli.js';
import { buildServer } from '../src/server/app.js';

const T0 = Date.parse('2026-03-02T00:00:00Z'); // a Monday
const MIN = 60_000;
const HOUR = 60 * MIN;
const LIMITS: SchedulerOptions = { intervalMs: 1000, concurrency: 4, targetConcurrency: 2, claimMs: MIN };

let home: Awaited<ReturnType<typeof openTestHome>> | undefined;
afterEach(async () => {
  await home?.close();
  home = undefined;
});

interface World {
  kt: Keyturn;
  clock: ManualClock;
  fake: FakeTarget;
  engine: Engine;
  scheduler(options?: Partial<SchedulerOptions>): Scheduler;
  /** Runs of `path`, oldest first. */
  runs(path: string): Promise<Array<{ status: string; attempt: number }>>;
  /** Every secret's done runs, by path. */
  rotated(): Promise<Record<string, number>>;
}

/**
 * A home on the manual clock with `yaml` applied; database credentials go to `fake` (users u1...,
 * password First-pass-1), whatever target they name. `hook` runs at every step boundary.
 */
async function world(yaml: string, users: string[] = [], hook?: BoundaryHook): Promise<World> {
  const clock = manualClock(T0);
  home = await openTestHome({ clock });
  const kt = home.kt;
  await applyYaml(kt, yaml);
  const fake = new FakeTarget(Object.fromEntries(users.map((u) => [u, 'First-pass-1'])), { username: 'kt_admin', password: 'Admin-pass-1' });
  const engine = engineWith(kt, hook, { applied: fakeApplied(kt.state, fake), clock, random: () => 0.5 });
  const runs = async (path: string) =>
    (await kt.state.db.selectFrom('runs').select(['status', 'attempt']).where('path', '=', path).orderBy('created_at').execute()).map((r) => ({ status: r.status, attempt: Number(r.attempt) }));
  return {
    kt,
    clock,
    fake,
    engine,
    scheduler: (options = {}) => new Scheduler({ state: kt.state, clock, log: kt.log, engine: async () => engine, holder: 'test' }, { ...LIMITS, ...options }),
    runs,
    rotated: async () => {
      const rows = await kt.state.db.selectFrom('runs').select('path').where('status', '=', 'done').execute();
      const out: Record<string, number> = {};
      for (const r of rows) out[r.path] = (out[r.path] ?? 0) + 1;
      return out;
    },
  };
}

/** `keyturn.yaml` with a db target (admin/db) and the given secrets block. */
function config(secrets: string): string {
  return `version: 1
targets:
  db1: { type: postgres, host: 127.0.0.1, port: 9, database: fake, admin: admin/db }
  db2: { type: postgres, host: 127.0.0.1, port: 9, database: fake, admin: admin/db }
secrets:
  admin/db:
    type: database-credential
    initial: { username: kt_admin, password: Admin-pass-1 }
${secrets}`;
}

/** A database credential on `target` for user `user`. */
function dbSecret(path: string, target: string, user: string, extra = ''): string {
  return `  ${path}:
    type: database-credential
    target: ${target}
    initial: { username: ${user}, password: First-pass-1 }
${extra}`;
}

/** One pass of `rotate --due` over the scheduler, its outcomes in the order they ended. */
async function once(s: Scheduler): Promise<DueOutcome[]> {
  const out: DueOutcome[] = [];
  await s.runOnce((o) => {
    out.push(o);
  });
  return out;
}

describe('a pass takes only what is due', () => {
  it('claims the secrets whose due time has come, moves their due time ahead while claimed, and rotates them once', async () => {
    const w = await world(
      config(`  app/hourly:
    type: app-secret
    schedule: { every: 1h }
  app/two-hours:
    type: app-secret
    schedule: { every: 2h }
  app/manual:
    type: app-secret
`),
    );
    const due = w.scheduler().due;
    // Apply wrote each policy's due time; the manual one is never due.
    expect((await due.get('app/hourly'))?.dueAt).toBe(T0 + HOUR);
    expect((await due.get('app/two-hours'))?.dueAt).toBe(T0 + 2 * HOUR);
    expect(await due.get('app/manual')).toMatchObject({ dueAt: null, reason: 'manual' });
    expect(await due.claim({ now: T0 + HOUR - 1, limit: 10, holder: 'x', claimMs: MIN, targetLimit: 2, busy: new Map() })).toEqual([]);

    w.clock.set(T0 + HOUR + 5 * MIN);
    const claimed = await due.claim({ now: w.clock.now(), limit: 10, holder: 'x', claimMs: MIN, targetLimit: 2, busy: new Map() });
    expect(claimed.map((c) => c.path)).toEqual(['app/hourly']);
    // Claimed: off the due list for claimMs, so another instance does not take it meanwhile.
    expect(await due.get('app/hourly')).toMatchObject({ dueAt: T0 + HOUR, claimedBy: 'x', claimedUntil: w.clock.now() + MIN });
    expect(await due.claim({ now: w.clock.now(), limit: 10, holder: 'y', claimMs: MIN, targetLimit: 2, busy: new Map() })).toEqual([]);

    // The pass (rotate --due) after the claim expired: rotated once, then due an hour after the new value.
    w.clock.advance(MIN);
    const outcomes = await once(w.scheduler());
    expect(outcomes.map((o) => [o.path, o.run?.status])).toEqual([['app/hourly', 'done']]);
    expect(await w.rotated()).toEqual({ 'app/hourly': 1 });
    expect(await due.get('app/hourly')).toMatchObject({ dueAt: w.clock.now() + HOUR, reason: 'every', claimedBy: null, claimedUntil: null });
    expect(await once(w.scheduler())).toEqual([]);
  });

  it('a secret another worker has just rotated is not rotated again, even if its stale row says it is due', async () => {
    const w = await world(config(`  app/hourly:\n    type: app-secret\n    schedule: { every: 1h }\n`));
    w.clock.set(T0 + HOUR);
    const due = w.scheduler().due;
    const stale = await due.get('app/hourly');
    await w.engine.rotate('app/hourly');
    // The row as it was before the rotation (an instance that claimed it from a stale read).
    await due.write('app/hourly', stale);
    const outcomes = await once(w.scheduler());
    expect(outcomes.map((o) => [o.path, o.error?.code])).toEqual([['app/hourly', 'KT_NOT_DUE']]);
    expect(await w.rotated()).toEqual({ 'app/hourly': 1 });
    expect((await due.get('app/hourly'))?.dueAt).toBe(T0 + 2 * HOUR);
  });
});

describe('windows', () => {
  it('a due time outside the window moves to its opening; a missed window waits for the next one', async () => {
    const w = await world(config(`  app/windowed:\n    type: app-secret\n    schedule: { every: 1h, window: { hours: "02:00-03:00", timezone: UTC } }\n`));
    const s = () => w.scheduler();
    // Due at 01:00 by the cadence, outside 02:00-03:00: moved to the opening.
    expect(await s().due.get('app/windowed')).toMatchObject({ dueAt: T0 + 2 * HOUR, reason: 'window' });
    w.clock.set(T0 + 90 * MIN);
    expect(await once(s())).toEqual([]);
    w.clock.set(T0 + 2 * HOUR);
    expect((await once(s())).map((o) => o.run?.status)).toEqual(['done']);

    // Next: an hour later (03:00), which is outside: the next opening, 02:00 the day after.
    const next = await s().due.get('app/windowed');
    expect(next).toMatchObject({ dueAt: T0 + 26 * HOUR, reason: 'window' });

    // The scheduler was down through that window: at 03:30 the next day the stored time has passed,
    // but the window is closed: it is not rotated, and waits for the next opening.
    w.clock.set(T0 + 27 * HOUR + 30 * MIN);
    const missed = await once(s());
    expect(missed.map((o) => o.error?.code)).toEqual(['KT_NOT_DUE']);
    expect(await s().due.get('app/windowed')).toMatchObject({ dueAt: T0 + 50 * HOUR, reason: 'missed-window' });
    expect(await w.rotated()).toEqual({ 'app/windowed': 1 });
  });
});

describe('limits and priority', () => {
  it('at most `concurrency` rotations at once, at most `targetConcurrency` on one target; every due secret rotated once', async () => {
    const users = Array.from({ length: 6 }, (_, i) => `u${i + 1}`);
    const blocked: Array<{ path: string; release: () => void }> = [];
    const hook: BoundaryHook = (step, when, run) => (step === 'prepare' && when === 'before' ? new Promise<void>((release) => blocked.push({ path: run.path, release })) : undefined);
    const secrets = users.map((u, i) => dbSecret(`db/${u}`, i < 4 ? 'db1' : 'db2', u, '    schedule: { every: 1h }\n')).join('') + `  app/a:\n    type: app-secret\n    schedule: { every: 1h }\n`;
    const w = await world(config(secrets), users, hook);
    const target = (path: string) => (path.startsWith('app/') ? null : Number(path.slice('db/u'.length)) <= 4 ? 'db1' : 'db2');
    w.clock.set(T0 + HOUR + MIN);
    const s = w.scheduler({ concurrency: 3, targetConcurrency: 2 });
    const done = s.runOnce();
    let maxRunning = 0;
    const maxOnTarget = new Map<string, number>();
    let released = 0;
    // Release the blocked rotations one at a time; before each release, look at what runs at once.
    while (released < 7) {
      await vi.waitFor(() => expect(blocked.length).toBeGreaterThan(0), { timeout: 20_000, interval: 5 });
      // Let the scheduler fill every slot it may before looking.
      await new Promise((r) => setTimeout(r, 20));
      maxRunning = Math.max(maxRunning, s.running);
      expect(s.running).toBeLessThanOrEqual(3);
      const byTarget = new Map<string, number>();
      for (const b of blocked) {
        const t = target(b.path);
        if (t) byTarget.set(t, (byTarget.get(t) ?? 0) + 1);
      }
      for (const [t, n] of byTarget) {
        expect(n, t).toBeLessThanOrEqual(2);
        maxOnTarget.set(t, Math.max(maxOnTarget.get(t) ?? 0, n));
      }
      blocked.shift()!.release();
      released += 1;
    }
    await done;
    expect(maxRunning).toBe(3);
    expect(maxOnTarget.get('db1')).toBe(2);
    expect(await w.rotated()).toEqual({ 'db/u1': 1, 'db/u2': 1, 'db/u3': 1, 'db/u4': 1, 'db/u5': 1, 'db/u6': 1, 'app/a': 1 });
    for (const u of users) expect(w.fake.users.get(u)).not.toBe('First-pass-1');
  });

  it('emergency requests first, then manual ones, then the most overdue', async () => {
    const w = await world(
      config(`  app/three-hours-late:
    type: app-secret
    schedule: { every: 1h }
  app/one-hour-late:
    type: app-secret
    schedule: { every: 3h }
  app/asked:
    type: app-secret
  app/urgent:
    type: app-secret
  app/not-due:
    type: app-secret
    schedule: { every: 1d }
`),
    );
    w.clock.set(T0 + 4 * HOUR);
    const client = localClient(w.kt);
    // Queued through the client (`keyturn rotate PATH --queue`); the engine's own repo is another instance of the same table.
    await expect(client.runs.queue('app/asked', 'manual')).resolves.toMatchObject({ priority: 'manual', dueAt: T0 + 4 * HOUR });
    await expect(client.runs.queue('app/urgent', 'emergency')).resolves.toMatchObject({ priority: 'emergency' });
    const order = (await once(w.scheduler({ concurrency: 1 }))).map((o) => [o.path, o.run?.status]);
    expect(order).toEqual([
      ['app/urgent', 'done'],
      ['app/asked', 'done'],
      ['app/three-hours-late', 'done'],
      ['app/one-hour-late', 'done'],
    ]);
    // Done: the requests are satisfied, the manual secrets are never due again by themselves; only
    // the replaced version's purge is, once retainPrevious (7 d by default) has passed (src/engine/cleanup.ts).
    expect(await w.scheduler().due.get('app/urgent')).toMatchObject({ dueAt: T0 + 4 * HOUR + 7 * 24 * HOUR, reason: 'cleanup', priority: 2, requestedAt: null });
    expect(await once(w.scheduler())).toEqual([]);
    // A secret without a policy, or one that cannot rotate, cannot be queued.
    const e = await client.runs.queue('app/nothing', 'manual').catch((x: unknown) => x);
    expect(isKeyturnError(e, 'KT_POLICY_NOT_FOUND')).toBe(true);
  });
});

describe('the clock restarts and failures back off', () => {
  it('a `secret put` restarts the clock: the due time counts from the new value', async () => {
    const w = await world(config(`  app/hourly:\n    type: app-secret\n    schedule: { every: 1h }\n`));
    w.clock.set(T0 + 50 * MIN);
    const client = localClient(w.kt);
    await client.secrets.put('app/hourly', 'set-by-hand-Zq81', {});
    expect(await w.scheduler().due.get('app/hourly')).toMatchObject({ dueAt: T0 + 110 * MIN, reason: 'every' });
    w.clock.set(T0 + 70 * MIN);
    expect(await once(w.scheduler())).toEqual([]);
    w.clock.set(T0 + 110 * MIN);
    expect((await once(w.scheduler())).map((o) => o.run?.status)).toEqual(['done']);
    // A rollback brings back an older value: counted from it again (due at once here).
    await client.secrets.rollback('app/hourly');
    expect(await w.scheduler().due.get('app/hourly')).toMatchObject({ dueAt: T0 + 110 * MIN });
  });

  it("a failing secret is retried on its run's backoff, then after a cool-down that doubles; passes in between take nothing", async () => {
    const retry = '    rotation: { attempts: 2, backoffBaseMs: 1000, backoffCapMs: 8000 }\n    schedule: { every: 1h }\n';
    const w = await world(config(dbSecret('db/app', 'db1', 'app', retry)), ['app']);
    // The target refuses every password change (the current password keeps working).
    w.fake.refuseSet = true;
    const calls = () => w.fake.calls.length;
    w.clock.set(T0 + HOUR);
    // Attempt 1 fails: retrying, due again at its retry time (random 0.5: half of the 1 s backoff).
    expect((await once(w.scheduler())).map((o) => [o.run?.status, o.run?.attempt])).toEqual([['retrying', 2]]);
    expect(await w.scheduler().due.get('db/app')).toMatchObject({ dueAt: T0 + HOUR + 500, reason: 'retry' });
    const after1 = calls();
    for (let i = 0; i < 5; i++) expect(await once(w.scheduler())).toEqual([]);
    expect(calls()).toBe(after1);

    // Attempt 2 at its time fails for good: no new run before the cool-down (max(8 s backoff cap, 1 min)).
    w.clock.set(T0 + HOUR + 500);
    expect((await once(w.scheduler())).map((o) => o.run?.status)).toEqual(['failed']);
    const failedAt = w.clock.now();
    expect(await w.scheduler().due.get('db/app')).toMatchObject({ dueAt: failedAt + MIN, reason: 'failed' });
    const after2 = calls();
    w.clock.set(failedAt + MIN - 1);
    for (let i = 0; i < 3; i++) expect(await once(w.scheduler())).toEqual([]);
    expect(calls()).toBe(after2);

    // After it: a new run, which fails its two attempts too; the next cool-down is twice as long.
    w.clock.set(failedAt + MIN);
    expect((await once(w.scheduler())).map((o) => o.run?.status)).toEqual(['retrying']);
    w.clock.advance(500);
    expect((await once(w.scheduler())).map((o) => o.run?.status)).toEqual(['failed']);
    expect(await w.scheduler().due.get('db/app')).toMatchObject({ dueAt: w.clock.now() + 2 * MIN, reason: 'failed' });
    w.clock.advance(2 * MIN - 1);
    expect(await once(w.scheduler())).toEqual([]);
    expect((await w.runs('db/app')).map((r) => r.status)).toEqual(['failed', 'failed']);

    // The target takes changes again: the next due pass rotates it, and the clock counts from the new value.
    w.fake.refuseSet = false;
    w.clock.advance(1);
    expect((await once(w.scheduler())).map((o) => o.run?.status)).toEqual(['done']);
    expect(await w.scheduler().due.get('db/app')).toMatchObject({ dueAt: w.clock.now() + HOUR, reason: 'every' });
    expect(w.fake.users.get('app')).not.toBe('First-pass-1');
  });

  it('an attempt refused before any run starts (target down, a pending version left over) waits the claim time, not the next pass', async () => {
    const retry = '    rotation: { attempts: 1, backoffCapMs: 1000 }\n    schedule: { every: 1h }\n';
    const box: { fake?: FakeTarget } = {};
    let downs = 1;
    // The target goes down once the first new password is set: the run cannot prove which password works, so it keeps the pending version staged.
    const w = await world(config(dbSecret('db/app', 'db1', 'app', retry)), ['app'], (step, when) => {
      if (step === 'set' && when === 'after' && downs-- > 0) box.fake!.down = true;
    });
    box.fake = w.fake;
    w.clock.set(T0 + HOUR);
    expect((await once(w.scheduler())).map((o) => o.run?.status)).toEqual(['failed']);
    expect(await w.kt.store.get('db/app', { stage: 'pending' })).not.toBeNull();
    // After the cool-down: a new run would forget which password works, so the engine refuses before starting one.
    w.clock.advance(MIN);
    expect((await once(w.scheduler())).map((o) => o.error?.code)).toEqual(['KT_TARGET_UNAVAILABLE']);
    expect(await w.scheduler().due.get('db/app')).toMatchObject({ dueAt: w.clock.now() + MIN, reason: 'error' });
    const calls = w.fake.calls.length;
    for (let i = 0; i < 3; i++) expect(await once(w.scheduler())).toEqual([]);
    expect(w.fake.calls.length).toBe(calls);
    // Back up, after the claim time: the leftover is settled and the rotation goes through.
    w.fake.down = false;
    w.clock.advance(MIN);
    expect((await once(w.scheduler())).map((o) => o.run?.status ?? o.error?.code)).toEqual(['done']);
    // The failed run was the one whose pending password logs in: it was finished rather than a new run started.
    expect((await w.runs('db/app')).map((r) => r.status)).toEqual(['done']);
  });
});

describe('keyturn rotate --due', () => {
  it('rotates what is due (the schedule, then a queued request) and nothing else; through the CLI', async () => {
    const w = await world(config(`  app/hourly:\n    type: app-secret\n    schedule: { every: 1h }\n  app/other:\n    type: app-secret\n`));
    await w.kt.close();
    const env = { KEYTURN_HOME: w.kt.settings.home, KEYTURN_LOG_LEVEL: 'silent' };
    // The CLI runs on the system clock: years after T0, app/hourly is due; app/other never is.
    const first = await runCli(['rotate', '--due', '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([{ path: 'app/hourly', status: 'done', runId: expect.stringMatching(/^run_/), error: null }, { summary: { total: 1, done: 1, skipped: 0, failed: 0, dryRun: false } }]);
    expect((await runCli(['rotate', '--due'], { env })).stdout).toBe('Nothing is due\n');
    const queued = await runCli(['rotate', 'app/other', '--queue', '--json'], { env });
    expect(JSON.parse(queued.stdout)).toMatchObject({ queued: true, path: 'app/other', priority: 'manual' });
    expect((await runCli(['rotate', '--due'], { env })).stdout).toBe('1 of 1 rotated\n');
    const usage = await runCli(['rotate', '--queue'], { env });
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('give exactly one of')]);
    home = undefined;
    const { rmSync } = await import('node:fs');
    rmSync(w.kt.settings.home.replace(/\/home$/, ''), { recursive: true, force: true });
  });
});

describe('two schedulers on one PostgreSQL state database', () => {
  it('split the due secrets between them: each rotated once, none twice', async () => {
    const clock = manualClock(T0);
    const pg = await postgresState(clock);
    try {
      const { EmbeddedStore } = await import('../src/stores/embedded/embedded-store.js');
      const { AppliedConfig } = await import('../src/engine/applied.js');
      const { Engine } = await import('../src/engine/engine.js');
      const { applyPlan, planConfig } = await import('../src/config/apply.js');
      const { parseConfig } = await import('../src/config/load.js');
      const { createLogger } = await import('../src/core/logger.js');
      const store = new EmbeddedStore(pg.state, pg.ring, { clock });
      const n = 40;
      const yaml = `version: 1\nsecrets:\n${Array.from({ length: n }, (_, i) => `  app/s${i}:\n    type: app-secret\n    schedule: { every: 1h }\n`).join('')}`;
      const cfg = parseConfig(yaml, {});
      await applyPlan(pg.state, store, cfg, await planConfig(pg.state, store, cfg), clock);
      clock.set(T0 + HOUR);
      const log = createLogger('silent');
      const make = (holder: string) => {
        const engine = new Engine({ state: pg.state, store, applied: new AppliedConfig(pg.state), clock, log });
        return new Scheduler({ state: pg.state, clock, log, engine: async () => engine, holder }, { ...LIMITS, concurrency: 3 });
      };
      const outcomes: Array<DueOutcome & { by: string }> = [];
      const a = make('a');
      const b = make('b');
      await Promise.all([a.runOnce((o) => void outcomes.push({ ...o, by: 'a' })), b.runOnce((o) => void outcomes.push({ ...o, by: 'b' }))]);
      const done = outcomes.filter((o) => o.run?.status === 'done');
      expect(done).toHaveLength(n);
      expect(new Set(done.map((o) => o.path)).size).toBe(n);
      expect(new Set(done.map((o) => o.by))).toEqual(new Set(['a', 'b']));
      const runs = await pg.state.db.selectFrom('runs').select(['path', 'status']).execute();
      expect(runs.filter((r) => r.status === 'done')).toHaveLength(n);
    } finally {
      await pg.close();
    }
  });
});

describe('in keyturn server', () => {
  /** One metric's value from the Prometheus text (the first series of that name). */
  const metric = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

  it('the gauges count what is due and overdue from the stored due times; the scheduler rotates it (its events name it) and counts its claims', async () => {
    const w = await world(
      config(`  app/hourly:
    type: app-secret
    schedule: { every: 1h, maxAge: 90m, expiryWarning: 10m }
  app/manual:
    type: app-secret
`),
    );
    const scrape = async (app: Awaited<ReturnType<typeof buildServer>>) => (await app.inject({ url: '/metrics' })).body;
    // No scheduler first: at 1h40 app/hourly is due (since 1h) and overdue (maxAge 90m).
    const watcher = await buildServer(w.kt, { breakGlassSweepMs: false, metrics: { cacheMs: 0 } });
    expect(metric(await scrape(watcher), 'keyturn_secrets_due')).toBe(0);
    w.clock.set(T0 + 100 * MIN);
    let text = await scrape(watcher);
    expect([metric(text, 'keyturn_secrets_due'), metric(text, 'keyturn_secrets_overdue')]).toEqual([1, 1]);
    await watcher.close();

    const served = await buildServer(w.kt, { breakGlassSweepMs: false, metrics: { cacheMs: 0 }, scheduler: { ...LIMITS, intervalMs: 20 } });
    try {
      await vi.waitFor(async () => expect(await w.rotated()).toEqual({ 'app/hourly': 1 }), { timeout: 20_000, interval: 20 });
      await vi.waitFor(async () => expect(metric(await scrape(served), 'keyturn_secrets_due')).toBe(0), { timeout: 20_000, interval: 20 });
      text = await scrape(served);
      expect(metric(text, 'keyturn_secrets_overdue')).toBe(0);
      expect(metric(text, 'keyturn_scheduler_claimed_total')).toBe(1);
      expect(metric(text, 'keyturn_scheduler_pass_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      // The rotation's audit events name the scheduler.
      const events = (await w.kt.state.db.selectFrom('audit_leaves').select('leaf').where('leaf', 'like', '%secret.rotate%').execute()).map(
        (r) => JSON.parse(r.leaf) as { actor: string; outcome: string; path: string },
      );
      expect(events.map((e) => [e.actor, e.outcome, e.path])).toEqual([
        ['system:scheduler', 'intent', 'app/hourly'],
        ['system:scheduler', 'success', 'app/hourly'],
      ]);
    } finally {
      await served.close();
    }
  });
});
