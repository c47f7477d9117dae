/**
 * Test helper for the cleanup after a rotation (src/engine/cleanup.ts): a real target's rotation
 * fixture (./rotation-fixtures.ts) opened in this process on a manual clock, with an audited
 * engine and the scheduler's pass as `rotate --due` makes it. One place for the cleanup tests of
 * every kind and strategy; `close()` ends both.
 *
 * @example
 * ```ts
 * const w = await cleanupWorld('redis', 'dual-key', '{ every: 90d, grace: 1h }');
 * await w.engine.rotate('app/db');
 * w.clock.advance(HOUR);
 * const outcomes = await w.pass();
 * ```
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { engineAuditPort } from '../../src/audit/hooks.js';
import { defaultContext } from '../../src/audit/context.js';
import { loadSettings } from '../../src/config/settings.js';
import { manualClock, type ManualClock } from '../../src/core/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import { asCredential } from '../../src/engine/next-value.js';
import { openKeyturn, type Keyturn } from '../../src/runtime/keyturn.js';
import { Scheduler, type DueOutcome } from '../../src/schedule/scheduler.js';
import type { Credential, Strategy } from '../../src/targets/target.js';
import { engineWith } from './engines.js';
import { rotationFixture, type Kind, type RotationFixture } from './rotation-fixtures.js';

export interface CleanupWorld<K extends Kind> {
  fx: RotationFixture<K>;
  kt: Keyturn;
  clock: ManualClock;
  engine: Engine;
  /** One scheduler pass over what is due at the clock's time (on `on`, default this world's engine), its outcomes in the order they ended. */
  pass(on?: Engine): Promise<DueOutcome[]>;
  /** The credential staged `stage` of app/db. */
  cred(stage: 'current' | 'previous' | 'pending'): Promise<Credential>;
  /** Every `secret.<action>` event of the audit log, in order. */
  events(action: string): Promise<Array<{ outcome: string; versionId: string | null }>>;
  close(): Promise<void>;
}

/** The rotation fixture of `kind` with `schedule` (a flow mapping) on app/db, opened on a manual clock set to now. */
export async function cleanupWorld<K extends Kind>(kind: K, strategy: Strategy, schedule: string): Promise<CleanupWorld<K>> {
  const fx = await rotationFixture(kind, strategy, { secretExtra: `    schedule: ${schedule}\n` });
  const clock = manualClock(Date.now());
  const kt = await openKeyturn(loadSettings(fx.env), { clock });
  const engine = engineWith(kt, undefined, { audit: engineAuditPort(kt.audit, defaultContext()), clock });
  return {
    fx,
    kt,
    clock,
    engine,
    pass: async (on = engine) => {
      const out: DueOutcome[] = [];
      const s = new Scheduler({ state: kt.state, clock, log: kt.log, engine: async () => on, holder: 'test' }, { intervalMs: 1000, concurrency: 2, targetConcurrency: 2, claimMs: 60_000 });
      await s.runOnce((o) => {
        out.push(o);
      });
      return out;
    },
    cred: async (stage) => asCredential('app/db', (await kt.store.get('app/db', { stage }))!.value),
    events: async (action) =>
      (await kt.state.db.selectFrom('audit_leaves').select('leaf').orderBy('seq').execute())
        .map((e) => JSON.parse(String(e.leaf)) as { action: string; outcome: string; versionId: string | null })
        .filter((e) => e.action === action)
        .map((e) => ({ outcome: e.outcome, versionId: e.versionId })),
    close: async () => {
      await kt.close();
      await fx.close();
    },
  };
}

/** Waits until the system clock has passed `t` (a time the state database holds: a due time, a claim's end). */
export async function until(t: number): Promise<void> {
  while (Date.now() <= t) await sleep(Math.max(1, t - Date.now() + 5));
}
