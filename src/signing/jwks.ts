/**
 * The JWKS of a signing-key secret: the public keys verifiers must know now (docs/signing-keys.md).
 *
 * - `current` (the key that signs) is always in it;
 * - `pending` (a new key, published for `prePublish` before it signs) is in it, so verifiers know
 *   a key before any token carries it;
 * - `previous` (the key that signed before) is in it while `now < replacedAt + maxTokenTtl`: the
 *   tokens it signed may still be alive; then it leaves.
 *
 * Order: current, pending, previous; a key present under two stages is listed once. A value that
 * is not a signing key is left out (the loader says which version, never its value). Only public
 * members are published ({@link publicJwkOf}).
 *
 * {@link jwksFor} is the pure rule; {@link loadJwks} reads its inputs: the secret's applied policy
 * (its target must be a signing-key target, else KT_JWKS_NOT_FOUND), the three staged versions from
 * the store, and when the previous version was replaced from the cleanup the rotation left
 * (src/engine/cleanups-repo.ts). Without such a row (a version staged by hand, a cleanup already
 * over) the current version's creation time stands in for it: a key becomes current only after it
 * was stored, so that is never later than the real time and the previous key is never kept longer
 * than `maxTokenTtl`.
 *
 * @example
 * ```ts
 * jwksFor({ current, pending: null, previous, previousReplacedAt: t, now, maxTokenTtlMs: 3_600_000 }); // { keys: [cur, prev], until: t + 3_600_000 }
 * const view = await loadJwks({ store, cleanups, applied, now: clock.now() }, 'prod/jwt/signing');
 * ```
 */
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { SecretValue, Stage, Version } from '../core/types.js';
import type { SecretStore } from '../stores/store.js';
import type { Target } from '../targets/target.js';
import { isSigningKeyTarget } from '../targets/signing-key/signing-key-target.js';
import { publicJwkOf, type PublicJwk } from './keys.js';

/** A JSON Web Key Set (RFC 7517 §5). */
export interface Jwks {
  readonly keys: PublicJwk[];
}

export interface JwksInput {
  readonly current: SecretValue | null;
  readonly pending: SecretValue | null;
  readonly previous: SecretValue | null;
  /** When the previous version stopped signing (it was replaced as current); null: unknown, left out. */
  readonly previousReplacedAt: number | null;
  readonly now: number;
  readonly maxTokenTtlMs: number;
}

export interface JwksView extends Jwks {
  /** When the set changes by itself (the previous key leaves), or null: only a rotation changes it. */
  readonly until: number | null;
  /** The stages whose value is not a signing key (left out). */
  readonly unusable: Stage[];
}

/** The JWKS now (pure). */
export function jwksFor(input: JwksInput): JwksView {
  const keys: PublicJwk[] = [];
  const unusable: Stage[] = [];
  const add = (stage: Stage, value: SecretValue | null) => {
    if (value === null) return;
    const jwk = publicJwkOf(value);
    if (!jwk) unusable.push(stage);
    else if (!keys.some((k) => k.kid === jwk.kid)) keys.push(jwk);
  };
  add('current', input.current);
  add('pending', input.pending);
  let until: number | null = null;
  if (input.previous !== null && input.previousReplacedAt !== null) {
    const end = input.previousReplacedAt + input.maxTokenTtlMs;
    if (input.now < end) {
      add('previous', input.previous);
      until = end;
    }
  }
  return { keys, until, unusable };
}

/** What {@link loadJwks} reads through (narrow, so a test or the CLI can hand in the runtime's parts). */
export interface JwksSources {
  /** The store (a view whose reads are not audited: only public keys leave). */
  readonly store: Pick<SecretStore, 'get'>;
  /** The cleanup rows of replaced versions (src/engine/cleanups-repo.ts, read only). */
  readonly cleanups: { get(path: string, versionId: string): Promise<{ readonly replacedAt: number } | null> };
  /** The applied configuration (src/engine/applied.ts). */
  readonly applied: { policy(path: string): Promise<{ readonly target?: string | undefined }>; target(name: string): Promise<{ readonly target: Target }> };
  readonly now: number;
}

export interface LoadedJwks extends JwksView {
  /** The version ids each key came from (for logs; never a value). */
  readonly versions: { readonly current: string | null; readonly pending: string | null; readonly previous: string | null };
}

/** The refusal for any path without a JWKS: the same whatever the reason, so nothing else about the path shows. */
export function jwksNotFound(): KeyturnError {
  return new KeyturnError('KT_JWKS_NOT_FOUND', 'no JWKS is served at that path');
}

/** The codes that mean "nothing here" for a JWKS (all answered as KT_JWKS_NOT_FOUND). */
const ABSENT = ['KT_POLICY_NOT_FOUND', 'KT_TARGET_NOT_FOUND', 'KT_SECRET_NOT_FOUND', 'KT_SECRET_DELETED'] as const;

/**
 * The JWKS of the secret at `path` now. KT_JWKS_NOT_FOUND when the path has no applied policy,
 * its policy has no target, its target is not a signing-key target, or the secret is deleted;
 * other failures (the database) pass through. A signing-key secret not issued yet has no keys.
 */
export async function loadJwks(src: JwksSources, path: string): Promise<LoadedJwks> {
  try {
    const policy = await src.applied.policy(path);
    if (policy.target === undefined) throw jwksNotFound();
    const { target } = await src.applied.target(policy.target);
    if (!isSigningKeyTarget(target)) throw jwksNotFound();
    const [current, pending, previous] = await Promise.all((['current', 'pending', 'previous'] as const).map((stage) => src.store.get(path, { stage })));
    const replacedAt = previous ? await previousReplacedAt(src, path, previous, current ?? null) : null;
    const view = jwksFor({
      current: current?.value ?? null,
      pending: pending?.value ?? null,
      previous: previous?.value ?? null,
      previousReplacedAt: replacedAt,
      now: src.now,
      maxTokenTtlMs: target.maxTokenTtlMs,
    });
    return { ...view, versions: { current: current?.id ?? null, pending: pending?.id ?? null, previous: previous?.id ?? null } };
  } catch (e) {
    if (ABSENT.some((code) => isKeyturnError(e, code))) throw jwksNotFound();
    throw e;
  }
}

/** When `previous` stopped signing: its cleanup row's `replacedAt`, else the current version's creation (never later than the truth). */
async function previousReplacedAt(src: JwksSources, path: string, previous: Version, current: Version | null): Promise<number | null> {
  const row = await src.cleanups.get(path, previous.id);
  if (row) return row.replacedAt;
  return current ? current.createdAt : null;
}
