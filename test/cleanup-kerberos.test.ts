/**
 * dual-key on the MIT KDC of this test process (test/helpers/kdc.ts), through the engine and the
 * scheduler's cleanup pass: a rotation adds the new password's keys as a new kvno and keeps the
 * old kvno (which gets no ticket from MIT's KDC any more, but stays held for the tickets issued
 * under it), the cleanup after `grace` purges it, and a run that fails after adding its key
 * cannot take the newest kvno back (MIT has no such operation): its pending version is kept so
 * the store knows every key, and the next rotation settles it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engineAuditPort } from '../src/audit/hooks.js';
import { defaultContext } from '../src/audit/context.js';
import { cleanupWorld, type CleanupWorld } from './helpers/cleanup-world.js';
import { engineWith, refusedOnce } from './helpers/engines.js';

const HOUR = 3_600_000;

let w: CleanupWorld<'kerberos'> | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('dual-key on MIT Kerberos', () => {
  it('the old kvno is held until grace, then the cleanup purges it; the principal keeps only keys the store holds', async () => {
    w = await cleanupWorld('kerberos', 'dual-key', '{ every: 90d, grace: 1h }');
    const first = await w.cred('current');
    const run = await w.engine.rotate('app/db');
    expect(run.status).toBe('done');
    const current = await w.cred('current');
    expect(current.username).toBe(first.username);
    expect(await w.fx.target.kvnos(first.username)).toEqual([2, 1]);
    // MIT: only the newest kvno's password gets a ticket.
    expect(await w.fx.logsIn(current)).toBe(true);
    expect(await w.fx.logsIn(first)).toBe(false);

    expect(await w.pass()).toEqual([]);
    expect(await w.fx.target.kvnos(first.username)).toEqual([2, 1]);
    w.clock.advance(HOUR);
    const [outcome] = await w.pass();
    expect(outcome!.cleanups).toEqual([expect.objectContaining({ revoke: 'done', purge: 'pending', errorCode: null })]);
    expect(await w.fx.target.kvnos(first.username)).toEqual([2]);
    expect(await w.fx.unknownKeys!(first.username, [current])).toEqual([]);
    expect(await w.fx.logsIn(current)).toBe(true);
    expect((await w.events('secret.cleanup')).map((e) => e.outcome)).toEqual(['intent', 'success']);
  });

  it('a run that fails after adding its key keeps it pending (the newest kvno cannot be taken back); the next rotation settles it', async () => {
    w = await cleanupWorld('kerberos', 'dual-key', '{ every: 90d, grace: 1h }');
    const first = await w.cred('current');
    const failing = engineWith(w.kt, undefined, { applied: refusedOnce(w.kt.state), audit: engineAuditPort(w.kt.audit, defaultContext()), clock: w.clock });
    const run = await failing.rotate('app/db');
    expect(run.status).toBe('retrying');
    const rollback = (await failing.runs.steps(run.id)).find((x) => x.step === 'rollback');
    expect(rollback?.detail).toContain('revoking the pending key of');
    expect(rollback?.detail).toContain('pending kept');
    const pending = await w.cred('pending');
    expect(await w.cred('current')).toEqual(first);
    expect(await w.fx.target.kvnos(first.username)).toEqual([2, 1]);
    // The gap this leaves (docs/targets/kerberos.md): until the retry, the current password gets no ticket, the pending one does.
    expect(await w.fx.logsIn(first)).toBe(false);
    expect(await w.fx.logsIn(pending)).toBe(true);
    const again = await w.engine.rotate('app/db');
    expect(again.status).toBe('done');
    const now = await w.cred('current');
    expect(now).toEqual(pending);
    expect(await w.kt.store.get('app/db', { stage: 'pending' })).toBeNull();
    expect(await w.fx.logsIn(now)).toBe(true);
    expect(await w.fx.unknownKeys!(first.username, [first, now])).toEqual([]);
  });
});
