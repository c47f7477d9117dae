/**
 * The Target interface: a system whose credential Keyturn changes (PostgreSQL, MariaDB/MySQL,
 * Redis, ...). One folder per target implements it and passes `runTargetContract`
 * (src/contracts/target-contract.ts) against the real server. The engine knows targets only
 * through this interface and the registry (`./registry.ts`): adding a target never edits the engine.
 *
 * Strategies:
 * - `single-user`: the same user gets a new password.
 * - `alternating-users`: two users, `<user>` and `<user>_clone`, with the same memberships/grants;
 *   each rotation changes the standby one, then the two swap (the credential's `username` flips).
 * - `dual-key`: the target holds the new credential next to the old one (Redis: a second password
 *   of the same user); `set` adds the new one, the old keeps working until the cleanup after the
 *   policy's `grace` ends it with `revoke`, which a dual-key target must have.
 * - `simple`: no outside system (the `generic` target); the new value is only stored.
 *
 * @example
 * ```ts
 * const target = createTarget({ type: 'postgres', host: '127.0.0.1', port: 5432, database: 'app' });
 * await target.set(ctx, { username: 'app', password: next }, { username: 'app', password: old });
 * await target.test(ctx, { username: 'app', password: next });
 * ```
 */
import type { Logger } from '../core/logger.js';

export const STRATEGIES = ['single-user', 'alternating-users', 'simple', 'dual-key'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** A login credential. Extra fields (host, port, dbname, ...) ride along untouched. */
export interface Credential {
  username: string;
  password: string;
  [field: string]: unknown;
}

/** Limits a target puts on generated passwords (merged into the secret's password policy). */
export interface PasswordLimits {
  maxLength?: number;
  /** Characters the target cannot take in a password (or that its SQL quoting makes risky). */
  excludeChars?: string;
}

export interface TargetContext {
  readonly strategy: Strategy;
  /** The admin credential from the store, when the target config names one. */
  readonly admin: Credential | null;
  /**
   * alternating-users: the primary user name (without `_clone`); the standby user must have the
   * same memberships (PostgreSQL roles, MySQL grants, Redis ACL rules) as this user.
   */
  readonly primaryUsername: string;
  readonly log: Logger;
  /** Aborts a hung call: every network operation must honour it or its own timeout. */
  readonly signal: AbortSignal;
}

export interface Target {
  readonly kind: string;
  readonly strategies: readonly Strategy[];
  readonly passwordLimits: PasswordLimits;

  /**
   * Optional: makes the secret part (the `password` field) of a new credential, for a target whose
   * credentials are not passwords (an SSH private key). Without it the engine generates a password
   * under the secret's password rules and `passwordLimits`.
   */
  newSecret?(): string;

  /**
   * Makes `next` log in. For `alternating-users`, `next.username` is the standby user: create it
   * when missing (via the admin) and re-sync its memberships from `ctx.primaryUsername` on every
   * call, then set its password. Must be idempotent: calling it twice leaves the same world.
   * `current` is the credential that works now (null on first set-up), used when no admin is given.
   */
  set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void>;

  /** Logs in with `cred` and runs a probe (`SELECT 1`, `PING`). Throws KT_TARGET_AUTH_FAILED or KT_TARGET_UNAVAILABLE. */
  test(ctx: TargetContext, cred: Credential): Promise<void>;

  /**
   * Makes `cred` stop working, leaving the user's other credentials as they are: the cleanup after
   * a grace period, and a failed dual-key run taking back the credential it added. Idempotent (a
   * credential already gone is success). Required with `dual-key`; optional otherwise (without it,
   * an alternating-users cleanup sets a password nobody holds).
   */
  revoke?(ctx: TargetContext, cred: Credential): Promise<void>;

  /** Releases pooled connections. */
  close?(): Promise<void>;
}

/** The alternate user name for `alternating-users`. */
export function cloneUsername(primary: string): string {
  return `${primary}_clone`;
}

/** The user a rotation should change next: the one that is not current. */
export function standbyUsername(primary: string, currentUsername: string): string {
  return currentUsername === primary ? cloneUsername(primary) : primary;
}
