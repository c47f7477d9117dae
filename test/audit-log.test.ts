/**
 * The durable audit log on SQLite and PostgreSQL: initialization (sealed keys, origin, first
 * event and checkpoint), appends that commit or roll back with the caller's transaction, the
 * checkpoint policy (every N events, every T seconds), the idle heartbeat, concurrent appenders,
 * HMAC keys and their rotation, inclusion proofs and partial exports verified offline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCheckpointUnverified } from '../src/audit/checkpoint.js';
import { decodeEvent } from '../src/audit/event.js';
import { parseExport, verifyExport, writeExport } from '../src/audit/export.js';
import { AuditLog } from '../src/audit/log.js';
import { leafHash } from '../src/audit/merkle.js';
import { parseVerifierKey } from '../src/audit/note-key.js';
import { verifyTlogProof } from '../src/audit/proof.js';
import { proveEvent } from '../src/audit/prove.js';
import { verifyStoredLog } from '../src/audit/stored-verify.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import { openState } from '../src/state/db.js';
import { refuseAuditInserts } from './helpers/audit.js';
import { PG_URL, postgresState, sqliteState, tempDir, type TestState } from './helpers/state.js';

const CTX = { actor: 'user:alice', source: 'test', correlationId: 'req-1' };

describe.each([
  ['SQLite', sqliteState],
  ['PostgreSQL', postgresState],
] as const)('the audit log on %s', (_name, make) => {
  let t: TestState & { schema?: string; file?: string };
  let clock: ManualClock;
  let audit: AuditLog;
  beforeEach(async () => {
    clock = manualClock();
    t = await make(clock);
    audit = await AuditLog.open(t.state, t.ring, { clock, context: CTX, checkpointEvery: 10, checkpointSeconds: 60 });
  });
  afterEach(async () => t.close());

  it('initializes: sealed keys, an origin, an audit.init event and a signed checkpoint that verify', async () => {
    expect(audit.origin).toMatch(/^keyturn\.local\/[0-9a-f]{16}$/);
    expect(parseVerifierKey(audit.verifierKey).name).toBe(audit.origin);
    const keys = await t.state.db.selectFrom('audit_keys').selectAll().execute();
    expect(keys.map((k) => k.kind).sort()).toEqual(['hmac', 'mac', 'signer']);
    for (const k of keys) expect(k.sealed).not.toContain('PRIVATE');
    const [first] = await audit.tail(10);
    expect(decodeEvent(Buffer.from(first!.leaf))).toMatchObject({ seq: 0, action: 'audit.init', actor: 'user:alice', source: 'test', outcome: 'success' });
    expect((await audit.checkpoints()).map((c) => c.size)).toEqual([1]);
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, size: 1, verifiedSize: 1 });
    // Opening again (another process) neither re-initializes nor changes the keys.
    const again = await AuditLog.open(t.state, t.ring, { clock });
    expect(again.verifierKey).toBe(audit.verifierKey);
    expect((await again.head()).size).toBe(1);
  });

  it('refuses to re-key a log that has events when its keys are gone (fail closed)', async () => {
    await t.state.db.deleteFrom('audit_keys').execute();
    await expect(AuditLog.open(t.state, t.ring, { clock })).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_KEY_MISSING'));
    expect((await audit.head()).size).toBe(1);
  });

  it('an append inside a transaction commits with it, and vanishes with its rollback', async () => {
    await t.state.db.transaction().execute(async (trx) => {
      await trx.insertInto('kt_settings').values({ name: 'with-event', value: 'x' }).execute();
      await audit.append({ action: 'test.write', outcome: 'success', path: 'a/b' }, trx);
    });
    await expect(
      t.state.db.transaction().execute(async (trx) => {
        await trx.insertInto('kt_settings').values({ name: 'rolled-back', value: 'x' }).execute();
        await audit.append({ action: 'test.write', outcome: 'success', path: 'a/c' }, trx);
        throw new Error('the write fails after its event was appended');
      }),
    ).rejects.toThrow('the write fails');
    const names = (await t.state.db.selectFrom('kt_settings').select('name').execute()).map((r) => r.name);
    expect(names).toContain('with-event');
    expect(names).not.toContain('rolled-back');
    const after = await audit.append({ action: 'test.write', outcome: 'success', path: 'a/d' });
    expect(after.seq).toBe(2);
    const paths = (await audit.tail(10)).map((r) => decodeEvent(Buffer.from(r.leaf)).path);
    expect(paths).toEqual([null, 'a/b', 'a/d']);
    expect((await verifyStoredLog(audit)).ok).toBe(true);
  });

  it('signs a checkpoint every N events and after T seconds, from the head', async () => {
    await audit.appendBatch(Array.from({ length: 25 }, (_, i) => ({ action: 'test.batch', outcome: 'success' as const, versionId: `v${i}` })));
    // One transaction: one checkpoint at its end (size 26 is 25 past the last at 1).
    expect((await audit.checkpoints()).map((c) => c.size)).toEqual([1, 26]);
    for (let i = 0; i < 9; i++) await audit.append({ action: 'test.one', outcome: 'success' });
    expect((await audit.checkpoints()).map((c) => c.size)).toEqual([1, 26]);
    await audit.append({ action: 'test.one', outcome: 'success' });
    expect((await audit.checkpoints()).map((c) => c.size)).toEqual([1, 26, 36]);
    await audit.append({ action: 'test.one', outcome: 'success' });
    clock.advance(61_000);
    await audit.append({ action: 'test.one', outcome: 'success' });
    expect((await audit.checkpoints()).map((c) => c.size)).toEqual([1, 26, 36, 38]);
    const result = await verifyStoredLog(audit);
    expect(result).toMatchObject({ ok: true, size: 38, verifiedSize: 38, validCheckpoints: 4 });
  });

  it('tick: a heartbeat leaf and a checkpoint after T seconds of quiet, nothing before', async () => {
    await audit.append({ action: 'test.one', outcome: 'success' });
    clock.advance(30_000);
    expect(await audit.tick()).toEqual({ heartbeat: null, checkpoint: null });
    clock.advance(31_000);
    const r = await audit.tick();
    expect(r.heartbeat?.seq).toBe(2);
    expect(r.checkpoint).toBe(3);
    const beat = decodeEvent(Buffer.from((await audit.find(r.heartbeat!.id))!.leaf));
    expect(beat).toMatchObject({ action: 'audit.heartbeat', actor: 'system:audit', time: new Date(clock.now()).toISOString() });
    expect((await audit.latestCheckpoint())?.size).toBe(3);
    // Quiet again for an hour: one heartbeat per tick that finds it quiet, each signed.
    clock.advance(3_600_000);
    expect((await audit.tick()).heartbeat?.seq).toBe(3);
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, verifiedSize: 4 });
  });

  it('HMAC: hmac-sha256:<key id>:<base64>, not the signing key, rotatable with old hashes still known', async () => {
    const h1 = audit.hash('hunter2');
    expect(h1).toMatch(/^hmac-sha256:hk_[0-9a-f]{8}:[A-Za-z0-9+/]{43}=$/);
    expect(audit.hash('hunter2')).toBe(h1);
    expect(audit.hash('hunter3')).not.toBe(h1);
    await audit.append({ action: 'test.put', outcome: 'success', valueHmac: h1 });
    const oldId = audit.hmacKeyId;
    const newId = await audit.rotateHmacKey();
    expect(newId).not.toBe(oldId);
    const h2 = audit.hash('hunter2');
    expect(h2.startsWith(`hmac-sha256:${newId}:`)).toBe(true);
    expect(audit.hashAll('hunter2')).toEqual([h2, h1]);
    const reopened = await AuditLog.open(t.state, t.ring, { clock });
    expect(reopened.hashAll('hunter2')).toEqual([h2, h1]);
  });

  it('proves an event with a C2SP tlog-proof that verifies with the public key', async () => {
    const appended = await audit.appendBatch(Array.from({ length: 13 }, () => ({ action: 'test.one', outcome: 'success' as const })));
    const target = appended[6]!;
    const { proof, row, checkpoint } = await proveEvent(audit, target.id);
    expect(row.seq).toBe(7);
    expect(checkpoint.size).toBe(14);
    const ok = verifyTlogProof(proof, leafHash(Buffer.from(row.leaf)), parseVerifierKey(audit.verifierKey), { origin: audit.origin });
    expect(ok.index).toBe(7);
    expect((await proveEvent(audit, '7')).row.id).toBe(target.id);
    expect(target.id).toMatch(/^ev_7_[0-9a-f]{12}$/);
    // An id whose hash part does not match the row at its seq names no event.
    await expect(proveEvent(audit, `ev_7_${target.id.endsWith('0') ? '1'.repeat(12) : '0'.repeat(12)}`)).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_EVENT_NOT_FOUND'));
    await expect(proveEvent(audit, 'ev_999_000000000000')).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_EVENT_NOT_FOUND'));
  });

  it('exports a part of the log that verifies offline from its prefix, and proves a trusted checkpoint is extended', async () => {
    const tmp = tempDir();
    try {
      await audit.appendBatch(Array.from({ length: 30 }, () => ({ action: 'test.one', outcome: 'success' as const })));
      const trusted = await audit.checkpoint();
      await audit.appendBatch(Array.from({ length: 17 }, () => ({ action: 'test.two', outcome: 'success' as const })));
      const file = join(tmp.dir, 'part.jsonl');
      const summary = await writeExport(audit, { from: trusted.size }, file);
      expect(summary).toMatchObject({ first: 31, events: 17, checkpointSize: 48 });
      const parsed = parseExport(readFileSync(file, 'utf8'));
      expect(parsed.prefix.size).toBe(31);
      expect(verifyExport(parsed, audit.verifierKey, trusted.note)).toMatchObject({ ok: true, size: 48, verifiedSize: 48 });
      // A changed byte in the part is named with its absolute index.
      const changed = { ...parsed, leaves: parsed.leaves.map((l, i) => (i === 4 ? Buffer.from(l.toString().replace('test.two', 'test.twx')) : l)) };
      expect(verifyExport(changed, audit.verifierKey).problems).toEqual([expect.objectContaining({ kind: 'leaf_changed', index: 35 })]);
      // A trusted checkpoint from before the part cannot be checked with it.
      const older = (await audit.checkpoints())[0]!;
      expect(verifyExport(parsed, audit.verifierKey, older.note).problems).toEqual([expect.objectContaining({ kind: 'trusted_invalid', code: 'KT_AUDIT_TRUSTED_NOT_COVERED' })]);
      expect(readCheckpointUnverified(parsed.checkpoints.at(-1)!).size).toBe(48);
    } finally {
      tmp.remove();
    }
  });

  it('serializes concurrent appenders from two connections without a gap or a duplicate', async () => {
    // A second connection to the same database: the same file on SQLite, the same schema on PostgreSQL.
    const other = t.file !== undefined ? await openState({ sqliteFile: t.file }) : await openState({ url: PG_URL, pgSchema: t.schema as string });
    try {
      const second = await AuditLog.open(other, t.ring, { clock, context: { ...CTX, actor: 'user:bob' } });
      const runs = [audit, second].flatMap((log) => Array.from({ length: 20 }, (_, i) => log.append({ action: 'test.race', outcome: 'success', versionId: `v${i}` })));
      const appended = await Promise.all(runs);
      expect(appended.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, size: 41 });
    } finally {
      await other.close();
    }
  });

  it('fails closed: when the leaves table refuses rows, the append and its transaction fail with KT_AUDIT_WRITE_FAILED', async () => {
    await refuseAuditInserts(t.state);
    await expect(
      t.state.db.transaction().execute(async (trx) => {
        await trx.insertInto('kt_settings').values({ name: 'guarded', value: 'x' }).execute();
        await audit.append({ action: 'test.write', outcome: 'success' }, trx);
      }),
    ).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_WRITE_FAILED'));
    expect(await t.state.db.selectFrom('kt_settings').select('name').where('name', '=', 'guarded').executeTakeFirst()).toBeUndefined();
    expect((await audit.head()).size).toBe(1);
  });
});
