/**
 * The engine refuses a store it cannot rotate with safely: the embedded store (a real one, over a
 * real state database) reporting that it lacks versions, idempotent put or compare-and-set gets
 * KT_STORE_NOT_ROTATION_SAFE naming what is missing, before any run, also through the audit
 * wrapper; the runtime's own store (from the store registry) passes and its engine rotates.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, planConfig } from '../src/config/apply.js';
import { parseConfig } from '../src/config/load.js';
import { isKeyturnError } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import { AppliedConfig } from '../src/engine/applied.js';
import { Engine } from '../src/engine/engine.js';
import { ROTATION_NEEDS } from '../src/engine/store-capabilities.js';
import { storeAuditHook } from '../src/audit/hooks.js';
import { AuditLog } from '../src/audit/log.js';
import { auditedStore } from '../src/stores/audited-store.js';
import { EmbeddedStore } from '../src/stores/embedded/embedded-store.js';
import type { SecretStore, StoreCapabilities } from '../src/stores/store.js';
import { openTestHome, sqliteState, type TestState } from './helpers/state.js';

/** The embedded store, saying it lacks `missing`: as a store that keeps only the latest value, or moves stages without a check, would. */
class LackingStore extends EmbeddedStore {
  override readonly capabilities: StoreCapabilities;
  constructor(t: TestState, missing: keyof StoreCapabilities) {
    super(t.state, t.ring);
    this.capabilities = { versions: true, idempotentPut: true, compareAndSet: true, [missing]: false };
  }
}

/** The code and details the engine's constructor throws with `store`, or null when it accepts it. */
function refusal(t: TestState, store: SecretStore): { code: string; missing: unknown } | null {
  try {
    new Engine({ state: t.state, store, applied: new AppliedConfig(t.state), clock: { now: () => 0 }, log: silent });
    return null;
  } catch (e) {
    if (!isKeyturnError(e)) throw e;
    return { code: e.code, missing: e.details?.missing };
  }
}

const silent = createLogger('silent');

describe('the engine checks the store capabilities rotation needs', () => {
  let t: TestState;
  beforeEach(async () => {
    t = await sqliteState();
  });
  afterEach(async () => t.close());

  it.each(ROTATION_NEEDS)('a store without %s is refused with KT_STORE_NOT_ROTATION_SAFE naming it', (missing) => {
    expect(refusal(t, new LackingStore(t, missing))).toEqual({ code: 'KT_STORE_NOT_ROTATION_SAFE', missing: [missing] });
  });

  it('the audit wrapper reports the capabilities of the store it wraps, so a lacking store is refused through it too', async () => {
    const audit = await AuditLog.open(t.state, t.ring, {});
    const wrapped = auditedStore(new LackingStore(t, 'compareAndSet'), storeAuditHook(audit));
    expect(refusal(t, wrapped)).toEqual({ code: 'KT_STORE_NOT_ROTATION_SAFE', missing: ['compareAndSet'] });
    expect(refusal(t, auditedStore(new EmbeddedStore(t.state, t.ring), storeAuditHook(audit)))).toBeNull();
  });

  it('the embedded store has every one', () => {
    expect(refusal(t, new EmbeddedStore(t.state, t.ring))).toBeNull();
  });
});

describe('the runtime store', () => {
  it('comes from the store registry as a SecretStore, and its engine rotates with it', async () => {
    const home = await openTestHome();
    try {
      const { kt } = home;
      expect(kt.store.kind).toBe('embedded');
      const config = parseConfig('version: 1\nsecrets:\n  app/key:\n    type: app-secret\n    initial: v1\n', {});
      await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
      const run = await (await kt.engine()).rotate('app/key', { wait: true });
      expect(run.status).toBe('done');
      expect((await kt.store.get('app/key'))?.number).toBe(2);
    } finally {
      await home.close();
    }
  });
});
