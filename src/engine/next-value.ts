/**
 * The next value of a secret: a fresh password in the credential (keeping the other fields), on
 * the standby user for `alternating-users`, or a fresh app secret.
 *
 * @example
 * ```ts
 * nextValue(policy, { username: 'app', password: 'old', host: 'db' }, target.passwordLimits);
 * // { username: 'app_clone', password: '<fresh>', host: 'db' }   (alternating-users)
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { generatePassword, mergeLimits, passwordPolicySchema, type PasswordPolicy } from '../core/password.js';
import type { SecretValue } from '../core/types.js';
import type { Credential, PasswordLimits } from '../targets/target.js';
import { standbyUsername } from '../targets/target.js';
import type { SecretPolicy as AppliedPolicy } from './applied.js';

/** What generating a value reads of a policy (a policy from keyturn.yaml with its path will do). */
type SecretPolicy = Omit<AppliedPolicy, 'effectiveSchedule'>;

const CLONE_SUFFIX = '_clone';
const NO_LIMITS: PasswordLimits = Object.freeze({});

/** The password policy a secret's policy and its target's limits make, by their (frozen, long-lived) objects: merged and checked once. */
const effective = new WeakMap<SecretPolicy, WeakMap<PasswordLimits, PasswordPolicy>>();

function effectivePolicy(policy: SecretPolicy, limits: PasswordLimits): PasswordPolicy {
  let byLimits = effective.get(policy);
  if (byLimits === undefined) effective.set(policy, (byLimits = new WeakMap()));
  let merged = byLimits.get(limits);
  if (merged === undefined) byLimits.set(limits, (merged = mergeLimits(policy.password ?? passwordPolicySchema.parse({}), limits)));
  return merged;
}

/** Reads a stored value as a credential, or throws KT_CREDENTIAL_INVALID. */
export function asCredential(path: string, value: SecretValue): Credential {
  if (typeof value === 'string' || typeof value.username !== 'string' || typeof value.password !== 'string' || value.username === '') {
    throw new KeyturnError('KT_CREDENTIAL_INVALID', `${path} must hold fields username and password`);
  }
  return value as Credential;
}

/** The primary user of an alternating pair, from either of its two names. */
export function primaryOf(username: string): string {
  return username.endsWith(CLONE_SUFFIX) ? username.slice(0, -CLONE_SUFFIX.length) : username;
}

/** A fresh password under the policy's password rules and the target's limits (a cleanup's value nobody holds). */
export function freshPassword(policy: SecretPolicy, limits: PasswordLimits = NO_LIMITS): string {
  return generatePassword(effectivePolicy(policy, limits));
}

/**
 * The next value. `newSecret`: the target's own maker of a credential's secret part (an SSH key;
 * Target.newSecret), used instead of a generated password for a database-credential.
 */
export function nextValue(policy: SecretPolicy, current: SecretValue, limits: PasswordLimits = NO_LIMITS, newSecret?: () => string): SecretValue {
  const password = policy.type === 'database-credential' && newSecret ? newSecret() : freshPassword(policy, limits);
  if (policy.type === 'database-credential') {
    const cred = asCredential(policy.path, current);
    const username = policy.strategy === 'alternating-users' ? standbyUsername(primaryOf(cred.username), cred.username) : cred.username;
    return { ...(current as Record<string, never>), username, password };
  }
  if (policy.field !== undefined) {
    const base = typeof current === 'string' ? {} : current;
    return { ...base, [policy.field]: password };
  }
  return password;
}
