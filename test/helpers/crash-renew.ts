/**
 * The kill -9 suite for `renew` targets (certificates from the internal CA or ACME, signing keys,
 * HSM keys): the same cases as test/helpers/crash-suite.ts for credential targets, with the
 * renew invariant instead of a login. A real `keyturn rotate` process is SIGKILLed at each of the
 * 12 step boundaries (KEYTURN_CRASH_AT) and at seeded random moments, then recovered with
 * `keyturn rotate` or `keyturn runs resume`. Every time:
 * - right after the kill, the world still works with what the store holds: the fixture's
 *   `usable` accepts the current value (an endpoint serves a valid certificate, a key signs);
 * - after recovery, the run is done, no pending version is left, the current value is usable,
 *   and the fixture's `afterRecovery` holds (no HSM key the store does not know of).
 *
 * A target whose check waits (a signing key is published `prePublish` before it signs: NotYet)
 * gives `rotateArgs: ['--wait']`: every `keyturn rotate` and `keyturn runs resume` of the suite
 * then waits out the NotYet in the process, as a user's `keyturn rotate --wait` does, so one
 * process passes every step boundary and a recovery ends with the run done.
 *
 * A home with a limited world (a provider allowing two active keys) gives `beforeCase` and
 * `beforeRecovery`, which run the cleanups due between rotations, as the scheduler would.
 *
 * @example
 * ```ts
 * crashRenewSuite('internal-ca', () => internalCaHome());
 * ```
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import type { SecretValue } from '../../src/core/types.js';
import { openKeyturn } from '../../src/runtime/keyturn.js';
import { runCli, SPAWN_MS } from './cli.js';
import { keyturn as spawnKeyturn } from './crash-suite.js';
import { seeded } from './seeded.js';

const RANDOM_KILLS = Number(process.env.KEYTURN_CRASH_RANDOM ?? 6);
const SEED = Number(process.env.KEYTURN_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASE_TIMEOUT_MS = 4 * SPAWN_MS;
const BOUNDARIES = ['prepare', 'create', 'set', 'test', 'finish', 'propagate'].flatMap((s) => [`${s}:before`, `${s}:after`]);

/** A home whose secret `path` renews from a real issuer, with the checks of its world. */
export interface RenewHome {
  readonly env: Record<string, string>;
  readonly path: string;
  /** Whether the world accepts `value` now (the consumer's endpoint serves it and it verifies; the key signs). */
  usable(value: SecretValue): Promise<boolean>;
  /** After a recovery, what else must hold, given every version the store holds (e.g. the HSM holds no key it does not know). */
  afterRecovery?(versions: readonly SecretValue[]): Promise<void>;
  /**
   * Runs before each case (e.g. the cleanups due, on a clock past the grace, for a provider that
   * allows only two active keys: the http-api-key target's provider-made keys).
   */
  beforeCase?(): Promise<void>;
  /** Runs after the kill, before the recovery; `active`: a run is left unfinished (the recovery resumes it, else it is a new rotation). */
  beforeRecovery?(active: boolean): Promise<void>;
  /** Extra arguments of every `keyturn rotate` and `keyturn runs resume` the suite runs (e.g. `['--wait']` when check waits with NotYet). */
  readonly rotateArgs?: readonly string[];
  close(): Promise<void>;
}

interface Stored {
  current: SecretValue | null;
  pending: SecretValue | null;
  all: SecretValue[];
  runs: Array<{ id: string; status: string }>;
}

async function stored(h: RenewHome): Promise<Stored> {
  const kt = await openKeyturn(loadSettings({ ...h.env, KEYTURN_LOG_LEVEL: 'silent' }));
  try {
    const current = (await kt.store.get(h.path))?.value ?? null;
    const pending = (await kt.store.get(h.path, { stage: 'pending' }))?.value ?? null;
    const all: SecretValue[] = [];
    for (const v of await kt.store.versions(h.path)) all.push((await kt.store.get(h.path, { versionId: v.id }))!.value);
    const runs = (await (await kt.engine()).runs.list({ path: h.path })).map((r) => ({ id: r.id, status: r.status }));
    return { current, pending, all, runs };
  } finally {
    await kt.close();
  }
}

/** A real `keyturn` process at debug level (a random kill counts from its "keyturn opened" line): the kill -9 suite's own (./crash-suite.ts). */
function keyturn(env: Record<string, string>, argv: string[], killAfterMs?: number): ReturnType<typeof spawnKeyturn> {
  return spawnKeyturn({ ...env, KEYTURN_LOG_LEVEL: 'debug' }, argv, killAfterMs);
}

async function afterKill(h: RenewHome, label: string): Promise<Stored> {
  const s = await stored(h);
  expect(s.current, `${label}: the secret has no current value`).not.toBeNull();
  expect(await h.usable(s.current!), `${label}: the current value is not usable`).toBe(true);
  return s;
}

async function recover(h: RenewHome, label: string, useResume: boolean, before: Stored): Promise<void> {
  const active = before.runs.find((r) => r.status === 'running' || r.status === 'retrying');
  const env = { ...h.env, KEYTURN_LOG_LEVEL: 'silent' };
  const extra = h.rotateArgs ?? [];
  await h.beforeRecovery?.(active !== undefined);
  const r = useResume && active ? await runCli(['runs', 'resume', active.id, ...extra], { env }) : await runCli(['rotate', h.path, ...extra], { env });
  expect(r.code, `${label}: recovery exited ${r.code}: ${r.stderr}`).toBe(0);
  const after = await stored(h);
  expect(after.pending, `${label}: a pending version is still staged`).toBeNull();
  expect(after.runs[0]!.status, label).toBe('done');
  if (active) expect(after.runs.find((x) => x.id === active.id)?.status, `${label}: the interrupted run did not converge`).toBe('done');
  expect(await h.usable(after.current!), `${label}: the current value is not usable after recovery`).toBe(true);
  await h.afterRecovery?.(after.all);
}

/** The kill -9 cases of one renew target; `make` builds the home (the suite issues its first value). */
export function crashRenewSuite(name: string, make: () => Promise<RenewHome>): void {
  describe(`kill -9 during ${name} renewals (KEYTURN_CRASH_SEED=${SEED})`, () => {
    let h: RenewHome;
    let cleanMs = 0;
    const rng = seeded(SEED ^ [...name].reduce((a, c) => a + c.charCodeAt(0), 0));
    const moments = Array.from({ length: RANDOM_KILLS }, (_, i) => ({ i: i + 1, fraction: Math.round(rng() * 1000) / 1000 }));
    beforeAll(async () => {
      h = await make();
      const clean = await keyturn(h.env, ['rotate', h.path, ...(h.rotateArgs ?? [])]);
      expect(clean.code, clean.stderr).toBe(0);
      cleanMs = clean.workMs;
    }, 2 * CASE_TIMEOUT_MS);
    afterAll(async () => {
      await h?.close();
    });

    it.each(BOUNDARIES.map((boundary, i) => ({ boundary, resume: i % 2 === 0 })))('at the step boundary $boundary', { timeout: CASE_TIMEOUT_MS }, async ({ boundary, resume }) => {
      await h.beforeCase?.();
      const r = await keyturn({ ...h.env, KEYTURN_CRASH_AT: boundary }, ['rotate', h.path, ...(h.rotateArgs ?? [])]);
      expect(r.signal, `${boundary}: ${r.stderr.slice(-2000)}`).toBe('SIGKILL');
      await recover(h, boundary, resume, await afterKill(h, boundary));
    });

    it.each(moments)('at random moment #$i ($fraction of a clean rotation)', { timeout: CASE_TIMEOUT_MS }, async ({ i, fraction }) => {
      const delay = Math.floor(fraction * cleanMs);
      await h.beforeCase?.();
      const r = await keyturn(h.env, ['rotate', h.path, ...(h.rotateArgs ?? [])], delay);
      if (r.signal !== 'SIGKILL') expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const label = `random kill ${delay} ms after "keyturn opened"`;
      await recover(h, label, i % 2 === 0, await afterKill(h, label));
    });
  });
}
