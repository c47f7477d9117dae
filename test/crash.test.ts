/**
 * No lockout under kill -9. For each target and strategy, a real `keyturn rotate` process is
 * SIGKILLed at every step boundary (it kills itself there through KEYTURN_CRASH_AT) and at random
 * moments (the test kills it), then recovered with `keyturn rotate` or `keyturn runs resume`.
 * Every time:
 * - right after the kill, a credential the store holds (current or pending) logs in;
 * - after recovery, the stored current credential logs in (checked with a plain driver login,
 *   not the target's own test), no pending version is left staged, and the run is done.
 *
 * Each kill is its own test case, so one slow or failing kill names itself and no case depends on
 * another's count. The random moments come from a seeded generator: the seed is in the test
 * names, and KEYTURN_CRASH_SEED=N replays a run. KEYTURN_CRASH_RANDOM sets the random kills per
 * scenario (default 24). A case's time limit is computed from the processes it starts, not the
 * global 30 s, so a loaded machine makes it slower, not red.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import type { Credential } from '../src/targets/target.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { BIN, SPAWN_MS } from './helpers/cli.js';
import { logsIn } from './helpers/logins.js';
import { seeded } from './helpers/seeded.js';
import { rotationFixture, type Kind, type RotationFixture } from './helpers/rotation-fixtures.js';
import type { Strategy } from '../src/targets/target.js';

const RANDOM_KILLS = Number(process.env.KEYTURN_CRASH_RANDOM ?? 24);
const SEED = Number(process.env.KEYTURN_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/**
 * Each case starts a rotation, a recovery and up to four in-process opens of the state: six
 * processes' worth of SPAWN_MS.
 */
const CASE_TIMEOUT_MS = 6 * SPAWN_MS;
const BOUNDARIES = ['prepare', 'create', 'set', 'test', 'finish', 'propagate'].flatMap((s) => [`${s}:before`, `${s}:after`]);

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

function keyturn(env: Record<string, string>, argv: string[], killAfterMs?: number): Promise<Exit> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...argv], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    });
  });
}

/** What the store holds for the secret, read in this process while no rotation runs. */
async function stored(fx: RotationFixture): Promise<{ current: Credential; pending: Credential | null; runs: Array<{ id: string; status: string }> }> {
  const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
  try {
    const current = (await kt.store.get(fx.path))!.value as Credential;
    const pending = ((await kt.store.get(fx.path, { stage: 'pending' }))?.value ?? null) as Credential | null;
    const runs = (await (await kt.engine()).runs.list({ path: fx.path })).map((r) => ({ id: r.id, status: r.status }));
    return { current, pending, runs };
  } finally {
    await kt.close();
  }
}

async function assertStoreKnowsAWorkingCredential(fx: RotationFixture, label: string): Promise<void> {
  const s = await stored(fx);
  const works = (await logsIn(fx.login, s.current)) || (s.pending !== null && (await logsIn(fx.login, s.pending)));
  expect(works, `${label}: neither the stored current nor the pending credential logs in`).toBe(true);
}

async function recoverAndAssert(fx: RotationFixture, label: string, useResume: boolean): Promise<void> {
  const before = await stored(fx);
  const active = before.runs.find((r) => r.status === 'running' || r.status === 'retrying');
  const r = useResume && active ? await keyturn(fx.env, ['runs', 'resume', active.id]) : await keyturn(fx.env, ['rotate', fx.path]);
  expect(r.code, `${label}: recovery exited ${r.code}: ${r.stderr}`).toBe(0);
  const after = await stored(fx);
  expect(await logsIn(fx.login, after.current), `${label}: the stored current credential does not log in`).toBe(true);
  expect(after.pending, `${label}: a pending version is still staged`).toBeNull();
  expect(after.runs[0]!.status, label).toBe('done');
  if (active) expect(after.runs.find((x) => x.id === active.id)?.status, `${label}: the interrupted run did not converge`).toBe('done');
}

const SCENARIOS: Array<[Kind, Strategy]> = [
  ['postgres', 'single-user'],
  ['postgres', 'alternating-users'],
  ['mysql', 'single-user'],
  ['mysql', 'alternating-users'],
  ['redis', 'single-user'],
  ['redis', 'alternating-users'],
];

describe.each(SCENARIOS)(`kill -9 during %s %s rotations (KEYTURN_CRASH_SEED=${SEED})`, (kind, strategy) => {
  let fx: RotationFixture;
  /** How long a rotation takes here without a kill; random kills land inside it. */
  let cleanMs = 0;
  // The moments, as fractions of a clean rotation, drawn before any test runs: a scenario's cases
  // are the same for the same seed whatever happens in other cases.
  const rng = seeded(SEED ^ (SCENARIOS.findIndex(([k, st]) => k === kind && st === strategy) + 1));
  const moments = Array.from({ length: RANDOM_KILLS }, (_, i) => ({ i: i + 1, fraction: Math.round(rng() * 1000) / 1000 }));
  beforeAll(async () => {
    fx = await rotationFixture(kind, strategy);
    const clean = await keyturn(fx.env, ['rotate', fx.path]);
    expect(clean.code, clean.stderr).toBe(0);
    cleanMs = clean.ms;
  }, CASE_TIMEOUT_MS);
  afterAll(async () => {
    await fx.close();
  });

  it.each(BOUNDARIES.map((boundary, i) => ({ boundary, resume: i % 2 === 0 })))('at the step boundary $boundary', { timeout: CASE_TIMEOUT_MS }, async ({ boundary, resume }) => {
    const r = await keyturn({ ...fx.env, KEYTURN_CRASH_AT: boundary }, ['rotate', fx.path]);
    expect(r.signal, `${boundary}: ${r.stderr}`).toBe('SIGKILL');
    await assertStoreKnowsAWorkingCredential(fx, boundary);
    await recoverAndAssert(fx, boundary, resume);
  });

  it.each(moments)('at random moment #$i ($fraction of a clean rotation)', { timeout: CASE_TIMEOUT_MS }, async ({ i, fraction }) => {
    const delay = Math.floor(fraction * cleanMs);
    const r = await keyturn(fx.env, ['rotate', fx.path], delay);
    // Killed, or it finished before the kill: either way the store must know a working credential.
    if (r.signal !== 'SIGKILL') expect(r.code, r.stderr).toBe(0);
    await assertStoreKnowsAWorkingCredential(fx, `random kill after ${delay} ms`);
    await recoverAndAssert(fx, `random kill after ${delay} ms`, i % 2 === 0);
  });
});
