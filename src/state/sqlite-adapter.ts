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
 *   (./sqlite-checkpointer.ts), so no commit blocks the event loop on a checkpoint's fsyncs.
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
    /** Ends this turn's read batch (see {@link OpenedSqlite.readBatched}) before anything that writes or begins a transaction. */
    private readonly beforeWrite: () => void = () => undefined,
  ) {
    this.reader = stmt.columns().length > 0;
    this.selects = SELECT.test(stmt.sourceSQL);
  }
  /** A plain SELECT; anything else (a write, `insert ... returning` too, a transaction's begin) ends the read batch first. */
  private readonly selects: boolean;
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    if (!this.selects) this.beforeWrite();
    return this.stmt.all(...bind(parameters));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    if (!this.selects) this.beforeWrite();
    return this.stmt.run(...bind(parameters));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    if (!this.selects) this.beforeWrite();
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
  /** Resolves once the background checkpointer (if one started) has stopped; call after `close`. */
  stopped(): Promise<void>;
}

/** Opens (creating if needed) a SQLite file in WAL mode with a 5 s busy timeout. */
export function openSqlite(file: string, options: { busyTimeoutMs?: number } = {}): OpenedSqlite {
  const raw = new DatabaseSync(file, { timeout: options.busyTimeoutMs ?? 5000 });
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  const cache = new Map<string, SqliteStatement>();
  let commits = 0;
  let checkpointer: Checkpointer | undefined;
  let batchOpen = false;
  const endRead = (): void => {
    if (!batchOpen) return;
    batchOpen = false;
    if (raw.isOpen && raw.isTransaction) raw.exec('COMMIT');
  };
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
      stmt = lower === 'rollback' ? new Rollback(raw, raw.prepare(text)) : lower === 'commit' ? new Commit(raw.prepare(text), committed) : new Statement(raw.prepare(text), endRead);
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
      if (!batchOpen) {
        raw.exec('BEGIN');
        batchOpen = true;
        setImmediate(endRead);
      }
      return stmt.all(parameters);
    },
  };
}
