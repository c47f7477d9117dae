/**
 * Recognizes a database that ran out of room: SQLite's SQLITE_FULL ("database or disk is full",
 * also what `PRAGMA max_page_count` gives) and PostgreSQL's disk_full (SQLSTATE 53100), so every
 * place that maps driver errors reports KT_DATABASE_FULL instead of an unreachable database.
 *
 * @example
 * ```ts
 * if (isDatabaseFull(e)) throw databaseFullError(e, state.location);
 * ```
 */
import { KeyturnError } from '../core/errors.js';

const SQLITE_FULL = 13;
const PG_DISK_FULL = '53100';

/** True for SQLITE_FULL (primary code 13) and PostgreSQL's disk_full. */
export function isDatabaseFull(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const err = e as { errcode?: unknown; code?: unknown; message?: unknown };
  if (typeof err.errcode === 'number' && (err.errcode & 0xff) === SQLITE_FULL) return true;
  if (err.code === PG_DISK_FULL || err.code === 'SQLITE_FULL') return true;
  return typeof err.message === 'string' && /database or disk is full/i.test(err.message);
}

/** KT_DATABASE_FULL for the state database at `location`; the write was rolled back. */
export function databaseFullError(e: unknown, location: string): KeyturnError {
  return new KeyturnError('KT_DATABASE_FULL', `state database ${location}: the database or its disk is full; the write was rolled back and nothing was written`, { cause: e });
}
