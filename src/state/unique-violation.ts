/**
 * Recognizes a unique-constraint violation from either state database driver, without loading
 * either: PostgreSQL's SQLSTATE 23505, SQLite's extended code 2067 ("UNIQUE constraint failed").
 *
 * @example
 * ```ts
 * try { await insert(); } catch (e) { if (isUniqueViolation(e)) throw new KeyturnError('KT_RUN_LOCKED', '...'); throw e; }
 * ```
 */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { code?: unknown; errcode?: unknown; message?: unknown };
  return err.code === '23505' || err.errcode === 2067 || (typeof err.message === 'string' && err.message.includes('UNIQUE constraint failed'));
}
