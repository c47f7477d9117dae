/**
 * The embedded store with the audit log, on SQLite and PostgreSQL: every write records its event
 * in its own transaction, every value read records `secret.read` before the value leaves, every
 * failure records its code; when the audit log cannot be written the write does not happen and
 * the read returns nothing (fail closed). The store contract still holds with audit on. The audit
 * wrapper any other store gets (src/stores/audited-store.ts) records the same events and keeps the
 * contract; it withholds reads too, but cannot undo a write it could not record.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent, type AuditEvent } from '../src/audit/event.js';
import { storeAuditHook, valueBytes } from '../src/audit/hooks.js';
import { AuditLog } from '../src/audit/log.js';
import { verifyStoredLog } from '../src/audit/stored-verify.js';
import { DAY_MS, manualClock, type ManualClock } from '../src/core/clock.js';
import { auditedStore } from '../src/stores/audited-store.js';
import type { StoreAuditHook } from '../src/stores/audit-hook.js';
import { EmbeddedStore } from '../src/stores/embedded/embedded-store.js';
import type { SecretStore } from '../src/stores/store.js';
import { expectCode, runStoreContract } from '../src/contracts/store-contract.js';
import { allowAuditInserts, auditTablesText, refuseAuditInserts } from './helpers/audit.js';
import { postgresState, sqliteState, type TestState } from './helpers/state.js';

const CTX = { actor: 'user:carol', source: 'api', correlationId: 'req-42' };

for (const [name, make] of [
  ['SQLite', sqliteState],
  ['PostgreSQL', postgresState],
] as const) {
  runStoreContract({
    name: `embedded with the audit log on ${name}`,
    make: async ({ clock, options }) => {
      const t = await make(clock);
      const audit = await AuditLog.open(t.state, t.ring, { clock, context: CTX });
      return { store: new EmbeddedStore(t.state, t.ring, { clock, ...options, audit: storeAuditHook(audit, CTX) }), close: t.close };
    },
  });
}

runStoreContract({
  name: 'the audit wrapper over an embedded store without a hook, on SQLite',
  make: async ({ clock, options }) => {
    const t = await sqliteState(clock);
    const audit = await AuditLog.open(t.state, t.ring, { clock, context: CTX });
    return { store: auditedStore(new EmbeddedStore(t.state, t.ring, { clock, ...options }), storeAuditHook(audit, CTX)), close: t.close };
  },
});

/** How a test's store records its events: the embedded store itself (in its transactions), or the audit wrapper any store gets. */
type Auditing = 'embedded' | 'wrapper';

function auditedOver(auditing: Auditing, t: TestState, clock: ManualClock, hook: StoreAuditHook): SecretStore {
  if (auditing === 'embedded') return new EmbeddedStore(t.state, t.ring, { clock, purgeProtection: false, audit: hook });
  return auditedStore(new EmbeddedStore(t.state, t.ring, { clock, purgeProtection: false }), hook);
}

describe.each([
  ['the audited embedded store on SQLite', sqliteState, 'embedded'],
  ['the audited embedded store on PostgreSQL', postgresState, 'embedded'],
  ['the audit wrapper over an embedded store without a hook, on SQLite', sqliteState, 'wrapper'],
] as const)('%s', (_name, make, auditing) => {
  let t: TestState;
  let clock: ManualClock;
  let audit: AuditLog;
  let store: SecretStore;
  let seen: number;
  beforeEach(async () => {
    clock = manualClock();
    t = await make(clock);
    audit = await AuditLog.open(t.state, t.ring, { clock, context: CTX });
    store = auditedOver(auditing, t, clock, storeAuditHook(audit, CTX));
    seen = (await audit.head()).size;
  });
  afterEach(async () => t.close());

  /** The events written since the last call. */
  async function newEvents(): Promise<AuditEvent[]> {
    const rows = await audit.between(seen);
    seen += rows.length;
    return rows.map((r) => decodeEvent(Buffer.from(r.leaf, 'utf8')));
  }

  it('records each write and read with path, version, outcome, who and the value HMAC, never the value', async () => {
    const marker = `MARKER-${randomBytes(12).toString('hex')}`;
    const v1 = await store.put('prod/db/app', { username: 'app', password: marker });
    const v2 = await store.put('prod/db/app', 'second', { stages: ['pending'] });
    await store.get('prod/db/app');
    await store.moveStage('prod/db/app', 'current', v2.id, v1.id);
    await store.setMetadata('prod/db/app', { owner: 'team-a' });
    await store.remove('prod/db/app');
    await store.restore('prod/db/app');
    await store.remove('prod/db/app');
    await store.purge('prod/db/app');
    const events = await newEvents();
    expect(events.map((e) => [e.action, e.outcome, e.path, e.versionId])).toEqual([
      ['secret.put', 'success', 'prod/db/app', v1.id],
      ['secret.put', 'success', 'prod/db/app', v2.id],
      ['secret.read', 'success', 'prod/db/app', v1.id],
      ['secret.stage.current', 'success', 'prod/db/app', v2.id],
      ['secret.metadata', 'success', 'prod/db/app', null],
      ['secret.delete', 'success', 'prod/db/app', null],
      ['secret.restore', 'success', 'prod/db/app', null],
      ['secret.delete', 'success', 'prod/db/app', null],
      ['secret.purge', 'success', 'prod/db/app', null],
    ]);
    for (const e of events) expect(e).toMatchObject({ actor: 'user:carol', source: 'api', correlationId: 'req-42', errorCode: null });
    expect(events[0]!.valueHmac).toBe(audit.hash(valueBytes({ password: marker, username: 'app' })));
    expect(events[1]!.valueHmac).toBe(audit.hash('second'));
    expect(events.slice(2).every((e) => e.valueHmac === null)).toBe(true);
    expect(await auditTablesText(t.state)).not.toContain(marker);
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true });
  });

  it('records failures with their code, outside the rolled-back write, and never an invalid path', async () => {
    await store.put('a/b', 'v');
    await newEvents();
    await expectCode(() => store.restore('a/b'), 'KT_SECRET_NOT_DELETED');
    await expectCode(() => store.get('a/b', { versionId: 'nope' }), 'KT_VERSION_NOT_FOUND');
    expect(await store.get('no/such')).toBeNull();
    expect(await store.get('a/b', { stage: 'pending' })).toBeNull();
    await expectCode(() => store.put('bad//path', 'v'), 'KT_PATH_EMPTY_SEGMENT');
    await expectCode(() => store.moveStage('a/b', 'current', 'nope', null), 'KT_VERSION_NOT_FOUND');
    expect((await newEvents()).map((e) => [e.action, e.outcome, e.errorCode, e.path])).toEqual([
      ['secret.restore', 'failure', 'KT_SECRET_NOT_DELETED', 'a/b'],
      ['secret.read', 'failure', 'KT_VERSION_NOT_FOUND', 'a/b'],
      ['secret.read', 'failure', 'KT_SECRET_NOT_FOUND', 'no/such'],
      ['secret.read', 'failure', 'KT_STAGE_NOT_SET', 'a/b'],
      ['secret.put', 'failure', 'KT_PATH_EMPTY_SEGMENT', null],
      ['secret.stage.current', 'failure', 'KT_VERSION_NOT_FOUND', 'a/b'],
    ]);
  });

  // The same-transaction path: the event commits with the write or neither does.
  if (auditing === 'embedded') {
    it('records one purge event per secret purged by purgeExpired, in its transaction', async () => {
      await store.put('x/one', '1');
      await store.put('x/two', '2');
      await store.remove('x/one', { recoveryDays: 7 });
      await store.remove('x/two', { recoveryDays: 7 });
      await newEvents();
      clock.advance(8 * DAY_MS);
      expect(await (store as EmbeddedStore).purgeExpired()).toEqual(['x/one', 'x/two']);
      expect((await newEvents()).map((e) => [e.action, e.path])).toEqual([
        ['secret.purge', 'x/one'],
        ['secret.purge', 'x/two'],
      ]);
    });

    it('fails closed: with the audit log refusing writes, a put reports failure and stores nothing', async () => {
      await store.put('keep/me', 'old');
      await refuseAuditInserts(t.state);
      await expectCode(() => store.put('new/secret', 'value'), 'KT_AUDIT_WRITE_FAILED');
      await expectCode(() => store.put('keep/me', 'new'), 'KT_AUDIT_WRITE_FAILED');
      await expectCode(() => store.remove('keep/me'), 'KT_AUDIT_WRITE_FAILED');
      // Reads are refused too: the value never leaves without its access event.
      await expectCode(() => store.get('keep/me'), 'KT_AUDIT_WRITE_FAILED');
      await allowAuditInserts(t.state);
      expect(await store.describe('new/secret')).toBeNull();
      const kept = await store.get('keep/me');
      expect(kept).toMatchObject({ value: 'old', number: 1 });
      expect((await store.describe('keep/me'))?.deletedAt).toBeNull();
      expect(await verifyStoredLog(audit)).toMatchObject({ ok: true });
    });

    it('fails closed when the hook itself throws: the write rolls back', async () => {
      const failing = new EmbeddedStore(t.state, t.ring, {
        clock,
        audit: { record: async () => Promise.reject(new Error('hook down')), hashValue: () => 'hmac-sha256:hk_x:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
      });
      await expect(failing.put('hook/fail', 'v')).rejects.toBeTruthy();
      expect(await store.describe('hook/fail')).toBeNull();
    });
  }

  if (auditing === 'wrapper') {
    it('fails closed on reads: with the audit log refusing writes, the value is not returned; a write is reported failed, though the store made it', async () => {
      await store.put('keep/me', 'old');
      await refuseAuditInserts(t.state);
      await expectCode(() => store.get('keep/me'), 'KT_AUDIT_WRITE_FAILED');
      await expectCode(() => store.put('keep/me', 'new'), 'KT_AUDIT_WRITE_FAILED');
      await allowAuditInserts(t.state);
      // Outside a shared transaction the write cannot be undone; the caller was told it is not known to be recorded.
      expect((await store.get('keep/me'))?.number).toBe(2);
      expect(await verifyStoredLog(audit)).toMatchObject({ ok: true });
    });
  }
});
