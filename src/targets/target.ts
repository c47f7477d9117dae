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
 * - `renew`: the target makes the whole next value itself (`renewer.issue`: a certificate a CA
 *   issues for a new key, a signing key pair, a key generated inside an HSM); nothing on an outside
 *   system is replaced, so the old value keeps working until it expires or, after the policy's
 *   `grace`, `renewer.retire` ends it. The consumers carry the new value to its users.
 *
 * @example
 * ```ts
 * const target = createTarget({ type: 'postgres', host: '127.0.0.1', port: 5432, database: 'app' });
 * await target.set(ctx, { username: 'app', password: next }, { username: 'app', password: old });
 * await target.test(ctx, { username: 'app', password: next });
 * ```
 */
import type { Logger } from '../core/logger.js';
import type { SecretValue } from '../core/types.js';

export const STRATEGIES = ['single-user', 'alternating-users', 'simple', 'dual-key', 'renew'] as const;
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
  /** The admin credential from the store, when the target config names one (`admin: PATH`) and it holds a username and password. */
  readonly admin: Credential | null;
  /** The admin secret's value as stored, whatever its shape (a `renew` target's CA certificate and key, an ACME account key, an HSM PIN); null without one. */
  readonly adminValue?: SecretValue | null;
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

  /** Required with the `renew` strategy (and only used by it): how the target makes and checks whole values. */
  readonly renewer?: Renewer;
}

/**
 * What a `renew` target does instead of set/test/revoke. Values are whole secret values (a
 * certificate's `{ cert, key, chain, notAfter, serial }`, a signing key's JWK pair), not credentials.
 *
 * @example
 * ```ts
 * const value = await target.renewer!.issue(ctx, current?.value ?? null, 'run_abc.g1');
 * await target.renewer!.check(ctx, value, { pendingSince: Date.now(), now: Date.now() });
 * target.renewer!.renewAt(value); // notAfter − renewBefore, in ms
 * ```
 */
export interface Renewer {
  /**
   * Makes the next value. `current` is null on the first issue. `versionId` names the version it
   * will be stored as: a target with an outside effect (a key generated in an HSM) names what it
   * makes after it, so a retry after a crash finds that again instead of making another.
   */
  issue(ctx: TargetContext, current: SecretValue | null, versionId: string): Promise<SecretValue>;
  /**
   * The test step: the value is usable (its chain verifies, its key matches, it is not expired; an
   * HSM key signs). May throw {@link NotYet} to make the run wait, without failing, until a time
   * (a signing key published for less than its `prePublish`); `pendingSince` is when the value
   * was stored as pending.
   */
  check(ctx: TargetContext, value: SecretValue, when: { readonly pendingSince: number; readonly now: number }): Promise<void>;
  /** When the value needs renewing by itself (ms since the epoch; a certificate's notAfter − renewBefore), or null when only the policy's schedule decides. */
  renewAt(value: SecretValue): number | null;
  /**
   * Ends a value: one replaced, after the policy's grace (a signing key leaves the JWKS, an HSM key
   * is destroyed), or one a failed run issued and nobody uses. Idempotent. Without it nothing
   * needs ending: an old certificate simply expires.
   */
  retire?(ctx: TargetContext, value: SecretValue): Promise<void>;
}

/**
 * Thrown by {@link Renewer.check}: not yet usable, try again at `at` (ms since the epoch). The run
 * waits (status `retrying`, not counted as a failed attempt) and resumes at the same step.
 */
export class NotYet extends Error {
  constructor(
    readonly at: number,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'NotYet';
  }
}

/** The alternate user name for `alternating-users`. */
export function cloneUsername(primary: string): string {
  return `${primary}_clone`;
}

/** The user a rotation should change next: the one that is not current. */
export function standbyUsername(primary: string, currentUsername: string): string {
  return currentUsername === primary ? cloneUsername(primary) : primary;
}
