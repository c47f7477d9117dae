/**
 * The keyless forgery of the audit log's unsigned rows (hardening issue, item 9): someone with
 * write access to the state database and no key rewrites the events no checkpoint covers yet,
 * re-links them and recomputes the head row with public SHA-256 only. The leaf and head MACs
 * (src/audit/mac.ts) make the next append and checkpoint refuse it, so no checkpoint is ever
 * signed over it, and `audit verify` names the damage. On SQLite (rows rewritten through
 * node:sqlite) and PostgreSQL (through plain SQL), through the API and the CLI; plus the
 * upgrade of a log written before the MAC key.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../src/audit/event.js';
import { loadAuditKeys } from '../src/audit/keys.js';
import { AuditLog } from '../src/audit/log.js';
import { leafMac } from '../src/audit/mac.js';
import { CompactRange, leafHash } from '../src/audit/merkle.js';
import { verifyStoredLog } from '../src/audit/stored-verify.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import { runCli } from './helpers/cli.js';
import { postgresState, sqliteState, tempDir, type TestState } from './helpers/state.js';

const CTX = { actor: 'user:alice', source: 'test', correlationId: 'req-1' };

interface Row {
  seq: number;
  leaf: string;
}
interface Forged {
  leaves: { seq: number; id: string; leaf: string; leafHash: string }[];
  head: { size: number; prev: string; nodes: string };
}

/**
 * What a keyless attacker computes: entry `at` rewritten (its actor), every later entry re-linked
 * to it, and the head's size, last hash and compact range recomputed, all with public SHA-256.
 */
function forge(rows: readonly Row[], at: number): Forged {
  const range = new CompactRange();
  const leaves: Forged['leaves'] = [];
  let prev = '';
  for (const row of rows) {
    let leaf = row.leaf;
    if (row.seq >= at) {
      const event = decodeEvent(Buffer.from(leaf, 'utf8'));
      leaf = encodeEvent({ ...event, prev: row.seq === 0 ? event.prev : prev, actor: row.seq === at ? 'user:mallory' : event.actor }).toString('utf8');
    }
    const hash = leafHash(Buffer.from(leaf, 'utf8'));
    range.append(hash);
    prev = hash.toString('hex');
    if (row.seq >= at) leaves.push({ seq: row.seq, id: `ev_${row.seq}_${prev.slice(0, 12)}`, leaf, leafHash: hash.toString('base64') });
  }
  return { leaves, head: { size: rows.length, prev, nodes: Buffer.concat(range.nodes()).toString('base64') } };
}

/** Applies a forgery through node:sqlite on the database file, outside Keyturn. */
function applySqlite(file: string, forged: Forged, withLeaves = true): void {
  const db = new DatabaseSync(file);
  try {
    if (withLeaves) {
      const set = db.prepare('UPDATE audit_leaves SET id = ?, leaf = ?, leaf_hash = ? WHERE seq = ?');
      for (const l of forged.leaves) set.run(l.id, l.leaf, l.leafHash, l.seq);
    }
    db.prepare('UPDATE audit_head SET size = ?, prev = ?, nodes = ? WHERE id = 1').run(forged.head.size, forged.head.prev, forged.head.nodes);
  } finally {
    db.close();
  }
}

function sqliteRows(file: string): Row[] {
  const db = new DatabaseSync(file);
  try {
    return db.prepare('SELECT seq, leaf FROM audit_leaves ORDER BY seq').all() as unknown as Row[];
  } finally {
    db.close();
  }
}

describe.each([
  ['SQLite', sqliteState],
  ['PostgreSQL', postgresState],
] as const)('keyless forgery of the uncovered audit rows on %s', (_name, make) => {
  let t: TestState & { file?: string };
  let clock: ManualClock;
  let audit: AuditLog;
  beforeEach(async () => {
    clock = manualClock();
    t = await make(clock);
    // A checkpoint every 100 events: the 8 events after audit.init stay uncovered.
    audit = await AuditLog.open(t.state, t.ring, { clock, context: CTX, checkpointEvery: 100, checkpointSeconds: 3600 });
    for (let i = 0; i < 8; i++) await audit.append({ action: 'secret.read', outcome: 'success', path: `app/s${i}` });
  });
  afterEach(async () => t.close());

  async function rows(): Promise<Row[]> {
    if (t.file !== undefined) return sqliteRows(t.file);
    return (await t.state.db.selectFrom('audit_leaves').select(['seq', 'leaf']).orderBy('seq').execute()).map((r) => ({ seq: Number(r.seq), leaf: r.leaf }));
  }

  async function apply(forged: Forged, withLeaves = true): Promise<void> {
    if (t.file !== undefined) return applySqlite(t.file, forged, withLeaves);
    if (withLeaves) {
      for (const l of forged.leaves) await sql`UPDATE audit_leaves SET id = ${l.id}, leaf = ${l.leaf}, leaf_hash = ${l.leafHash} WHERE seq = ${l.seq}`.execute(t.state.db);
    }
    await sql`UPDATE audit_head SET size = ${forged.head.size}, prev = ${forged.head.prev}, nodes = ${forged.head.nodes} WHERE id = 1`.execute(t.state.db);
  }

  async function checkpointSizes(): Promise<number[]> {
    return (await audit.checkpoints()).map((c) => c.size);
  }

  it('normal appends, checkpoints (re-verifying the uncovered events) and verify pass', async () => {
    expect(await checkpointSizes()).toEqual([1]);
    const cp = await audit.checkpoint();
    expect(cp.size).toBe(9);
    for (let i = 0; i < 3; i++)
      await audit.appendBatch([
        { action: 'secret.put', outcome: 'success', path: 'a/b' },
        { action: 'secret.read', outcome: 'success', path: 'a/b' },
      ]);
    clock.advance(3600_000);
    expect(await audit.tick()).toMatchObject({ heartbeat: { seq: 15 }, checkpoint: 16 });
    expect(await checkpointSizes()).toEqual([1, 9, 16]);
    const stored = await t.state.db.selectFrom('audit_leaves').select(['seq', 'leaf_mac']).execute();
    expect(stored.every((r) => typeof r.leaf_mac === 'string' && r.leaf_mac.length === 44)).toBe(true);
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, size: 16, verifiedSize: 16, problems: [] });
  });

  it('uncovered rows written with v1 leaf MACs (by the version before v2) still verify, and a checkpoint is signed over them', async () => {
    const key = (await loadAuditKeys(t.state.db, t.ring))?.mac as Buffer;
    for (const r of await t.state.db.selectFrom('audit_leaves').select(['seq', 'leaf']).where('seq', '>=', 1).execute()) {
      await t.state.db
        .updateTable('audit_leaves')
        .set({ leaf_mac: leafMac(key, leafHash(Buffer.from(r.leaf, 'utf8'))) })
        .where('seq', '=', r.seq)
        .execute();
    }
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, size: 9, problems: [] });
    expect((await audit.checkpoint()).size).toBe(9);
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, size: 9, verifiedSize: 9, problems: [] });
  });

  it('a rewritten uncovered event and a recomputed head: the append and the checkpoint refuse, nothing is signed, verify names both', async () => {
    const pinned = audit.verifierKey;
    const trusted = (await audit.checkpoints())[0]?.note as string;
    await apply(forge(await rows(), 4));
    await expect(audit.append({ action: 'secret.put', outcome: 'success', path: 'x/y' })).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    await expect(audit.checkpoint()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    clock.advance(7200_000);
    await expect(audit.tick()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    // Another process (a fresh open) refuses it as well.
    const other = await AuditLog.open(t.state, t.ring, { clock, context: CTX, checkpointEvery: 1 });
    await expect(other.append({ action: 'secret.put', outcome: 'success', path: 'x/y' })).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    expect(await checkpointSizes()).toEqual([1]);
    expect((await audit.head()).size).toBe(9);
    // Verified with the pinned key and the checkpoint trusted from before: the forgery is named.
    const result = await verifyStoredLog(audit, { verifierKey: pinned, trusted });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      ...[4, 5, 6, 7, 8].map((seq) => expect.objectContaining({ kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED', index: seq, position: seq })),
      expect.objectContaining({ kind: 'head_forged', code: 'KT_AUDIT_HEAD_FORGED', size: 9 }),
    ]);
  });

  it('a forged head alone (events cut, head rewritten to match): refused, nothing signed, verify names the head', async () => {
    const kept = (await rows()).slice(0, 6);
    await t.state.db.deleteFrom('audit_leaves').where('seq', '>=', 6).execute();
    await apply(forge(kept, 100), false);
    await expect(audit.append({ action: 'secret.put', outcome: 'success', path: 'x/y' })).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    await expect(audit.checkpoint()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    expect(await checkpointSizes()).toEqual([1]);
    const result = await verifyStoredLog(audit);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'head_forged', code: 'KT_AUDIT_HEAD_FORGED', size: 6 })]);
  });

  it('a rewritten uncovered event under an untouched head: appends go on, but no checkpoint is signed over it', async () => {
    await apply({ ...forge(await rows(), 3), head: await headColumns() }, true);
    // The head still has its MAC: an append that signs nothing is allowed (and is not the forgery's).
    await audit.append({ action: 'secret.put', outcome: 'success', path: 'x/y' });
    await expect(audit.checkpoint()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_LEAF_CHANGED') && /event 3 /.test(e.message));
    expect(await checkpointSizes()).toEqual([1]);
    const result = await verifyStoredLog(audit);
    expect(result.problems.some((p) => p.kind === 'leaf_changed' && p.index === 3)).toBe(true);
  });

  it('two uncovered rows swapped whole (MACs and all): the checkpoint refuses, since they no longer lead to the head', async () => {
    const all = await t.state.db.selectFrom('audit_leaves').selectAll().where('seq', 'in', [3, 6]).orderBy('seq').execute();
    const [a, b] = all as [(typeof all)[number], (typeof all)[number]];
    for (const [seq, r] of [
      [3, b],
      [6, a],
    ] as const) {
      await t.state.db.updateTable('audit_leaves').set({ id: r.id, leaf: r.leaf, leaf_hash: r.leaf_hash, leaf_mac: r.leaf_mac }).where('seq', '=', seq).execute();
    }
    await expect(audit.checkpoint()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_HEAD_FORGED'));
    expect(await checkpointSizes()).toEqual([1]);
    expect((await verifyStoredLog(audit)).problems).toEqual([expect.objectContaining({ kind: 'leaves_swapped', indices: [3, 6] })]);
  });

  it('the process that wrote the rows checks them as stored: a rewritten MAC, leaf hash or text alone is refused before signing', async () => {
    // `audit` wrote events 1..8 and remembers them; each column changed on its own must still be caught.
    const [r4] = await t.state.db.selectFrom('audit_leaves').selectAll().where('seq', '=', 4).execute();
    const original = r4!;
    const other = (await t.state.db.selectFrom('audit_leaves').select('leaf_mac').where('seq', '=', 5).executeTakeFirstOrThrow()).leaf_mac;
    const changes = [{ leaf_mac: other }, { leaf_hash: leafHash(Buffer.from('x')).toString('base64') }, { leaf: original.leaf.replace('app/s3', 'app/s9') }];
    for (const change of changes) {
      await t.state.db.updateTable('audit_leaves').set(change).where('seq', '=', 4).execute();
      await expect(audit.checkpoint()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_LEAF_CHANGED') && /event 4 /.test(e.message));
      await t.state.db.updateTable('audit_leaves').set({ leaf: original.leaf, leaf_hash: original.leaf_hash, leaf_mac: original.leaf_mac }).where('seq', '=', 4).execute();
    }
    expect(await checkpointSizes()).toEqual([1]);
    // Put back as written, the rows check out and the checkpoint is signed.
    expect((await audit.checkpoint()).size).toBe(9);
  });

  async function headColumns(): Promise<Forged['head']> {
    const h = await t.state.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    return { size: Number(h.size), prev: h.prev, nodes: h.nodes };
  }

  it('a log from before the MAC key: the key is made on open, uncovered events signed as they are, then everything verifies', async () => {
    // What a database written by the previous version looks like: no MAC key, no MACs, no stored ranges.
    await t.state.db.deleteFrom('audit_keys').where('kind', '=', 'mac').execute();
    await t.state.db.updateTable('audit_leaves').set({ leaf_mac: null }).execute();
    await t.state.db.updateTable('audit_checkpoints').set({ nodes: null }).execute();
    await t.state.db.updateTable('audit_head').set({ head_mac: null }).execute();
    const upgraded = await AuditLog.open(t.state, t.ring, { clock, context: CTX, checkpointEvery: 100 });
    expect((await t.state.db.selectFrom('audit_keys').select('kind').execute()).map((k) => k.kind).sort()).toEqual(['hmac', 'mac', 'signer']);
    expect((await upgraded.checkpoints()).map((c) => c.size)).toEqual([1, 9]);
    await upgraded.append({ action: 'secret.put', outcome: 'success', path: 'x/y' });
    expect((await upgraded.checkpoint()).size).toBe(10);
    expect(await verifyStoredLog(upgraded)).toMatchObject({ ok: true, size: 10, verifiedSize: 10 });
    // Opening again does not upgrade again.
    await AuditLog.open(t.state, t.ring, { clock });
    expect((await t.state.db.selectFrom('audit_keys').select('kind').where('kind', '=', 'mac').execute()).length).toBe(1);
  });

  it('a MAC key deleted from a log written with it is not re-created (that would sign what a writer left): open refuses', async () => {
    await t.state.db.deleteFrom('audit_keys').where('kind', '=', 'mac').execute();
    await expect(AuditLog.open(t.state, t.ring, { clock })).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_KEY_MISSING'));
    expect(await checkpointSizes()).toEqual([1]);
  });
});

describe('keyless forgery through the CLI (SQLite home)', () => {
  let base: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  let trusted: string;
  beforeAll(async () => {
    base = tempDir();
    env = { KEYTURN_HOME: join(base.dir, 'home'), KEYTURN_AUDIT_CHECKPOINT_EVERY: '1000', KEYTURN_AUDIT_CHECKPOINT_SECONDS: '3600', KEYTURN_LOG_LEVEL: 'silent' };
    expect((await runCli(['init'], { env })).code).toBe(0);
    trusted = join(base.dir, 'trusted.checkpoint');
    expect((await runCli(['audit', 'verify', '--save-trusted', trusted], { env })).code).toBe(0);
    for (let i = 0; i < 4; i++) expect((await runCli(['secret', 'put', `app/s${i}`, '--value', `v${i}`], { env })).code).toBe(0);
  });
  afterAll(() => base.remove());

  it('the forged log is refused by the next write and checkpoint, and audit verify names the damage', async () => {
    const file = join(env.KEYTURN_HOME as string, 'keyturn.db');
    const before = sqliteRows(file);
    expect(before.length).toBeGreaterThan(4);
    const pubkey = (await runCli(['audit', 'pubkey'], { env })).stdout.trim();
    const at = before.length - 3;
    applySqlite(file, forge(before, at));

    const put = await runCli(['secret', 'put', 'app/after', '--value', 'v', '--json'], { env });
    expect(put.code).toBe(1);
    expect(JSON.parse(put.stderr).error.code).toBe('KT_AUDIT_HEAD_FORGED');
    const cp = await runCli(['audit', 'checkpoint', '--json'], { env });
    expect(cp.code).toBe(1);
    expect(JSON.parse(cp.stderr).error.code).toBe('KT_AUDIT_HEAD_FORGED');
    const db = new DatabaseSync(file);
    try {
      expect((db.prepare('SELECT max(size) AS size FROM audit_checkpoints').get() as { size: number }).size).toBe(1);
      expect((db.prepare("SELECT count(*) AS n FROM secrets WHERE path = 'app/after'").get() as { n: number } | undefined)?.n ?? 0).toBe(0);
    } finally {
      db.close();
    }

    const r = await runCli(['audit', 'verify', '--pubkey', pubkey, '--trusted', trusted, '--json'], { env });
    expect(r.code).toBe(1);
    const problems = (JSON.parse(r.stdout) as { problems: { kind: string; code: string; index?: number; size?: number }[] }).problems;
    expect(problems).toEqual([
      ...[at, at + 1, at + 2].map((index) => expect.objectContaining({ kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED', index })),
      expect.objectContaining({ kind: 'head_forged', code: 'KT_AUDIT_HEAD_FORGED', size: before.length }),
    ]);
    const human = await runCli(['audit', 'verify'], { env });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`KT_AUDIT_LEAF_CHANGED  leaf_changed  entry ${at} `);
    expect(human.stdout).toContain('KT_AUDIT_HEAD_FORGED  head_forged  ');
  });
});
