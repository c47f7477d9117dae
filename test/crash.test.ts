/**
 * No lockout under kill -9. For each target and strategy, a real `keyturn rotate` process is
 * SIGKILLed at every step boundary (it kills itself there through KEYTURN_CRASH_AT) and at random
 * moments (the test kills it), then recovered with `keyturn rotate` or `keyturn runs resume`.
 * Every time:
 * - right after the kill, a credential the store holds (current or pending) logs in;
 * - after recovery, the stored current credential logs in (checked with a plain driver login,
 *   not the target's own test), no pending version is left staged, and the run is done.
 *
 * KEYTURN_CRASH_RANDOM sets the random kills per scenario (default 24).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import type { Credential } from '../src/targets/target.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { BIN } from './helpers/cli.js';
import { logsIn } from './helpers/logins.js';
import { rotationFixture, type Kind, type RotationFixture } from './helpers/rotation-fixtures.js';
import type { Strategy } from '../src/targets/target.js';

const RANDOM_KILLS = Number(process.env.KEYTURN_CRASH_RANDOM ?? 24);
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

describe.each(SCENARIOS)('kill -9 during %s %s rotations', (kind, strategy) => {
  let fx: RotationFixture;
  let kills = 0;
  beforeAll(async () => {
    fx = await rotationFixture(kind, strategy);
  });
  afterAll(async () => {
    console.log(`${kind} ${strategy}: ${kills} kills`);
    await fx.close();
  });

  it('at every step boundary', async () => {
    for (const [i, boundary] of BOUNDARIES.entries()) {
      const r = await keyturn({ ...fx.env, KEYTURN_CRASH_AT: boundary }, ['rotate', fx.path]);
      expect(r.signal, `${boundary}: ${r.stderr}`).toBe('SIGKILL');
      kills += 1;
      await assertStoreKnowsAWorkingCredential(fx, boundary);
      await recoverAndAssert(fx, boundary, i % 2 === 0);
    }
  });

  it('at random moments', async () => {
    const clean = await keyturn(fx.env, ['rotate', fx.path]);
    expect(clean.code, clean.stderr).toBe(0);
    for (let i = 0; i < RANDOM_KILLS; i++) {
      const delay = Math.floor(Math.random() * clean.ms);
      const r = await keyturn(fx.env, ['rotate', fx.path], delay);
      if (r.signal === 'SIGKILL') kills += 1;
      else expect(r.code, r.stderr).toBe(0);
      await assertStoreKnowsAWorkingCredential(fx, `random kill after ${delay} ms`);
      await recoverAndAssert(fx, `random kill after ${delay} ms`, i % 2 === 1);
    }
    expect(kills).toBeGreaterThan(BOUNDARIES.length);
  });
});
