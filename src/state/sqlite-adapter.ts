/**
 * A small adapter from Node's built-in `node:sqlite` to Kysely's `SqliteDialect`, so the
 * embedded state database compiles nothing at install time.
 *
 * Two adjustments over a plain pass-through:
 * - `begin` becomes `begin immediate`, so a transaction takes the write lock up front and two
 *   processes sharing one file wait on `busy_timeout` instead of failing with SQLITE_BUSY
 *   half-way through;
 * - booleans become 0/1 (node:sqlite binds only numbers, bigints, strings, bytes and null);
 * - `rollback` is a no-op when SQLite has already rolled the transaction back itself (it does on
 *   SQLITE_FULL, SQLITE_IOERR and others), so the caller sees that error, not "cannot rollback -
 *   no transaction is active".
 *
 * @example
 * ```ts
 * const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: openSqlite('state.db') }) });
 * ```
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

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

/** Opens (creating if needed) a SQLite file in WAL mode with a 5 s busy timeout. */
export function openSqlite(file: string, options: { busyTimeoutMs?: number } = {}): SqliteDatabase & { raw: DatabaseSync } {
  const raw = new DatabaseSync(file, { timeout: options.busyTimeoutMs ?? 5000 });
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  const cache = new Map<string, SqliteStatement>();
  return {
    raw,
    close: () => raw.close(),
    prepare: (sql: string): SqliteStatement => {
      const text = sql.trim().toLowerCase() === 'begin' ? 'begin immediate' : sql;
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = text.trim().toLowerCase() === 'rollback' ? new Rollback(raw, raw.prepare(text)) : new Statement(raw.prepare(text));
        if (cache.size > 500) cache.clear();
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}
