/**
 * The kill -9 suite, one file per target kind (test/crash-postgres.test.ts, crash-mysql,
 * crash-redis, crash-ldap, crash-rabbitmq, crash-script, crash-kerberos, crash-ssh, crash-active-directory, crash-http-api-key: vitest runs them side by side). For each strategy of the kind, a real
 * `keyturn rotate` process is SIGKILLed at every step boundary (it kills itself there through
 * KEYTURN_CRASH_AT) and at random moments (the test kills it), then recovered with
 * `keyturn rotate` or `keyturn runs resume`. Every time:
 * - right after the kill, a credential the store holds (current or pending) logs in;
 * - after recovery, the stored current credential logs in (checked with a plain driver login,
 *   not the target's own test), no pending version is left staged, and the run is done.
 *
 * What a run covers, per target kind and strategy: all 12 step boundaries (`prepare`, `create`,
 * `set`, `test`, `finish`, `propagate`, each `before` and `after`), every one killed and
 * recovered on every run (half by `rotate`, half by `runs resume`), and KEYTURN_CRASH_RANDOM
 * random kills (default 12; the full sweep is KEYTURN_CRASH_RANDOM=24).
 * A random kill lands inside the rotation's own work: its delay counts from the child's
 * "keyturn opened" line (it runs at debug level), as a fraction of the time a clean rotation
 * takes from that line to its exit, so no kill is spent on Node's start-up, where nothing
 * has happened yet.
 *
 * A kind may add work before each case and before each recovery (`CrashSuiteOptions`: the
 * http-api-key suite runs the cleanups its provider's limit of two keys needs, as a scheduler would).
 *
 * The kill is always a real process killed -9; the recovery runs the same CLI in this test's
 * process (`runCli`: the killed process's lease names a pid that is gone, as for any other
 * process), which saves a Node start-up per case.
 *
 * Each kill is its own test case, so one slow or failing kill names itself and no case depends on
 * another's count. The random moments come from a seeded generator: the seed is in the test
 * names, and KEYTURN_CRASH_SEED=N replays a run. A case's time limit is computed from the
 * processes it starts, not the global 30 s, so a loaded machine makes it slower, not red.
 *
 * @example
 * ```ts
 * // test/crash-redis.test.ts
 * crashSuite('redis');
 * ```
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { openKeyturn } from '../../src/runtime/keyturn.js';
import type { Credential, Strategy } from '../../src/targets/target.js';
import { BIN, runCli, SPAWN_MS } from './cli.js';
import { rotationFixture, type FixtureOptions, type Kind, type RotationFixture } from './rotation-fixtures.js';
import { outsideStoreFixture, type OutsideKind, type OutsideStoreFixture } from './outside-stores.js';
import { systemClock } from '../../src/core/clock.js';
import { seeded } from './seeded.js';
import { sqliteState } from './state.js';

const RANDOM_KILLS = Number(process.env.KEYTURN_CRASH_RANDOM ?? 12);
const SEED = Number(process.env.KEYTURN_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/**
 * Each case starts one rotation process, runs a recovery in-process and opens the state twice
 * in-process: four processes' worth of SPAWN_MS.
 */
const CASE_TIMEOUT_MS = 4 * SPAWN_MS;
const BOUNDARIES = ['prepare', 'create', 'set', 'test', 'finish', 'propagate'].flatMap((s) => [`${s}:before`, `${s}:after`]);
const KINDS: Kind[] = ['postgres', 'mysql', 'redis', 'ldap', 'rabbitmq', 'script', 'kerberos', 'ssh', 'active-directory', 'http-api-key'];
const STRATEGIES: Strategy[] = ['single-user', 'alternating-users'];
/** Every strategy a suite may cover, for the seeds (the first two keep the seeds they had). */
const ALL_STRATEGIES: Strategy[] = ['single-user', 'alternating-users', 'dual-key'];
/** The child's debug line once its runtime is open: a random kill's delay counts from here. */
const OPENED = '"msg":"keyturn opened"';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** From the child's "keyturn opened" line (or its start, without one) to its exit. */
  workMs: number;
}

/**
 * Starts `keyturn ARGV` and waits for it. With `killAfterMs`, it runs at debug level and is
 * SIGKILLed that long after its "keyturn opened" line.
 */
export function keyturn(env: Record<string, string>, argv: string[], killAfterMs?: number): Promise<Exit> {
  return new Promise((resolve) => {
    const debug = killAfterMs === undefined ? {} : { KEYTURN_LOG_LEVEL: 'debug' };
    const child = spawn(process.execPath, [BIN, ...argv], { env: { PATH: process.env.PATH ?? '', ...env, ...debug }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let opened = performance.now();
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => {
      const first = !stderr.includes(OPENED);
      stderr += d.toString();
      if (first && stderr.includes(OPENED)) {
        opened = performance.now();
        if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, workMs: performance.now() - opened });
    });
  });
}

/** What the store holds for the secret, read in this process while no rotation runs. */
async function stored(fx: RotationFixture): Promise<{ current: Credential; pending: Credential | null; runs: Array<{ id: string; status: string }>; all: Credential[] }> {
  const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
  try {
    const current = (await kt.store.get(fx.path))!.value as Credential;
    const pending = ((await kt.store.get(fx.path, { stage: 'pending' }))?.value ?? null) as Credential | null;
    const runs = (await (await kt.engine()).runs.list({ path: fx.path })).map((r) => ({ id: r.id, status: r.status }));
    const all: Credential[] = [];
    for (const v of await kt.store.versions(fx.path)) all.push((await kt.store.get(fx.path, { versionId: v.id }))!.value as Credential);
    return { current, pending, runs, all };
  } finally {
    await kt.close();
  }
}

async function assertStoreKnowsAWorkingCredential(fx: RotationFixture, label: string): Promise<Awaited<ReturnType<typeof stored>>> {
  const s = await stored(fx);
  const works = (await fx.logsIn(s.current)) || (s.pending !== null && (await fx.logsIn(s.pending)));
  expect(works, `${label}: neither the stored current nor the pending credential logs in`).toBe(true);
  return s;
}

async function recoverAndAssert(fx: RotationFixture, label: string, useResume: boolean, before: Awaited<ReturnType<typeof stored>>): Promise<void> {
  const active = before.runs.find((r) => r.status === 'running' || r.status === 'retrying');
  const env = { ...fx.env, KEYTURN_LOG_LEVEL: 'silent' };
  const r = useResume && active ? await runCli(['runs', 'resume', active.id], { env }) : await runCli(['rotate', fx.path], { env });
  expect(r.code, `${label}: recovery exited ${r.code}: ${r.stderr}`).toBe(0);
  const after = await stored(fx);
  expect(await fx.logsIn(after.current), `${label}: the stored current credential does not log in`).toBe(true);
  expect(after.pending, `${label}: a pending version is still staged`).toBeNull();
  expect(after.runs[0]!.status, label).toBe('done');
  if (active) expect(after.runs.find((x) => x.id === active.id)?.status, `${label}: the interrupted run did not converge`).toBe('done');
  if (fx.strategy === 'dual-key') {
    // Every password (key) the user has on the target is one the store holds (a version), none it lost track of.
    expect(await fx.unknownKeys!(after.current.username, after.all), `${label}: the user has a password the store does not hold`).toEqual([]);
  }
}

/** True when the store shows an unfinished run (the recovery resumes it). */
function unfinished(s: Awaited<ReturnType<typeof stored>>): boolean {
  return s.runs.some((x) => x.status === 'running' || x.status === 'retrying');
}

/** What a kind's suite may add: the fixture's options (a schedule on the secret), and work before each case. */
export interface CrashSuiteOptions {
  fixture?: FixtureOptions;
  /**
   * The fixture's options, made once the test file's own `beforeAll` has run (an outside store's
   * local server is listening, so its address can go into KEYTURN_STORE_FILE); wins over `fixture`.
   */
  lateFixture?: () => FixtureOptions;
  /** Words after the kind in the suite's name (`with the aws store`). */
  title?: string;
  /** Random kills per strategy (default KEYTURN_CRASH_RANDOM, 12). */
  randomKills?: number;
  /** Runs before each case, no rotation running (e.g. the cleanups an API with a key limit needs between rotations). */
  beforeCase?(fx: RotationFixture): Promise<void>;
  /**
   * Runs after each kill, before the recovery; `active`: the killed run is unfinished (the recovery
   * resumes it), else the recovery is a new rotation on top of the one killed.
   */
  beforeRecovery?(fx: RotationFixture, active: boolean): Promise<void>;
}

/** The kill -9 cases of one target kind, for each of its strategies (default: single-user and alternating-users). */
export function crashSuite(kind: Kind, strategies: readonly Strategy[] = STRATEGIES, options: CrashSuiteOptions = {}): void {
  const title = options.title === undefined ? '' : ` ${options.title}`;
  describe.each([...strategies])(`kill -9 during ${kind} %s rotations${title} (KEYTURN_CRASH_SEED=${SEED})`, (strategy) => {
    let fx: RotationFixture;
    /** How long a rotation takes here without a kill, from its runtime opened to its exit; random kills land inside it. */
    let cleanMs = 0;
    // The moments, as fractions of a clean rotation, drawn before any test runs: a scenario's cases
    // are the same for the same seed whatever happens in other cases.
    const rng = seeded(SEED ^ (KINDS.indexOf(kind) * STRATEGIES.length + ALL_STRATEGIES.indexOf(strategy) + 1));
    const moments = Array.from({ length: options.randomKills ?? RANDOM_KILLS }, (_, i) => ({ i: i + 1, fraction: Math.round(rng() * 1000) / 1000 }));
    beforeAll(async () => {
      fx = await rotationFixture(kind, strategy, options.lateFixture?.() ?? options.fixture);
      const clean = await keyturn({ ...fx.env, KEYTURN_LOG_LEVEL: 'debug' }, ['rotate', fx.path]);
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stderr, 'a rotation at debug level logs "keyturn opened"').toContain(OPENED);
      cleanMs = clean.workMs;
    }, CASE_TIMEOUT_MS);
    afterAll(async () => {
      await fx.close();
    });
    if (options.beforeCase) beforeEach(() => options.beforeCase!(fx), CASE_TIMEOUT_MS);

    it.each(BOUNDARIES.map((boundary, i) => ({ boundary, resume: i % 2 === 0 })))('at the step boundary $boundary', { timeout: CASE_TIMEOUT_MS }, async ({ boundary, resume }) => {
      const r = await keyturn({ ...fx.env, KEYTURN_CRASH_AT: boundary }, ['rotate', fx.path]);
      expect(r.signal, `${boundary}: ${r.stderr}`).toBe('SIGKILL');
      const s = await assertStoreKnowsAWorkingCredential(fx, boundary);
      await options.beforeRecovery?.(fx, unfinished(s));
      await recoverAndAssert(fx, boundary, resume, s);
    });

    it.each(moments)('at random moment #$i ($fraction of a clean rotation)', { timeout: CASE_TIMEOUT_MS }, async ({ i, fraction }) => {
      const delay = Math.floor(fraction * cleanMs);
      const r = await keyturn(fx.env, ['rotate', fx.path], delay);
      // Killed, or it finished before the kill: either way the store must know a working credential.
      if (r.signal !== 'SIGKILL') expect(r.code, r.stderr).toBe(0);
      const label = `random kill ${delay} ms after "keyturn opened"`;
      const s = await assertStoreKnowsAWorkingCredential(fx, label);
      await options.beforeRecovery?.(fx, unfinished(s));
      await recoverAndAssert(fx, label, i % 2 === 0, s);
    });
  });
}

/**
 * The kill -9 suite of a PostgreSQL credential (single-user) whose primary store is an outside
 * store, against its local server (test/helpers/outside-stores.ts): every step boundary, and
 * `randomKills` random moments (default 4: the boundaries are where a store's writes happen).
 *
 * @example
 * ```ts
 * // test/crash-store-vault.test.ts
 * crashSuiteOnStore('vault');
 * ```
 */
export function crashSuiteOnStore(kind: OutsideKind, randomKills = 4): void {
  let store: OutsideStoreFixture | undefined;
  beforeAll(async () => {
    store = await outsideStoreFixture(kind);
  });
  afterAll(async () => store?.close());
  crashSuite('postgres', ['single-user'], {
    title: `with the ${kind} store`,
    randomKills,
    lateFixture: () => ({ env: { ...store!.env, KEYTURN_STORE_FILE: store!.storeFile() } }),
  });
  it(`the credential lived in the ${kind} store, not the embedded one`, async () => {
    const { prepareStore } = await import('../../src/stores/registry.js');
    // A fresh state database: a store that keeps its stage pointers there (azure) adopts what the vault holds.
    const state = await sqliteState(systemClock);
    const prepared = await prepareStore(store!.config, {
      state: state.state,
      ring: state.ring,
      clock: systemClock,
      settings: { maxValueBytes: 65536, maxVersions: 100, retentionDays: 7, purgeProtection: true, envVar: (name: string) => process.env[name] },
    } as never);
    try {
      const outside = prepared.forAudit();
      expect(outside.kind).toBe(kind);
      // Every rotation made a version there (AWS lists at most 15: its 20 staging labels a secret).
      expect((await outside.versions('app/db')).length, 'versions of app/db in the store').toBeGreaterThan(10);
    } finally {
      await prepared.close();
      await state.close();
    }
  });
}
