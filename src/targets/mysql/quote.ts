/**
 * String literals for MySQL/MariaDB statements that cannot take placeholders (CREATE USER,
 * ALTER USER, GRANT). Sessions that use them run with NO_BACKSLASH_ESCAPES added to sql_mode
 * (see ./session.ts), so a literal is `'...'` with `'` doubled and every other character,
 * backslash included, taken as is, whatever the server's default sql_mode.
 *
 * @example
 * ```ts
 * `ALTER USER ${account('app', '%')} IDENTIFIED BY ${sqlString(password)}` // ALTER USER 'app'@'%' IDENTIFIED BY '...'
 * ```
 */
import { KeyturnError } from '../../core/errors.js';

/** A literal for a NO_BACKSLASH_ESCAPES session. NUL cannot be sent inside a statement: refused. */
export function sqlString(value: string): string {
  if (value.includes('\0')) throw new KeyturnError('KT_TARGET_PASSWORD_REJECTED', 'a mysql statement literal cannot hold a NUL character', { details: { target: 'mysql' } });
  return `'${value.replaceAll("'", "''")}'`;
}

/** `'user'@'host'`. */
export function account(user: string, host: string): string {
  return `${sqlString(user)}@${sqlString(host)}`;
}
