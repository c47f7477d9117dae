/**
 * Fresh names and passwords for users made on the real servers (by the Target contract and the
 * target fixtures): random, so parallel test files and repeated runs never collide. No vitest
 * import: the rotation benchmark loads this too, through test/fixtures/targets/.
 *
 * @example
 * ```ts
 * const username = uniqueName();      // 'kt_3f9a1c07de'
 * const password = newPassword(true); // 'Kt-…' with quotes, backslashes and SQL/shell specials
 * ```
 */
import { randomBytes } from 'node:crypto';

/** A fresh user name that every target accepts (lower case, short). */
export function uniqueName(prefix = 'kt'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A fresh password; `tricky` adds quotes, backslashes and SQL/shell specials. */
export function newPassword(tricky = false): string {
  const base = `Kt-${randomBytes(12).toString('base64url')}`;
  return tricky ? `${base}'"\\;--%_*?$\`{}[]() #@!` : base;
}
