/**
 * The token's user PIN, from the target's admin secret (`admin: PATH` in keyturn.yaml, handed to
 * the target as `ctx.adminValue`): a plain string, or an object with a `pin` field. The PIN never
 * reaches a message or a log.
 *
 * @example
 * ```ts
 * pinOf(ctx); // '1234' from { pin: '1234' } or '1234'
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import type { TargetContext } from '../target.js';

/** The PIN in an admin value, or null when it holds none. */
export function pinIn(value: SecretValue | null | undefined): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (value && typeof value === 'object' && typeof value.pin === 'string' && value.pin !== '') return value.pin;
  return null;
}

/** The user PIN, or KT_TARGET_ADMIN_REQUIRED saying how to give it. */
export function pinOf(ctx: Pick<TargetContext, 'adminValue' | 'strategy'>): string {
  const pin = pinIn(ctx.adminValue);
  if (pin !== null) return pin;
  const why = ctx.adminValue === undefined || ctx.adminValue === null ? 'no admin secret is named' : 'the admin secret holds no PIN';
  throw new KeyturnError('KT_TARGET_ADMIN_REQUIRED', `the hsm-key target needs the token's user PIN and ${why}: name an admin secret (admin: PATH) whose value is the PIN or { "pin": "..." }`, {
    details: { target: 'hsm-key', strategy: ctx.strategy },
  });
}
