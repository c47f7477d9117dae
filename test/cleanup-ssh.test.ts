/**
 * The dual-key strategy on the ssh target (the test process's own sshd): a rotation appends the
 * new public key to the account's authorized_keys, so both private keys log in until the cleanup
 * after `grace` revokes the old one (its line removed); authorized_keys holds only keys the store
 * holds throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyOf } from '../src/targets/ssh/keys.js';
import { cleanupWorld, expectOldEndsAfterGrace, type CleanupWorld } from './helpers/cleanup-world.js';

let w: CleanupWorld<'ssh'> | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('dual-key on SSH', () => {
  it('the old key keeps logging in next to the new one until grace, then the cleanup removes its line', async () => {
    w = await cleanupWorld('ssh', 'dual-key', '{ every: 90d, grace: 1h }');
    const { first, current } = await expectOldEndsAfterGrace(w);
    expect(w.fx.target.authorizedKeys(first.username)).toEqual([(await publicKeyOf(current.password)).line]);
  });
});
