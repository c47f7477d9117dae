/**
 * The dual-key strategy against the real Redis (6379), whose ACL users hold several passwords: a
 * rotation adds the new password next to the old one, so both log in until the cleanup after
 * `grace` revokes the old one (by its hash: the password itself is not sent); a failed run takes
 * back the password it added; with a `grace` of null the old key works until a later rotation
 * pushes its version out of `previous`. After each step the user's passwords on the server are
 * compared with what the store holds: never one it does not know.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { engineAuditPort } from '../src/audit/hooks.js';
import { defaultContext } from '../src/audit/context.js';
import { cleanupWorld, expectOldEndsAfterGrace, type CleanupWorld } from './helpers/cleanup-world.js';
import { engineWith, refusedOnce } from './helpers/engines.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let w: CleanupWorld<'redis'> | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The SHA-256 of each password the user has on the server, sorted. */
async function onServer(world: CleanupWorld<'redis'>, username: string): Promise<string[]> {
  return [...(await world.fx.target.passwordHashes(username))].sort();
}

describe('dual-key on Redis', () => {
  it('the old password keeps working next to the new one until grace, then only the new one logs in', async () => {
    w = await cleanupWorld('redis', 'dual-key', '{ every: 90d, grace: 1h }');
    const { first, current } = await expectOldEndsAfterGrace(w);
    expect(await onServer(w, first.username)).toEqual([sha(current.password)]);
  });

  it('a run that fails after adding its password takes it back: the user keeps only what the store holds', async () => {
    w = await cleanupWorld('redis', 'dual-key', '{ every: 90d, grace: 1h }');
    const first = await w.cred('current');
    const failing = engineWith(w.kt, undefined, { applied: refusedOnce(w.kt.state), audit: engineAuditPort(w.kt.audit, defaultContext()), clock: w.clock });
    const run = await failing.rotate('app/db');
    expect(run.status).not.toBe('done');
    expect(await w.kt.store.get('app/db', { stage: 'pending' })).toBeNull();
    expect(await w.cred('current')).toEqual(first);
    expect(await onServer(w, first.username)).toEqual([sha(first.password)]);
    const rollback = (await failing.runs.steps(run.id)).find((s) => s.step === 'rollback');
    expect(rollback?.detail).toContain('its key revoked on the target');
  });

  it('with grace null the old key works until a later rotation replaces it, then the cleanup revokes it', async () => {
    w = await cleanupWorld('redis', 'dual-key', '{ every: 90d, retainPrevious: 1d }');
    const v1 = await w.cred('current');
    await w.engine.rotate('app/db');
    const v2 = await w.cred('current');
    // Past retainPrevious, v1 is still previous: its key keeps working.
    w.clock.advance(2 * DAY);
    await w.pass();
    expect(await w.fx.logsIn(v1)).toBe(true);
    await w.engine.rotate('app/db');
    const v3 = await w.cred('current');
    // v1 holds no stage now: the next look revokes its key; v2 (previous) keeps working.
    w.clock.advance(2 * DAY);
    await w.pass();
    expect(await w.fx.logsIn(v1)).toBe(false);
    expect(await w.fx.logsIn(v2)).toBe(true);
    expect(await onServer(w, v1.username)).toEqual([sha(v2.password), sha(v3.password)].sort());
  });
});
