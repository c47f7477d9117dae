/**
 * No lockout under kill -9, http-api-key target (a local API-key provider of the test process,
 * test/helpers/api-key-provider.ts, which allows two active keys per account): every step boundary
 * and seeded random moments of a real `keyturn rotate` process, dual-key. After every kill a key
 * the store holds is active at the provider; after every recovery the current key is, and every
 * active key of the account is one the store holds. What is covered, the knobs
 * (KEYTURN_CRASH_SEED, KEYTURN_CRASH_RANDOM) and the full sweep: test/helpers/crash-suite.ts.
 *
 * A rotation adds a second key, and the provider refuses a third until the cleanup after `grace`
 * (1s here) has revoked the previous one, as the scheduler does between rotations: so the cleanups
 * due run before each case, and after a kill that left no unfinished run (the recovery, `keyturn
 * rotate`, is then a second rotation on top of the one killed). They run through the engine's own
 * cleanup (`tend`) on a clock an hour ahead, so no case waits for the grace to pass.
 */
import { expect } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { manualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { crashSuite } from './helpers/crash-suite.js';
import { engineWith } from './helpers/engines.js';
import type { RotationFixture } from './helpers/rotation-fixtures.js';

/** Runs the cleanups due an hour from now (past the 1s grace); with `onlyCurrent`, then checks the account holds the current key only. */
async function cleanupsDue(fx: RotationFixture, onlyCurrent: boolean): Promise<void> {
  const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
  try {
    const engine = engineWith(kt, undefined, { clock: manualClock(Date.now() + 3_600_000) });
    try {
      const { cleanups } = await engine.tend(fx.path);
      for (const c of cleanups) expect(c.errorCode, c.detail).toBeNull();
    } catch (e) {
      if (!isKeyturnError(e, 'KT_NOT_DUE')) throw e;
    }
    if (!onlyCurrent) return;
    const current = (await kt.store.get(fx.path))!.value as { username: string; password: string };
    expect(await fx.unknownKeys!(current.username, [current]), 'the account holds a key besides the current one').toEqual([]);
  } finally {
    await kt.close();
  }
}

crashSuite('http-api-key', ['dual-key'], {
  fixture: { secretExtra: '    schedule: { every: 90d, grace: 1s }\n' },
  beforeCase: (fx) => cleanupsDue(fx, true),
  // An unfinished run is resumed by the recovery, which adds no key beyond its own pending one.
  beforeRecovery: async (fx, active) => {
    if (!active) await cleanupsDue(fx, false);
  },
});
