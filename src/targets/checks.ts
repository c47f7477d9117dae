/**
 * Checks every target makes before touching its server: the strategy is one it supports, an
 * admin credential is there when the strategy needs one, and for `alternating-users` the user
 * to change is the primary or its clone (never an arbitrary user, whose grants sync would rewrite).
 *
 * @example
 * ```ts
 * assertStrategy(this, ctx.strategy);
 * const { isClone } = assertStandby('postgres', ctx, next.username); // next.username is 'app' or 'app_clone'
 * ```
 */
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import { cloneUsername, type Credential, type Strategy, type Target, type TargetContext } from './target.js';

/** Throws KT_TARGET_STRATEGY_UNSUPPORTED unless `target` rotates with `strategy`. */
export function assertStrategy(target: Pick<Target, 'kind' | 'strategies'>, strategy: Strategy): void {
  if (!target.strategies.includes(strategy)) {
    throw new KeyturnError('KT_TARGET_STRATEGY_UNSUPPORTED', `the ${target.kind} target does not rotate with the "${String(strategy)}" strategy; it supports: ${target.strategies.join(', ')}`, {
      details: { target: target.kind, strategy },
    });
  }
}

/** KT_TARGET_ADMIN_REQUIRED naming what needs the admin. */
export function adminRequired(kind: string, ctx: TargetContext, purpose: string): KeyturnError {
  return new KeyturnError('KT_TARGET_ADMIN_REQUIRED', `the ${kind} target needs an admin credential to ${purpose}`, { details: { target: kind, strategy: ctx.strategy } });
}

/** The admin credential, or KT_TARGET_ADMIN_REQUIRED naming what needs it. */
export function requireAdmin(kind: string, ctx: TargetContext, purpose: string): Credential {
  if (ctx.admin) return ctx.admin;
  throw adminRequired(kind, ctx, purpose);
}

/** For a user changing its own password: `current` must be known and name the same user. */
export function requireSelf(kind: string, ctx: TargetContext, next: Credential, current: Credential | null): Credential {
  if (!current) throw adminRequired(kind, ctx, `set the password of "${next.username}" when no current credential is known`);
  if (current.username !== next.username) {
    throw new KeyturnError('KT_TARGET_USERNAME_INVALID', `with single-user the new and current credentials must name the same user ("${next.username}" and "${current.username}")`, {
      details: { target: kind, username: next.username },
    });
  }
  return current;
}

/**
 * For `alternating-users`: the standby must be the primary or `<primary>_clone`. Returns whether
 * it is the clone (the one whose memberships are synced from the primary).
 */
export function assertStandby(kind: string, ctx: TargetContext, standby: string): { isClone: boolean } {
  const primary = ctx.primaryUsername;
  if (primary === '' || (standby !== primary && standby !== cloneUsername(primary))) {
    throw new KeyturnError('KT_TARGET_USERNAME_INVALID', `with alternating-users the ${kind} standby user must be "${primary}" or "${cloneUsername(primary)}", not "${standby}"`, {
      details: { target: kind, username: standby, primaryUsername: primary },
    });
  }
  return { isClone: standby !== primary };
}

/**
 * A user name the target can take: not empty, no control characters (nor whitespace when
 * `noSpaces`), at most `maxLength` (measured by `measure`, e.g. UTF-8 bytes for PostgreSQL).
 */
export function assertUsername(kind: string, username: string, maxLength: number, options: { measure?: (s: string) => number; noSpaces?: boolean } = {}): void {
  const measure = options.measure ?? ((s: string) => [...s].length);
  let bad: string | null = null;
  if (username === '') bad = 'is empty';
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(username)) bad = 'contains a control character';
  else if (options.noSpaces && /\s/.test(username)) bad = 'contains a space';
  else if (measure(username) > maxLength) bad = `is longer than ${maxLength}`;
  if (bad) throw new KeyturnError('KT_TARGET_USERNAME_INVALID', `the ${kind} user name ${bad}`, { details: { target: kind } });
}

/** True when `cred` logs in on `target`; false when it is refused; other failures (outage, ...) propagate. */
export async function logsIn(target: Pick<Target, 'test'>, ctx: TargetContext, cred: Credential): Promise<boolean> {
  try {
    await target.test(ctx, cred);
    return true;
  } catch (e) {
    if (isKeyturnError(e, 'KT_TARGET_AUTH_FAILED')) return false;
    throw e;
  }
}
