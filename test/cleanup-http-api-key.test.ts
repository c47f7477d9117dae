/**
 * The dual-key strategy on the http-api-key target (a local API-key provider allowing two active
 * keys per account): a rotation adds the new key next to the old one, both work until the cleanup
 * after `grace` revokes the old one (the first key, made by hand, found by the provider's hint of
 * it; later ones by their name); a rotation during the grace is refused by the key limit and
 * changes nothing; a run that fails after adding its key takes it back. The account's active keys
 * are compared with what the store holds after each step: never one it does not know.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engineAuditPort } from '../src/audit/hooks.js';
import { defaultContext } from '../src/audit/context.js';
import { cleanupWorld, expectOldEndsAfterGrace, type CleanupWorld } from './helpers/cleanup-world.js';
import { engineWith, refusedOnce } from './helpers/engines.js';

const HOUR = 3_600_000;

let w: CleanupWorld<'http-api-key'> | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

/** The account's active keys at the provider, in the order they were made. */
function active(world: CleanupWorld<'http-api-key'>, username: string): string[] {
  return world.fx.target.provider.activeKeys(username).map((k) => k.key);
}

describe('dual-key on an HTTP API-key provider', () => {
  it('the old key works next to the new one until grace, then only the new one; the next rotations fit the limit of two keys', async () => {
    w = await cleanupWorld('http-api-key', 'dual-key', '{ every: 90d, grace: 1h }');
    const { first, current } = await expectOldEndsAfterGrace(w);
    expect(active(w, first.username)).toEqual([current.password]);
    // Two more rotations, each cleaned up after its grace: never more than two keys.
    let previous = current;
    for (let i = 0; i < 2; i++) {
      expect((await w.engine.rotate('app/db')).status).toBe('done');
      const now = await w.cred('current');
      expect(active(w, first.username)).toEqual([previous.password, now.password]);
      w.clock.advance(HOUR);
      const [outcome] = await w.pass();
      expect(outcome!.cleanups).toEqual([expect.objectContaining({ revoke: 'done', errorCode: null })]);
      expect(active(w, first.username)).toEqual([now.password]);
      previous = now;
    }
  });

  it('a rotation during the grace is refused by the key limit and changes nothing; after the cleanup it goes through', async () => {
    // One attempt: the refused run fails for good at once (with retries, the cleanup waits until it does).
    w = await cleanupWorld('http-api-key', 'dual-key', '{ every: 90d, grace: 1h }\n    rotation: { attempts: 1 }');
    const first = await w.cred('current');
    expect((await w.engine.rotate('app/db')).status).toBe('done');
    const second = await w.cred('current');
    const refused = await w.engine.rotate('app/db');
    expect(refused).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_KEY_LIMIT' });
    expect(await w.cred('current')).toEqual(second);
    expect(await w.kt.store.get('app/db', { stage: 'pending' })).toBeNull();
    expect(active(w, first.username)).toEqual([first.password, second.password]);

    w.clock.advance(HOUR);
    await w.pass();
    expect(active(w, first.username)).toEqual([second.password]);
    expect((await w.engine.rotate('app/db')).status).toBe('done');
    const third = await w.cred('current');
    expect(active(w, first.username)).toEqual([second.password, third.password]);
  });

  it('a run that fails after adding its key takes it back: the account keeps only what the store holds', async () => {
    w = await cleanupWorld('http-api-key', 'dual-key', '{ every: 90d, grace: 1h }');
    const first = await w.cred('current');
    const failing = engineWith(w.kt, undefined, { applied: refusedOnce(w.kt.state), audit: engineAuditPort(w.kt.audit, defaultContext()), clock: w.clock });
    const run = await failing.rotate('app/db');
    expect(run.status).not.toBe('done');
    expect(await w.kt.store.get('app/db', { stage: 'pending' })).toBeNull();
    expect(await w.cred('current')).toEqual(first);
    expect(active(w, first.username)).toEqual([first.password]);
    const rollback = (await failing.runs.steps(run.id)).find((s) => s.step === 'rollback');
    expect(rollback?.detail).toContain('its key revoked on the target');
  });
});
