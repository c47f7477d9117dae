/**
 * The `renew` strategy in the engine, fast: an in-memory renewer (issue counts up serials, check
 * can refuse or say "not yet", retire is journaled) in place of a CA, a manual clock, a temporary
 * SQLite home. What is checked is what the engine decides: a first value issued through the
 * steps, the renewal time recorded for the scheduler, a failed check that drops (and retires) the
 * pending value and leaves the current one, a NotYet wait that is not a failed attempt, and the
 * cleanup that retires the replaced value after grace. The real targets (internal CA, ACME,
 * signing keys, HSM) have their own tests against real servers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { applyPlan, planConfig } from '../config/apply.js';
import { configSchema } from '../config/schema.js';
import { manualClock, type ManualClock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { SecretValue } from '../core/types.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { RenewOnlyTarget } from '../targets/renew-target.js';
import { NotYet, type Renewer, type TargetContext } from '../targets/target.js';
import { engineWith } from '../../test/helpers/engines.js';
import { openTestHome } from '../../test/helpers/state.js';
import { AppliedConfig, type AppliedTarget } from './applied.js';
import type { Engine } from './engine.js';

const PATH = 'tls/web';
const DAY = 86_400_000;

/** A CA in memory: serial n is valid 90 days from its issue and renews 30 days before its end. */
class MemoryRenewer implements Renewer {
  serial = 0;
  readonly retired: number[] = [];
  refuse = false;
  notBefore: number | null = null;
  constructor(private readonly clock: ManualClock) {}
  async issue(_ctx: TargetContext, current: SecretValue | null, versionId: string): Promise<SecretValue> {
    this.serial += 1;
    return { serial: this.serial, notAfter: new Date(this.clock.now() + 90 * DAY).toISOString(), versionId, from: current === null ? null : (current as { serial: number }).serial };
  }
  async check(_ctx: TargetContext, value: SecretValue, when: { pendingSince: number; now: number }): Promise<void> {
    if (this.refuse) throw new KeyturnError('KT_TARGET_AUTH_FAILED', `serial ${(value as { serial: number }).serial} does not check out`);
    if (this.notBefore !== null && when.now < when.pendingSince + this.notBefore) throw new NotYet(when.pendingSince + this.notBefore, 'published for less than 5m');
  }
  renewAt(value: SecretValue): number {
    return Date.parse((value as { notAfter: string }).notAfter) - 30 * DAY;
  }
  async retire(_ctx: TargetContext, value: SecretValue): Promise<void> {
    this.retired.push((value as { serial: number }).serial);
  }
}

class MemoryCa extends RenewOnlyTarget {
  readonly kind = 'memory-ca';
  constructor(readonly renewer: MemoryRenewer) {
    super();
  }
}

/** The applied config with the in-memory CA in place of every target, with no admin secret. */
function applied(kt: Keyturn, target: MemoryCa): AppliedConfig {
  return new (class extends AppliedConfig {
    override target(name: string): Promise<AppliedTarget> {
      return Promise.resolve({ name, target, adminPath: undefined });
    }
  })(kt.state);
}

let home: Awaited<ReturnType<typeof openTestHome>> | undefined;
afterEach(async () => {
  await home?.close();
  home = undefined;
});

async function world(): Promise<{ kt: Keyturn; clock: ManualClock; ca: MemoryRenewer; engine(): Engine; serial(stage: 'current' | 'pending' | 'previous'): Promise<number | null> }> {
  const clock = manualClock();
  home = await openTestHome({ clock });
  const kt = home.kt;
  // Parsed by the schema alone: the registry's strategy check does not know the in-memory target (fakeApplied hands it to the engine).
  const config = configSchema.parse(
    parseYaml(`version: 1
targets:
  ca: { type: generic }
secrets:
  ${PATH}:
    type: certificate
    target: ca
    schedule: { every: 365d, grace: 1d }
    rotation: { attempts: 2, backoffBaseMs: 1000, backoffCapMs: 1000 }
`),
  );
  await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
  const ca = new MemoryRenewer(clock);
  const target = new MemoryCa(ca);
  return {
    kt,
    clock,
    ca,
    engine: () => engineWith(kt, undefined, { applied: applied(kt, target), clock }),
    serial: async (stage) => ((await kt.store.get(PATH, { stage }))?.value as { serial: number } | undefined)?.serial ?? null,
  };
}

describe('the renew strategy in the engine (in-memory renewer)', () => {
  it('issues the first value through the steps, then renews; the scheduler is due at renewAt, before the schedule', async () => {
    const w = await world();
    const first = await w.engine().rotate(PATH);
    expect(first).toMatchObject({ status: 'done', fromVersionId: null });
    expect(await w.serial('current')).toBe(1);
    expect((await w.kt.store.describe(PATH))?.type).toBe('certificate');
    const due = await w.engine().due.compute(PATH);
    // 90-day validity, renewed 30 days before: day 60, before the yearly schedule.
    expect(due).toMatchObject({ reason: 'renew', dueAt: w.clock.now() + 60 * DAY });

    w.clock.advance(60 * DAY);
    const second = await w.engine().rotate(PATH, { ifDue: true });
    expect(second.status).toBe('done');
    expect(await w.serial('current')).toBe(2);
    expect(await w.serial('previous')).toBe(1);
    expect(((await w.kt.store.get(PATH, { stage: 'current' }))!.value as { from: number }).from).toBe(1);
    // The cleanup of the replaced value comes first (grace 1d), then the next renewal.
    const renewedAt = w.clock.now();
    expect(await w.engine().due.compute(PATH)).toMatchObject({ reason: 'cleanup', dueAt: renewedAt + DAY });
    const row = await w.kt.state.db.selectFrom('renewals').selectAll().where('path', '=', PATH).executeTakeFirstOrThrow();
    expect({ versionId: row.version_id, renewAt: Number(row.renew_at) }).toEqual({ versionId: (await w.kt.store.get(PATH))!.id, renewAt: renewedAt + 60 * DAY });
  });

  it('a value that fails its check is dropped (and retired); the current one stays; two failed attempts fail the run', async () => {
    const w = await world();
    await w.engine().rotate(PATH);
    w.ca.refuse = true;
    const run = await w.engine().rotate(PATH);
    expect(run).toMatchObject({ status: 'retrying', failedStep: 'test', errorCode: 'KT_TARGET_AUTH_FAILED', pendingVersionId: null });
    expect(await w.serial('pending')).toBeNull();
    expect(await w.serial('current')).toBe(1);
    expect(w.ca.retired).toEqual([2]);
    w.clock.set(run.nextAttemptAt!);
    const failed = await w.engine().rotate(PATH);
    expect(failed.status).toBe('failed');
    expect(w.ca.retired).toEqual([2, 3]);
    expect(await w.serial('current')).toBe(1);
  });

  it('NotYet leaves the run waiting at the test step, not a failed attempt, and it finishes once the time has come', async () => {
    const w = await world();
    await w.engine().rotate(PATH);
    w.ca.notBefore = 5 * 60_000;
    const waiting = await w.engine().rotate(PATH);
    expect(waiting).toMatchObject({ status: 'retrying', step: 'test', attempt: 1, errorCode: null, nextAttemptAt: w.clock.now() + 5 * 60_000 });
    // Published meanwhile: the pending value is there for its users to pick up.
    expect(await w.serial('pending')).toBe(2);
    await expect(w.engine().rotate(PATH, { ifDue: true })).rejects.toMatchObject({ code: 'KT_NOT_DUE' });
    w.clock.advance(5 * 60_000);
    const done = await w.engine().rotate(PATH, { ifDue: true });
    expect(done).toMatchObject({ id: waiting.id, status: 'done', attempt: 1 });
    expect(await w.serial('current')).toBe(2);
    const steps = await w.engine().runs.steps(done.id);
    expect(steps.filter((s) => s.step === 'test').map((s) => s.outcome)).toEqual(['skipped', 'ok']);
  });

  it('the replaced value is retired by the cleanup when the grace period ends, not before', async () => {
    const w = await world();
    await w.engine().rotate(PATH);
    await w.engine().rotate(PATH);
    expect(w.ca.retired).toEqual([]);
    w.clock.advance(DAY - 1000);
    await w
      .engine()
      .tend(PATH)
      .catch(() => undefined);
    expect(w.ca.retired).toEqual([]);
    w.clock.advance(2000);
    const tended = await w.engine().tend(PATH);
    expect(tended.cleanups.map((c) => c.revoke)).toEqual(['done']);
    expect(w.ca.retired).toEqual([1]);
  });
});
