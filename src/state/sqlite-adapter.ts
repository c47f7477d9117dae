/**
 * A small adapter from Node's built-in `node:sqlite` to Kysely's `SqliteDialect`, so the
 * embedded state database compiles nothing at install time.
 *
 * Adjustments over a plain pass-through:
 * - `begin` becomes `begin immediate`, so a transaction takes the write lock up front and two
 *   processes sharing one file wait on `busy_timeout` instead of failing with SQLITE_BUSY
 *   half-way through;
 * - booleans become 0/1 (node:sqlite binds only numbers, bigints, strings, bytes and null);
 * - `rollback` is a no-op when SQLite has already rolled the transaction back itself (it does on
 *   SQLITE_FULL, SQLITE_IOERR and others), so the caller sees that error, not "cannot rollback -
 *   no transaction is active";
 * - after {@link BACKGROUND_CHECKPOINT_AFTER} commits, WAL checkpoints move to a worker thread
 *   (./sqlite-checkpointer.ts), so no commit blocks the event loop on a checkpoint's fsyncs;
 * - reads outside a transaction share one read transaction per event-loop turn, and
 *   {@link OpenedSqlite.readVersion} tells whether what a table holds may have changed since an
 *   earlier turn (for caches of hot reads: ./read-cache.ts).
 *
 * @example
 * ```ts
 * const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: openSqlite('state.db') }) });
 * ```
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { BACKSTOP_PAGES, startCheckpointer, type Checkpointer } from './sqlite-checkpointer.js';

function bind(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : (p as SQLInputValue)));
}

/** A `rollback` after SQLite ended the transaction on its own: nothing to undo. */
class Rollback implements SqliteStatement {
  readonly reader = false;
  constructor(
    private readonly raw: DatabaseSync,
    private readonly stmt: StatementSync,
  ) {}
  all(): unknown[] {
    return [];
  }
  run(): { changes: number | bigint; lastInsertRowid: number | bigint } {
    if (!this.raw.isTransaction) return { changes: 0, lastInsertRowid: 0 };
    return this.stmt.run();
  }
  iterate(): IterableIterator<unknown> {
    return [][Symbol.iterator]();
  }
}

class Statement implements SqliteStatement {
  readonly reader: boolean;
  constructor(
    private readonly stmt: StatementSync,
    /**
     * Ends this turn's read batch (see {@link OpenedSqlite.readBatched}) before anything that writes
     * or begins a transaction, and counts a write to `table` (null: a statement that changes no
     * rows, such as `begin`; '*': a write whose table is not known, counted against every table).
     */
    private readonly beforeWrite: (table: string | null) => void = () => undefined,
  ) {
    this.reader = stmt.columns().length > 0;
    this.selects = SELECT.test(stmt.sourceSQL);
    this.writes = this.selects || NO_ROWS.test(stmt.sourceSQL) ? null : (WRITE_TARGET.exec(stmt.sourceSQL)?.[1]?.toLowerCase() ?? '*');
  }
  /** A plain SELECT; anything else (a write, `insert ... returning` too, a transaction's begin) ends the read batch first. */
  private readonly selects: boolean;
  /** The table it writes (see `beforeWrite`). */
  private readonly writes: string | null;
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    if (!this.selects) this.beforeWrite(this.writes);
    return this.stmt.all(...bind(parameters));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    if (!this.selects) this.beforeWrite(this.writes);
    return this.stmt.run(...bind(parameters));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    if (!this.selects) this.beforeWrite(this.writes);
    return this.stmt.iterate(...bind(parameters));
  }
}

/** A `commit` that counts, so a connection that commits often can move its checkpoints off the event loop. */
class Commit extends Statement {
  constructor(
    stmt: StatementSync,
    private readonly committed: () => void,
  ) {
    super(stmt);
  }
  // (A commit only ends a transaction Kysely began, and beginning it ended any read batch.)
  override run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    const result = super.run(parameters);
    this.committed();
    return result;
  }
}

/** A statement that only reads (`with` is left out: it may lead to an insert or update). */
const SELECT = /^\s*select\b/i;
/** Statements that change no rows themselves (a transaction's bounds). */
const NO_ROWS = /^\s*(?:begin|commit|end|rollback|savepoint|release)\b/i;
/**
 * The one table a write names first (`insert into "t"`, `update "t"`, `delete from "t"`, as Kysely
 * writes them). Anything else that is not a read (`with`, DDL, a pragma) counts against every
 * table. There are no triggers in the schema; a foreign key's cascade stays within the tables a
 * cache watches together (secrets and their versions and stages).
 */
const WRITE_TARGET = /^\s*(?:insert(?:\s+or\s+[a-z]+)?\s+into|replace\s+into|update(?:\s+or\s+[a-z]+)?|delete\s+from)\s+"?([a-z_][a-z0-9_]*)"?(?=[\s(]|$)/i;

/** Commits after which a connection checkpoints in a worker thread (./sqlite-checkpointer.ts): a server, a long `rotate --all`, not a one-shot CLI command. */
export const BACKGROUND_CHECKPOINT_AFTER = 64;

export interface OpenedSqlite extends SqliteDatabase {
  readonly raw: DatabaseSync;
  /**
   * Runs a read outside any write transaction, inside this event-loop turn's read batch: the first
   * such read begins a read transaction, the reads of the same turn share it, and it ends after
   * the turn (or before anything writes or begins a transaction on the connection). A read
   * transaction per statement costs SQLite its file locks each time (about 8 µs of a 12 µs read);
   * shared, once. Reads in a batch see the database as of its first read: committed rows only.
   * Undefined when a write transaction is open (its rows are not committed: the caller waits its
   * turn through Kysely) or when `sql` is not a plain SELECT (a write in a read transaction would
   * work from a stale snapshot: SQLite refuses it with SQLITE_BUSY).
   */
  readBatched(sql: string, parameters: ReadonlyArray<unknown>): unknown[] | undefined;
  /**
   * Joins (or begins) this turn's read batch and returns a token of the committed state its reads
   * see, as far as `tables` go: two equal tokens mean that between them no other connection (or
   * process) committed anything (SQLite's `PRAGMA data_version`, read in the batch's snapshot) and
   * this connection ran no write to any of `tables` (nor a write to a table it cannot name).
   * Undefined while a write transaction is open (its rows are not committed). A cache of rows read
   * in a batch may answer for them while the token stays the same (./read-cache.ts).
   */
  readVersion(tables: readonly string[]): string | undefined;
  /**
   * Runs a statement on the connection as it stands and returns its rows as arrays (columns in the
   * statement's order), not objects: for a large read inside a transaction the caller holds (the
   * audit check before a checkpoint re-reads every event since the last one), where an object per
   * row costs about twice the array.
   */
  allArrays(sql: string, parameters: ReadonlyArray<unknown>): unknown[][];
  /** Resolves once the background checkpointer (if one started) has stopped; call after `close`. */
  stopped(): Promise<void>;
}

/**
 * Runs a statement on `raw` and returns its rows as arrays (about half the cost of a row object
 * each), preparing each text once: the connection's `allArrays`, and the audit check worker's
 * (src/audit/check-worker.ts) on its own connection.
 */
export function arrayRows(raw: DatabaseSync): (sql: string, parameters: ReadonlyArray<unknown>) => unknown[][] {
  const statements = new Map<string, StatementSync>();
  return (sql, parameters) => {
    let stmt = statements.get(sql);
    if (stmt === undefined) {
      stmt = raw.prepare(sql);
      stmt.setReturnArrays(true);
      if (statements.size > 50) statements.clear();
      statements.set(sql, stmt);
    }
    return stmt.all(...bind(parameters)) as unknown as unknown[][];
  };
}

/** Opens (creating if needed) a SQLite file in WAL mode with a 5 s busy timeout. */
export function openSqlite(file: string, options: { busyTimeoutMs?: number } = {}): OpenedSqlite {
  const raw = new DatabaseSync(file, { timeout: options.busyTimeoutMs ?? 5000 });
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  const cache = new Map<string, SqliteStatement>();
  /** Its own statements, returning arrays (a statement's row shape is its own: not shared with `cache`). */
  const allArrays = arrayRows(raw);
  let commits = 0;
  let checkpointer: Checkpointer | undefined;
  let batchOpen = false;
  /** The batch's `PRAGMA data_version` (read once per batch, in its snapshot), and this connection's writes by table. */
  let batchData: number | undefined;
  /** The last token given in this batch, and for which tables (a batch's token cannot change: a write ends the batch). */
  let batchToken: { tables: readonly string[]; token: string } | undefined;
  const written = new Map<string, number>();
  let writtenAny = 0;
  const endRead = (): void => {
    if (!batchOpen) return;
    batchOpen = false;
    batchData = undefined;
    batchToken = undefined;
    if (raw.isOpen && raw.isTransaction) raw.exec('COMMIT');
  };
  const beforeWrite = (table: string | null): void => {
    endRead();
    if (table === null) return;
    if (table === '*') writtenAny++;
    else written.set(table, (written.get(table) ?? 0) + 1);
  };
  const beginRead = (): void => {
    if (batchOpen) return;
    raw.exec('BEGIN');
    batchOpen = true;
    setImmediate(endRead);
  };
  let dataVersion: StatementSync | undefined;
  const committed = (): void => {
    if (++commits !== BACKGROUND_CHECKPOINT_AFTER || file === ':memory:') return;
    raw.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    checkpointer = startCheckpointer(file);
  };
  // Only a short text can be `begin`, `commit` or `rollback`: a statement's text is not copied twice per call to find out.
  const keyword = (sql: string): string => (sql.length <= 16 ? sql.trim().toLowerCase() : '');
  const prepare = (sql: string): SqliteStatement => {
    const text = keyword(sql) === 'begin' ? 'begin immediate' : sql;
    let stmt = cache.get(text);
    if (!stmt) {
      const lower = keyword(text);
      stmt = lower === 'rollback' ? new Rollback(raw, raw.prepare(text)) : lower === 'commit' ? new Commit(raw.prepare(text), committed) : new Statement(raw.prepare(text), beforeWrite);
      if (cache.size > 500) cache.clear();
      cache.set(text, stmt);
    }
    return stmt;
  };
  return {
    raw,
    close: () => {
      endRead();
      const stopping = checkpointer?.stop();
      raw.close();
      return stopping;
    },
    stopped: async () => {
      await checkpointer?.stop();
    },
    prepare,
    readBatched: (sql, parameters) => {
      if (raw.isTransaction && !batchOpen) return undefined;
      // A plain SELECT only: a write that returns rows (`insert ... returning`) is a reader to SQLite's API.
      if (!SELECT.test(sql)) return undefined;
      const stmt = prepare(sql);
      if (!stmt.reader) return undefined;
      beginRead();
      return stmt.all(parameters);
    },
    allArrays,
    readVersion: (tables) => {
      if (raw.isTransaction && !batchOpen) return undefined;
      if (batchOpen && batchToken?.tables === tables) return batchToken.token;
      beginRead();
      // The pragma is read inside the batch's read transaction: it answers for the snapshot the batch reads (taking it if no read has yet).
      batchData ??= Number((dataVersion ??= raw.prepare('PRAGMA data_version')).get()?.['data_version']);
      let writes = writtenAny;
      for (const t of tables) writes += written.get(t) ?? 0;
      batchToken = { tables, token: `${batchData}:${writes}` };
      return batchToken.token;
    },
  };
}
