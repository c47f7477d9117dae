/**
 * What a backup holds (the payload inside ./envelope.ts): every row of every table of the state
 * database, found by asking the database for its tables (so a table added by a migration is in
 * the next backup without a change here), the applied migrations, and the root key, gzipped JSON.
 *
 * Values stay as stored: sealed under their data keys, the data keys wrapped by the root key, the
 * audit keys sealed under the data keys. The root key travels inside the encrypted payload, so a
 * restore needs nothing of the old home; the restore may re-wrap the data keys under another root
 * key (`--new-root-key`, or KEYTURN_ROOT_KEY of the new home).
 *
 * @example
 * ```ts
 * const payload = await dumpState(state, root);  // Buffer: gzip(JSON)
 * const dump = parseDump(payload);               // checked shape
 * await loadState(emptyState, dump);             // every row inserted, in one transaction
 * ```
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { sql, type Kysely, type Transaction } from 'kysely';
import { KeyturnError } from '../core/errors.js';
import { rootKeyFrom, type RootKey } from '../crypto/root-key.js';
import { openState, type StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';

export const DUMP_FORMAT = 'keyturn-state-dump';
export const DUMP_VERSION = 1;

/** Kysely's own tables: their content is recorded as `migrations`, the new database makes its own. */
const MIGRATION_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);
const NAME = /^[a-z_][a-z0-9_]*$/;
/** Rows per INSERT (SQLite allows 32766 parameters; the widest table has about 20 columns). */
const BATCH = 200;

export type Cell = string | number | null;

export interface TableDump {
  name: string;
  columns: string[];
  rows: Cell[][];
}

export interface StateDump {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  /** Epoch milliseconds. */
  createdAt: number;
  /** The database it came from: dialect and location (a URL without its password). */
  source: { dialect: string; location: string };
  /** The names of the migrations applied to that database, in order. */
  migrations: string[];
  /** The root key (base64) and its fingerprint; it wraps the data keys in `data_keys`. */
  rootKey: string;
  rootKeyId: string;
  tables: TableDump[];
}

type Db = Kysely<Schema> | Transaction<Schema>;

function ident(name: string): ReturnType<typeof sql.id> {
  if (!NAME.test(name)) throw new KeyturnError('KT_BACKUP_CORRUPT', `"${name}" is not a table or column name`);
  return sql.id(name);
}

/** The state's tables (not Kysely's own), sorted by name. */
export async function stateTables(state: StateDb, db: Db = state.db): Promise<string[]> {
  const rows =
    state.dialect === 'sqlite'
      ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`.execute(db)).rows
      : (await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(db)).rows;
  return rows
    .map((r) => r.name)
    .filter((n) => !MIGRATION_TABLES.has(n))
    .sort();
}

/** A table's columns in their declared order. */
async function columnsOf(state: StateDb, db: Db, table: string): Promise<string[]> {
  const rows =
    state.dialect === 'sqlite'
      ? (await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table}) ORDER BY cid`.execute(db)).rows
      : (await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`.execute(db))
          .rows;
  return rows.map((r) => r.name);
}

/** For each table, the tables its foreign keys point at. */
async function references(state: StateDb, db: Db, tables: readonly string[]): Promise<Map<string, Set<string>>> {
  const refs = new Map<string, Set<string>>(tables.map((t) => [t, new Set<string>()]));
  if (state.dialect === 'sqlite') {
    for (const t of tables) {
      const rows = (await sql<{ table: string }>`SELECT "table" FROM pragma_foreign_key_list(${t})`.execute(db)).rows;
      for (const r of rows) if (r.table !== t) refs.get(t)!.add(r.table);
    }
  } else {
    const rows = (
      await sql<{ child: string; parent: string }>`SELECT tc.table_name AS child, ccu.table_name AS parent
        FROM information_schema.table_constraints tc
        JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
        WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()`.execute(db)
    ).rows;
    for (const r of rows) if (r.child !== r.parent) refs.get(r.child)?.add(r.parent);
  }
  return refs;
}

/** The tables in an order where every table comes after the tables it references. */
function insertOrder(tables: readonly string[], refs: Map<string, Set<string>>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (t: string, depth: number): void => {
    if (seen.has(t) || depth > tables.length) return;
    for (const parent of refs.get(t) ?? []) if (tables.includes(parent)) visit(parent, depth + 1);
    if (!seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  };
  for (const t of tables) visit(t, 0);
  return out;
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const rows = (await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db)).rows;
  return rows.map((r) => r.name);
}

/**
 * Reads every table in one transaction (a consistent snapshot: SQLite's one connection, or a
 * REPEATABLE READ transaction on PostgreSQL) and returns the payload: gzip of the JSON dump.
 */
export async function dumpState(state: StateDb, root: RootKey, clock: () => number = Date.now): Promise<{ payload: Buffer; dump: StateDump }> {
  const read = async (trx: Transaction<Schema>): Promise<StateDump> => {
    const tables: TableDump[] = [];
    for (const name of await stateTables(state, trx)) {
      const columns = await columnsOf(state, trx, name);
      const list = sql.join(columns.map((c) => ident(c)));
      const result = await sql<Record<string, Cell>>`SELECT ${list} FROM ${ident(name)}`.execute(trx);
      tables.push({ name, columns, rows: result.rows.map((r) => columns.map((c) => cell(r[c], name, c))) });
    }
    return {
      format: DUMP_FORMAT,
      version: DUMP_VERSION,
      createdAt: clock(),
      source: { dialect: state.dialect, location: state.location },
      migrations: await appliedMigrations(trx),
      rootKey: root.key.toString('base64'),
      rootKeyId: root.id,
      tables,
    };
  };
  const dump = state.dialect === 'postgres' ? await state.db.transaction().setIsolationLevel('repeatable read').execute(read) : await state.db.transaction().execute(read);
  return { payload: gzipSync(Buffer.from(JSON.stringify(dump), 'utf8')), dump };
}

function cell(v: unknown, table: string, column: string): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new KeyturnError('KT_BACKUP_CORRUPT', `${table}.${column} holds a ${typeof v}, which a backup cannot carry`);
}

/** Parses and checks a payload's shape (not yet against a database). Throws KT_BACKUP_CORRUPT. */
export function parseDump(payload: Buffer): StateDump {
  let dump: StateDump;
  try {
    dump = JSON.parse(gunzipSync(payload).toString('utf8')) as StateDump;
  } catch {
    throw new KeyturnError('KT_BACKUP_CORRUPT', 'the decrypted backup is not a gzipped state dump');
  }
  const bad = (why: string): never => {
    throw new KeyturnError('KT_BACKUP_CORRUPT', `the state dump is malformed: ${why}`);
  };
  if (dump?.format !== DUMP_FORMAT || dump.version !== DUMP_VERSION) bad(`not a ${DUMP_FORMAT} version ${DUMP_VERSION}`);
  if (!Array.isArray(dump.migrations) || !dump.migrations.every((m) => typeof m === 'string')) bad('migrations');
  if (typeof dump.rootKey !== 'string' || rootKeyFrom(Buffer.from(dump.rootKey, 'base64'), 'backup').id !== dump.rootKeyId) bad('the root key does not match its fingerprint');
  if (!Array.isArray(dump.tables)) bad('tables');
  const names = new Set<string>();
  for (const t of dump.tables) {
    if (typeof t?.name !== 'string' || !NAME.test(t.name) || names.has(t.name)) bad(`table name ${String(t?.name)}`);
    names.add(t.name);
    if (!Array.isArray(t.columns) || !t.columns.every((c) => typeof c === 'string' && NAME.test(c))) bad(`columns of ${t.name}`);
    if (!Array.isArray(t.rows)) bad(`rows of ${t.name}`);
    for (const r of t.rows) {
      if (!Array.isArray(r) || r.length !== t.columns.length || !r.every((v) => v === null || typeof v === 'string' || typeof v === 'number')) bad(`a row of ${t.name}`);
    }
  }
  return dump;
}

/** The root key a dump carries. */
export function dumpRootKey(dump: StateDump): RootKey {
  return rootKeyFrom(Buffer.from(dump.rootKey, 'base64'), 'backup');
}

/**
 * Checks that `state` (migrated, empty) has exactly the dump's migrations and tables with the
 * same columns. Throws KT_BACKUP_SCHEMA_MISMATCH.
 */
export async function checkSchema(state: StateDb, dump: StateDump): Promise<void> {
  const migrations = await appliedMigrations(state.db);
  if (migrations.join(',') !== [...dump.migrations].sort().join(',')) {
    const missing = dump.migrations.filter((m) => !migrations.includes(m));
    throw new KeyturnError(
      'KT_BACKUP_SCHEMA_MISMATCH',
      missing.length > 0
        ? `the backup comes from a newer Keyturn (migrations ${missing.join(', ')} are unknown here)`
        : `the backup comes from an older Keyturn (it lacks migrations ${migrations.filter((m) => !dump.migrations.includes(m)).join(', ')})`,
    );
  }
  const tables = await stateTables(state);
  const inDump = dump.tables.map((t) => t.name).sort();
  if (tables.join(',') !== inDump.join(',')) {
    throw new KeyturnError('KT_BACKUP_SCHEMA_MISMATCH', `the backup's tables (${inDump.join(', ')}) are not this database's (${tables.join(', ')})`);
  }
  for (const t of dump.tables) {
    const columns = await columnsOf(state, state.db, t.name);
    if ([...columns].sort().join(',') !== [...t.columns].sort().join(',')) {
      throw new KeyturnError('KT_BACKUP_SCHEMA_MISMATCH', `table ${t.name} has columns ${columns.join(', ')} here and ${t.columns.join(', ')} in the backup`);
    }
  }
}

async function rowCounts(state: StateDb): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of await stateTables(state)) {
    const { rows } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${ident(t)}`.execute(state.db);
    out.set(t, Number(rows[0]?.n ?? 0));
  }
  return out;
}

/**
 * The tables of `state` holding more rows than the migrations alone put there (some seed a row,
 * such as the audit log's head): a restore goes only into a database where this is empty.
 */
export async function usedTables(state: StateDb): Promise<string[]> {
  const fresh = await openState({ sqliteFile: ':memory:' });
  let seeded: Map<string, number>;
  try {
    seeded = await rowCounts(fresh);
  } finally {
    await fresh.close();
  }
  return [...(await rowCounts(state))].filter(([t, n]) => n > (seeded.get(t) ?? 0)).map(([t]) => t);
}

/**
 * Inserts every row of the dump into `state` in one transaction, parents before children.
 * The caller has checked the schema ({@link checkSchema}) and that the tables are empty ({@link usedTables}):
 * the rows the migrations seeded are deleted first.
 */
export async function loadState(state: StateDb, dump: StateDump): Promise<void> {
  const names = dump.tables.map((t) => t.name);
  const order = insertOrder(names, await references(state, state.db, names));
  const byName = new Map(dump.tables.map((t) => [t.name, t]));
  await state.db.transaction().execute(async (trx) => {
    // The rows the migrations seeded (the audit head) give way to the backup's, children first.
    for (const name of [...order].reverse()) await sql`DELETE FROM ${ident(name)}`.execute(trx);
    for (const name of order) {
      const t = byName.get(name)!;
      const columns = sql.join(t.columns.map((c) => ident(c)));
      for (let i = 0; i < t.rows.length; i += BATCH) {
        const rows = t.rows.slice(i, i + BATCH).map((r) => sql`(${sql.join(r.map((v) => sql.val(v)))})`);
        await sql`INSERT INTO ${ident(name)} (${columns}) VALUES ${sql.join(rows)}`.execute(trx);
      }
    }
  });
}

/** Counts for a summary: tables, rows, secrets, versions, audit events and checkpoints. */
export function summarize(dump: StateDump): { tables: number; rows: number; secrets: number; versions: number; auditEvents: number; auditCheckpoints: number; perTable: Record<string, number> } {
  const count = (name: string): number => dump.tables.find((t) => t.name === name)?.rows.length ?? 0;
  const perTable = Object.fromEntries(dump.tables.map((t) => [t.name, t.rows.length]));
  return {
    tables: dump.tables.length,
    rows: dump.tables.reduce((n, t) => n + t.rows.length, 0),
    secrets: count('secrets'),
    versions: count('secret_versions'),
    auditEvents: count('audit_leaves'),
    auditCheckpoints: count('audit_checkpoints'),
    perTable,
  };
}
