/**
 * What a JWKS publishes for each kind of target that holds signing keys: the one place that says
 * which targets have a JWKS ({@link JWKS_TARGET_TYPES}) and, per kind, how a staged value becomes a
 * public JWK and how long a replaced key stays published (./jwks.ts applies the rule).
 *
 * | target | public JWK | previous key published |
 * | --- | --- | --- |
 * | `signing-key` | `publicJwkOf(value)` | until `replacedAt + maxTokenTtl` (its tokens may live that long) |
 * | `hsm-key` | `value.publicJwk` of an hsm-key value | until `replacedAt + grace` (the policy's; then the cleanup destroys it), or while it is `previous` when `grace` is null |
 *
 * Both rebuild the JWK from the public members of its key type only ({@link publicJwkFrom}), so
 * nothing private reaches a JWKS whatever a stored value holds. An hsm-key value whose `kid` is
 * not the RFC 7638 thumbprint of its public key, or whose `alg` is not its `keyType`'s, is not
 * published (a verifier picks keys by `kid`).
 *
 * @example
 * ```ts
 * const publisher = publisherFor(target, policy);  // null: this target has no JWKS
 * publisher?.publicJwk(version.value);             // { kty, crv, x, y, kid, alg, use: 'sig' } or null
 * publisher?.keepPreviousMs;                       // ms after replacedAt, or null (while previous)
 * ```
 */
import { parseDuration } from '../core/duration.js';
import type { SecretValue } from '../core/types.js';
import { KEY_SPECS } from '../hsm/key-types.js';
import { jwkThumbprint, parseHsmKeyValue } from '../targets/hsm-key/value.js';
import { isSigningKeyTarget } from '../targets/signing-key/signing-key-target.js';
import { publicJwkFrom, publicJwkOf, type PublicJwk } from './keys.js';

/** The target types whose secrets have a JWKS (`targets.config.type`, read before a target is made). */
export const JWKS_TARGET_TYPES: readonly string[] = ['signing-key', 'hsm-key'];

/** How the keys of one kind of target are published. */
export interface JwksPublisher {
  /** The target kind. */
  readonly kind: string;
  /** The public JWK of a staged value, public members only; null when the value is not a key of this kind. */
  publicJwk(value: SecretValue): PublicJwk | null;
  /** How long after it stopped signing the previous key stays published; null: while it is `previous` (until retired). */
  readonly keepPreviousMs: number | null;
}

/** signing-key: the previous key stays while the tokens it signed may live. */
export function signingKeyPublisher(maxTokenTtlMs: number): JwksPublisher {
  return { kind: 'signing-key', publicJwk: publicJwkOf, keepPreviousMs: maxTokenTtlMs };
}

/** hsm-key: the previous key stays for the grace period (null: while it is previous), after which the cleanup destroys it. */
export function hsmKeyPublisher(graceMs: number | null): JwksPublisher {
  return { kind: 'hsm-key', publicJwk: hsmPublicJwk, keepPreviousMs: graceMs };
}

function hsmPublicJwk(value: SecretValue): PublicJwk | null {
  let key;
  try {
    key = parseHsmKeyValue(value);
  } catch {
    return null;
  }
  if (KEY_SPECS[key.keyType].alg !== key.alg) return null;
  const jwk = publicJwkFrom(key.publicJwk, key.alg, key.kid);
  if (!jwk) return null;
  const { kid: _kid, alg: _alg, use: _use, ...members } = jwk;
  return jwkThumbprint(members) === key.kid ? jwk : null;
}

/**
 * The publisher of `target`'s keys, or null when its kind has no JWKS. `policy` is the secret's
 * applied policy (its effective `grace`, for hsm-key).
 */
export function publisherFor(target: { readonly kind: string }, policy: { readonly effectiveSchedule: { readonly grace: string | null } }): JwksPublisher | null {
  if (isSigningKeyTarget(target)) return signingKeyPublisher(target.maxTokenTtlMs);
  if (target.kind === 'hsm-key') {
    const grace = policy.effectiveSchedule.grace;
    // The schema validated it; a grace that did not parse drops the previous key rather than keeping it.
    return hsmKeyPublisher(grace === null ? null : (parseDuration(grace) ?? 0));
  }
  return null;
}
