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
  constructor(private readonly stmt: StatementSync) {
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.stmt.all(...bind(parameters));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.stmt.run(...bind(parameters));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
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
  override run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    const result = super.run(parameters);
    this.committed();
    return result;
  }
}

/** Commits after which a connection checkpoints in a worker thread (./sqlite-checkpointer.ts): a server, a long `rotate --all`, not a one-shot CLI command. */
export const BACKGROUND_CHECKPOINT_AFTER = 64;

export interface OpenedSqlite extends SqliteDatabase {
  readonly raw: DatabaseSync;
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
  const committed = (): void => {
    if (++commits !== BACKGROUND_CHECKPOINT_AFTER || file === ':memory:') return;
    raw.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    checkpointer = startCheckpointer(file);
  };
  return {
    raw,
    close: () => {
      const stopping = checkpointer?.stop();
      raw.close();
      return stopping;
    },
    stopped: async () => {
      await checkpointer?.stop();
    },
    prepare: (sql: string): SqliteStatement => {
      const text = sql.trim().toLowerCase() === 'begin' ? 'begin immediate' : sql;
      let stmt = cache.get(text);
      if (!stmt) {
        const lower = text.trim().toLowerCase();
        stmt = lower === 'rollback' ? new Rollback(raw, raw.prepare(text)) : lower === 'commit' ? new Commit(raw.prepare(text), committed) : new Statement(raw.prepare(text));
        if (cache.size > 500) cache.clear();
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}
