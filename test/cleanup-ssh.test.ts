/**
 * The dual-key strategy on the ssh target (the test process's own sshd): a rotation appends the
 * new public key to the account's authorized_keys, so both private keys log in until the cleanup
 * after `grace` revokes the old one (its line removed); then authorized_keys holds only keys the
 * store holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupWorld, type CleanupWorld } from './helpers/cleanup-world.js';

const HOUR = 3_600_000;

let w: CleanupWorld<'ssh'> | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('dual-key on SSH', () => {
  it('the old key keeps logging in next to the new one until grace, then the cleanup removes its line', async () => {
    w = await cleanupWorld('ssh', 'dual-key', '{ every: 90d, grace: 1h }');
    const first = await w.cred('current');
    const run = await w.engine.rotate('app/db');
    expect(run.status).toBe('done');
    const current = await w.cred('current');
    expect(current.username).toBe(first.username);
    expect(await w.fx.logsIn(first)).toBe(true);
    expect(await w.fx.logsIn(current)).toBe(true);
    expect(w.fx.target.authorizedKeys(first.username)).toHaveLength(2);
    expect(await w.fx.unknownKeys!(first.username, [first, current])).toEqual([]);

    expect(await w.pass()).toEqual([]);
    w.clock.advance(HOUR);
    const [outcome] = await w.pass();
    expect(outcome!.cleanups).toEqual([expect.objectContaining({ revoke: 'done', errorCode: null })]);
    expect(await w.fx.logsIn(first)).toBe(false);
    expect(await w.fx.logsIn(current)).toBe(true);
    expect(w.fx.target.authorizedKeys(first.username)).toHaveLength(1);
    expect(await w.fx.unknownKeys!(first.username, [current])).toEqual([]);
    expect((await w.events('secret.cleanup')).map((e) => e.outcome)).toEqual(['intent', 'success']);
  });
});
