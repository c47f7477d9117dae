/**
 * The audit log's rows in the state database: the head (locked for appending), leaves,
 * checkpoints, and the origin setting. SQL only; what the rows mean is log.ts's business.
 *
 * Binary values are base64 text and times epoch milliseconds, as everywhere in the state
 * database. On PostgreSQL the head row is read `FOR UPDATE`, so appenders in several processes
 * take turns; on SQLite every transaction is already `begin immediate`.
 *
 * @example
 * ```ts
 * await state.db.transaction().execute(async (trx) => {
 *   const head = await readHead(trx, state, true);
 *   await insertLeaves(trx, state, rows);
 *   await writeHead(trx, state, { ...head, size: head.size + rows.length });
 * });
 * ```
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { KeyturnError } from '../core/errors.js';
import type { Dialect, StateDb } from '../state/db.js';
import type { AuditCheckpointsTable, AuditLeavesTable, Schema } from '../state/schema.js';
import { HASH_SIZE } from './merkle.js';
import { prepared } from '../state/prepared.js';

type Db = Kysely<Schema> | Transaction<Schema>;
/** The state database, as far as the head's statements need it (its dialect; on SQLite its connection). */
type On = Pick<StateDb, 'dialect' | 'sqlite'>;

/** The appender's resume point, as stored in `audit_head`. */
export interface Head {
  readonly size: number;
  /** Hex leaf hash of the last event (64 zeros when empty). */
  readonly prev: string;
  /** Compact range subtree roots, largest first. */
  readonly nodes: readonly Buffer[];
  readonly lastEventAt: number | null;
  readonly checkpointSize: number;
  readonly checkpointAt: number | null;
  /** The row's MAC under the audit MAC key (mac.ts); null before the key existed. */
  readonly mac: string | null;
}

export type LeafRow = AuditLeavesTable;
export type CheckpointRow = AuditCheckpointsTable;

const ORIGIN_SETTING = 'audit.origin';
/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 1000;

/** Reads the head; inside a transaction on PostgreSQL, locks it until commit. */
export async function readHead(db: Db, on: On, lock: boolean): Promise<Head> {
  const row = await (lock && on.dialect === 'postgres' ? headForUpdate : headRow).first(on, db, {});
  if (row === undefined) throw new KeyturnError('KT_AUDIT_WRITE_FAILED', 'the audit head row (audit_head id 1) is missing');
  const nodes = splitNodes(row.nodes);
  if (nodes === null) throw new KeyturnError('KT_AUDIT_WRITE_FAILED', 'the audit head row has a malformed compact range');
  return {
    size: Number(row.size),
    prev: row.prev,
    nodes,
    lastEventAt: row.last_event_at === null ? null : Number(row.last_event_at),
    checkpointSize: Number(row.checkpoint_size),
    checkpointAt: row.checkpoint_at === null ? null : Number(row.checkpoint_at),
    mac: row.head_mac ?? null,
  };
}

/** Writes the head with its MAC (`head.mac`); the caller's transaction decides whether it sticks. */
export async function writeHead(trx: Transaction<Schema>, on: On, head: Head): Promise<void> {
  await updateHead.execute(on, trx, {
    size: head.size,
    prev: head.prev,
    nodes: Buffer.concat(head.nodes).toString('base64'),
    last_event_at: head.lastEventAt,
    checkpoint_size: head.checkpointSize,
    checkpoint_at: head.checkpointAt,
    head_mac: head.mac,
  });
}

// The head's statements run on every append: compiled once (../state/prepared.ts).
const headRow = prepared((db) => db.selectFrom('audit_head').selectAll().where('id', '=', 1));
const headForUpdate = prepared((db) => db.selectFrom('audit_head').selectAll().where('id', '=', 1).forUpdate());
const HEAD_COLUMNS = ['size', 'prev', 'nodes', 'last_event_at', 'checkpoint_size', 'checkpoint_at', 'head_mac'] as const;
const updateHead = prepared((db, p) =>
  db
    .updateTable('audit_head')
    .set(Object.fromEntries(HEAD_COLUMNS.map((c) => [c, p(c)])))
    .where('id', '=', 1),
);

const LEAF_COLUMNS = ['seq', 'id', 'leaf', 'leaf_hash', 'time', 'leaf_mac'] as const;
/** INSERT text by dialect and row count (the hot path: built once, not by the query builder per batch). */
const insertText = new Map<string, string>();

function insertLeavesSql(dialect: Dialect, n: number): string {
  const k = `${dialect}:${n}`;
  let text = insertText.get(k);
  if (text === undefined) {
    const w = LEAF_COLUMNS.length;
    const tuple = (r: number): string => `(${LEAF_COLUMNS.map((_, c) => (dialect === 'postgres' ? `$${r * w + c + 1}` : '?')).join(', ')})`;
    text = `insert into "audit_leaves" (${LEAF_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${Array.from({ length: n }, (_, r) => tuple(r)).join(', ')}`;
    if (insertText.size > 64) insertText.clear();
    insertText.set(k, text);
  }
  return text;
}

/**
 * Inserts leaf rows, up to INSERT_CHUNK per statement (precompiled text, one parameter array). On
 * SQLite the transaction holds the one connection, so the statement runs on it directly, as
 * ../state/prepared.ts runs its statements.
 */
export async function insertLeaves(trx: Transaction<Schema>, on: On, rows: readonly LeafRow[]): Promise<void> {
  const dialect = on.dialect;
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const params: unknown[] = new Array<unknown>(chunk.length * LEAF_COLUMNS.length);
    let j = 0;
    for (const r of chunk) {
      params[j++] = r.seq;
      params[j++] = r.id;
      params[j++] = r.leaf;
      params[j++] = r.leaf_hash;
      params[j++] = r.time;
      params[j++] = r.leaf_mac ?? null;
    }
    const text = insertLeavesSql(dialect, chunk.length);
    if (on.sqlite !== undefined && trx.isTransaction) on.sqlite.prepare(text).run(params);
    else await trx.executeQuery(CompiledQuery.raw(text, params));
  }
}

export async function insertCheckpoint(trx: Transaction<Schema>, row: CheckpointRow): Promise<void> {
  await trx.insertInto('audit_checkpoints').values(row).execute();
}

/** The checkpoint stored at exactly this size, or null. */
export async function checkpointAt(db: Db, size: number): Promise<CheckpointRow | null> {
  const row = await db.selectFrom('audit_checkpoints').selectAll().where('size', '=', size).executeTakeFirst();
  return row === undefined ? null : { ...row, size: Number(row.size), created_at: Number(row.created_at) };
}

/** Records the compact range of a checkpoint signed before they were stored. */
export async function setCheckpointNodes(trx: Transaction<Schema>, size: number, nodes: readonly Buffer[]): Promise<void> {
  await trx
    .updateTable('audit_checkpoints')
    .set({ nodes: Buffer.concat(nodes).toString('base64') })
    .where('size', '=', size)
    .execute();
}

/** Whether any leaf MAC or checkpoint compact range was ever stored (the MAC key was in use). */
export async function anyMacWritten(db: Db): Promise<boolean> {
  const leaf = await db.selectFrom('audit_leaves').select('seq').where('leaf_mac', 'is not', null).limit(1).executeTakeFirst();
  if (leaf !== undefined) return true;
  const cp = await db.selectFrom('audit_checkpoints').select('size').where('nodes', 'is not', null).limit(1).executeTakeFirst();
  return cp !== undefined;
}

/** Splits a base64 compact range (as stored in audit_head and audit_checkpoints) into nodes; null when malformed. */
export function splitNodes(b64: string): Buffer[] | null {
  const raw = Buffer.from(b64, 'base64');
  if (raw.length % HASH_SIZE !== 0) return null;
  const nodes: Buffer[] = [];
  for (let i = 0; i < raw.length; i += HASH_SIZE) nodes.push(raw.subarray(i, i + HASH_SIZE));
  return nodes;
}

/** The log's origin (`keyturn.local/<install id>`), or null before the log was initialized. */
export async function readOrigin(db: Db): Promise<string | null> {
  const row = await db.selectFrom('kt_settings').select('value').where('name', '=', ORIGIN_SETTING).executeTakeFirst();
  return row?.value ?? null;
}

export async function writeOrigin(trx: Transaction<Schema>, origin: string): Promise<void> {
  await trx.insertInto('kt_settings').values({ name: ORIGIN_SETTING, value: origin }).execute();
}

/** Leaves with seq in [from, to), in seq order. */
export async function leavesBetween(db: Db, from: number, to = Number.MAX_SAFE_INTEGER, limit?: number): Promise<LeafRow[]> {
  let query = db.selectFrom('audit_leaves').selectAll().where('seq', '>=', from).where('seq', '<', to).orderBy('seq');
  if (limit !== undefined) query = query.limit(limit);
  return normalizeLeaves(await query.execute());
}

/** The last `n` leaves, in seq order. */
export async function lastLeaves(db: Db, n: number): Promise<LeafRow[]> {
  const rows = await db.selectFrom('audit_leaves').selectAll().orderBy('seq', 'desc').limit(n).execute();
  return normalizeLeaves(rows.reverse());
}

/** The first seq whose event time is at or after `ms` (the log's size when there is none). */
export async function firstSeqAtOrAfter(db: Db, ms: number): Promise<number | null> {
  const row = await db
    .selectFrom('audit_leaves')
    .select((eb) => eb.fn.min('seq').as('seq'))
    .where('time', '>=', ms)
    .executeTakeFirst();
  return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
}

export async function leafBySeq(db: Db, seq: number): Promise<LeafRow | null> {
  const row = await db.selectFrom('audit_leaves').selectAll().where('seq', '=', seq).executeTakeFirst();
  return row === undefined ? null : (normalizeLeaves([row])[0] as LeafRow);
}

/** Every checkpoint, by size. */
export async function allCheckpoints(db: Db): Promise<CheckpointRow[]> {
  const rows = await db.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();
  return rows.map((r) => ({ ...r, size: Number(r.size), created_at: Number(r.created_at) }));
}

/** Checkpoints with size in [from, to], by size. */
export async function checkpointsBetween(db: Db, from: number, to: number): Promise<CheckpointRow[]> {
  const rows = await db.selectFrom('audit_checkpoints').selectAll().where('size', '>=', from).where('size', '<=', to).orderBy('size').execute();
  return rows.map((r) => ({ ...r, size: Number(r.size), created_at: Number(r.created_at) }));
}

/** The checkpoint with the largest size, or null. */
export async function latestCheckpoint(db: Db): Promise<CheckpointRow | null> {
  const row = await db.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
  return row === undefined ? null : { ...row, size: Number(row.size), created_at: Number(row.created_at) };
}

function normalizeLeaves(rows: LeafRow[]): LeafRow[] {
  for (const r of rows) {
    r.seq = Number(r.seq);
    r.time = Number(r.time);
  }
  return rows;
}

/** Rows per page when reading the whole log. */
const PAGE = 10_000;

/** The columns of a leaf row a check reads, in this order: seq, leaf text, leaf hash (base64), leaf MAC. */
export type LeafCheckRow = readonly [seq: number, leaf: string, leafHash: string, leafMac: string | null];

/** The check read's text on SQLite, run on the connection's statement that returns arrays. */
const LEAF_CHECKS_SQL = 'select "seq", "leaf", "leaf_hash", "leaf_mac" from "audit_leaves" where "seq" >= ? and "seq" < ? order by "seq" limit ?';

/** The SQLite statement runner a check reads through: rows as arrays (the connection's `allArrays`, or src/state/sqlite-adapter.ts arrayRows). */
export type ArrayRows = (sql: string, parameters: ReadonlyArray<unknown>) => unknown[][];

/**
 * {@link eachLeafCheckPage} through a SQLite statement runner, synchronously: the append's own
 * connection (inside its transaction), or the background check's (check-worker.ts).
 */
export function eachLeafCheckPageSync(allArrays: ArrayRows, from: number, to: number, fn: (rows: LeafCheckRow[]) => void): void {
  const end = Math.min(to, Number.MAX_SAFE_INTEGER);
  for (let next = from; ;) {
    const rows = allArrays(LEAF_CHECKS_SQL, [next, end, PAGE]) as Array<[number | bigint, string, string, string | null]>;
    if (rows.length === 0) return;
    for (const r of rows) r[0] = Number(r[0]);
    fn(rows as unknown as LeafCheckRow[]);
    if (rows.length < PAGE) return;
    next = Number(rows[rows.length - 1]![0]) + 1;
  }
}

/**
 * {@link eachLeafPage} for checking the rows: only the columns a check reads, each row an array.
 * The append that signs a checkpoint re-reads every event since the last one, so on SQLite this
 * runs on the connection's own statement (inside the caller's transaction, which holds the
 * connection) with rows as arrays: a row object per event cost about twice as much to make as
 * the array.
 *
 * @example
 * ```ts
 * await eachLeafCheckPage(trx, state, head.checkpointSize, head.size, (rows) => rows.forEach(([seq, leaf]) => check(seq, leaf)));
 * ```
 */
export async function eachLeafCheckPage(db: Db, on: On, from: number, to: number, fn: (rows: LeafCheckRow[]) => void): Promise<void> {
  // In a transaction on SQLite (the append that signs), the transaction holds the one connection: the statement runs on it directly.
  const allArrays = on.sqlite?.allArrays;
  if (allArrays !== undefined && db.isTransaction) return eachLeafCheckPageSync((sql, parameters) => allArrays(sql, parameters), from, to, fn);
  let next = from;
  const end = Math.min(to, Number.MAX_SAFE_INTEGER);
  for (;;) {
    const rows = await db.selectFrom('audit_leaves').select(['seq', 'leaf', 'leaf_hash', 'leaf_mac']).where('seq', '>=', next).where('seq', '<', end).orderBy('seq').limit(PAGE).execute();
    if (rows.length === 0) return;
    fn(rows.map((r) => [Number(r.seq), r.leaf, r.leaf_hash, r.leaf_mac ?? null] as const));
    if (rows.length < PAGE) return;
    next = Number(rows[rows.length - 1]!.seq) + 1;
  }
}

/**
 * Calls `fn` with every leaf row with seq in [from, to), in seq order, a page at a time.
 *
 * @example
 * ```ts
 * await eachLeafPage(db, 0, Infinity, (rows) => rows.forEach((r) => hashes.push(r.leaf_hash)));
 * ```
 */
export async function eachLeafPage(db: Db, from: number, to: number, fn: (rows: LeafRow[]) => void | Promise<void>): Promise<void> {
  let next = from;
  for (;;) {
    const rows = await leavesBetween(db, next, Math.min(to, Number.MAX_SAFE_INTEGER), PAGE);
    if (rows.length === 0) return;
    await fn(rows);
    if (rows.length < PAGE) return;
    next = (rows[rows.length - 1] as LeafRow).seq + 1;
  }
}
