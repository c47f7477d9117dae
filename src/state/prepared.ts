/**
 * Hot statements built and compiled by Kysely once per SQL dialect, then run with new
 * parameters: the rotation path's statements skip Kysely's query building and compiling (about
 * 15 µs per statement, more than SQLite takes to run most of them) but keep its typed builders,
 * its dialect-specific SQL (`?` on SQLite, `$1` on PostgreSQL) and its drivers.
 *
 * A parameter is a named placeholder, `p('id')`, in the builder; at run time each placeholder's
 * position in the compiled parameters gets the value named in the call. Values that are not
 * placeholders stay as compiled. On SQLite inside a transaction the statement runs on the
 * transaction's connection directly (the adapter's cached statement), skipping Kysely's per-query
 * connection hand-off; a read outside any transaction runs in the connection's read batch (one
 * read transaction per event-loop turn); everywhere else it goes through Kysely's executor.
 *
 * @example
 * ```ts
 * const byPath = prepared((db, p) => db.selectFrom('secrets').selectAll().where('path', '=', p('path')));
 * const rows = await byPath.rows(state, trx ?? state.db, { path: 'prod/db/app' });
 * ```
 */
import { CompiledQuery, type Compilable, type Kysely, type QueryResult, type Transaction } from 'kysely';
import type { Dialect, StateDb } from './db.js';
import type { Schema } from './schema.js';

const MARK = '\u0000kt-param:';

/** Which SQL to run: the state database (or anything naming its dialect). */
type On = Pick<StateDb, 'dialect' | 'sqlite'>;

/** A named placeholder: typed as whatever the builder wants there. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a placeholder stands in for any column's value
type Placeholder = (name: string) => any;

interface Compiled {
  readonly sql: string;
  /** Per compiled parameter: the placeholder name, or the constant compiled in. */
  readonly slots: ReadonlyArray<{ name: string } | { value: unknown }>;
}

export interface Prepared<R> {
  /** Runs the statement in `db` (the state database or a transaction of it) with `params`. */
  execute(on: On, db: Kysely<Schema> | Transaction<Schema>, params: object): Promise<QueryResult<R>>;
  /** The rows it returns. */
  rows(on: On, db: Kysely<Schema> | Transaction<Schema>, params: object): Promise<R[]>;
  /** The first row it returns, or undefined. */
  first(on: On, db: Kysely<Schema> | Transaction<Schema>, params: object): Promise<R | undefined>;
  /** How many rows it changed. */
  changes(on: On, db: Kysely<Schema> | Transaction<Schema>, params: object): Promise<number>;
}

/** A statement compiled once per dialect, at its first use (see the module header). */
export function prepared<R>(build: (db: Kysely<Schema>, p: Placeholder) => Compilable<R>): Prepared<R> {
  const byDialect = new Map<Dialect, Compiled>();
  const compiled = (on: On, db: Kysely<Schema>): Compiled => {
    let c = byDialect.get(on.dialect);
    if (c === undefined) {
      const query = build(db, (name) => `${MARK}${name}`).compile();
      c = {
        sql: query.sql,
        slots: query.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? { name: v.slice(MARK.length) } : { value: v })),
      };
      byDialect.set(on.dialect, c);
    }
    return c;
  };
  const execute = (on: On, db: Kysely<Schema> | Transaction<Schema>, params: object): Promise<QueryResult<R>> => {
    const c = compiled(on, db);
    const values = c.slots.map((s) => {
      if ('value' in s) return s.value;
      const v = (params as Record<string, unknown>)[s.name];
      if (v === undefined) throw new Error(`prepared statement: no value for parameter "${s.name}"`);
      return v;
    });
    // SQLite, inside a transaction: the transaction holds the one connection, so the statement runs
    // on it directly (synchronous, as node:sqlite is), without Kysely's per-query connection hand-off.
    if (on.sqlite !== undefined && db.isTransaction) {
      const stmt = on.sqlite.prepare(c.sql);
      if (stmt.reader) return Promise.resolve({ rows: stmt.all(values) as R[] });
      return Promise.resolve({ rows: [], numAffectedRows: BigInt(stmt.run(values).changes) });
    }
    // SQLite, a read outside a transaction: in this turn's read batch (../state/sqlite-adapter.ts),
    // at once rather than queued behind Kysely's connection hand-off, and sharing one read
    // transaction with the turn's other reads (the hot path of every API read). While a write
    // transaction is open (its statements interleave with other requests across awaits) the read
    // waits its turn through Kysely, or it could see uncommitted rows.
    if (on.sqlite?.readBatched !== undefined) {
      const rows = on.sqlite.readBatched(c.sql, values);
      if (rows !== undefined) return Promise.resolve({ rows: rows as R[] });
    }
    return db.executeQuery<R>(CompiledQuery.raw(c.sql, values));
  };
  return {
    execute,
    rows: async (on, db, params) => (await execute(on, db, params)).rows,
    first: async (on, db, params) => (await execute(on, db, params)).rows[0],
    changes: async (on, db, params) => Number((await execute(on, db, params)).numAffectedRows ?? 0n),
  };
}
