/**
 * A small adapter from Node's built-in `node:sqlite` to Kysely's `SqliteDialect`, so the
 * embedded state database compiles nothing at install time.
 *
 * Two adjustments over a plain pass-through:
 * - `begin` becomes `begin immediate`, so a transaction takes the write lock up front and two
 *   processes sharing one file wait on `busy_timeout` instead of failing with SQLITE_BUSY
 *   half-way through;
 * - booleans become 0/1 (node:sqlite binds only numbers, bigints, strings, bytes and null).
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
  const cache = new Map<string, Statement>();
  return {
    raw,
    close: () => raw.close(),
    prepare: (sql: string): SqliteStatement => {
      const text = sql.trim().toLowerCase() === 'begin' ? 'begin immediate' : sql;
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = new Statement(raw.prepare(text));
        if (cache.size > 500) cache.clear();
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}
