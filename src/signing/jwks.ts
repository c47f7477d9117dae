/**
 * The JWKS of a secret whose target holds signing keys (a `signing-key` or an `hsm-key` target:
 * ./publishers.ts): the public keys verifiers must know now (docs/signing-keys.md, docs/hsm.md).
 *
 * - `current` (the key that signs) is always in it;
 * - `pending` (a new key, published before it signs) is in it, so verifiers know a key before any
 *   token carries it;
 * - `previous` (the key that signed before) is in it while `now < replacedAt + keepPrevious`
 *   (signing-key: `maxTokenTtl`, the tokens it signed may still be alive; hsm-key: the policy's
 *   `grace`, after which the cleanup destroys it; a `keepPrevious` of null, an hsm-key policy
 *   without a grace: while it is `previous`), and never once its cleanup row says it was retired
 *   (revoke phase `done`: an hsm key destroyed); then it leaves.
 *
 * Order: current, pending, previous; a key present under two stages is listed once. A value that
 * is not a key of the target's kind is left out (the loader says which version, never its value).
 * Only public members are published (the publisher rebuilds each JWK from them).
 *
 * {@link jwksFor} is the pure rule; {@link loadJwks} reads its inputs: the secret's applied policy
 * (its target must be of a kind with a publisher, else KT_JWKS_NOT_FOUND), the three staged
 * versions from the store, and when the previous version was replaced (and whether it was
 * retired) from the cleanup the rotation left (src/engine/cleanups-repo.ts). Without such a row
 * (a version staged by hand, a cleanup already over) the current version's creation time stands in
 * for it: a key becomes current only after it was stored, so that is never later than the real
 * time and the previous key is never kept longer than `keepPrevious`.
 *
 * @example
 * ```ts
 * jwksFor({ current, pending: null, previous, previousReplacedAt: t, previousRetired: false, now, publisher: signingKeyPublisher(3_600_000) }); // { keys: [cur, prev], until: t + 3_600_000 }
 * const view = await loadJwks({ store, cleanups, applied, now: clock.now() }, 'prod/jwt/signing');
 * ```
 */
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { SecretValue, Stage, Version } from '../core/types.js';
import type { SecretStore } from '../stores/store.js';
import type { Target } from '../targets/target.js';
import type { PublicJwk } from './keys.js';
import { publisherFor, type JwksPublisher } from './publishers.js';

/** A JSON Web Key Set (RFC 7517 §5). */
export interface Jwks {
  readonly keys: PublicJwk[];
}

export interface JwksInput {
  readonly current: SecretValue | null;
  readonly pending: SecretValue | null;
  readonly previous: SecretValue | null;
  /** When the previous version stopped signing (it was replaced as current); null: unknown, left out (unless kept while previous). */
  readonly previousReplacedAt: number | null;
  /** The previous version's key was retired on the target (its cleanup's revoke phase is `done`): left out. */
  readonly previousRetired: boolean;
  readonly now: number;
  /** How the target's keys are published (./publishers.ts). */
  readonly publisher: JwksPublisher;
}

export interface JwksView extends Jwks {
  /** When the set changes by itself (the previous key leaves), or null: only a rotation changes it. */
  readonly until: number | null;
  /** The stages whose value is not a key of the target's kind (left out). */
  readonly unusable: Stage[];
}

/** The JWKS now (pure). */
export function jwksFor(input: JwksInput): JwksView {
  const keys: PublicJwk[] = [];
  const unusable: Stage[] = [];
  const add = (stage: Stage, value: SecretValue | null) => {
    if (value === null) return;
    const jwk = input.publisher.publicJwk(value);
    if (!jwk) unusable.push(stage);
    else if (!keys.some((k) => k.kid === jwk.kid)) keys.push(jwk);
  };
  add('current', input.current);
  add('pending', input.pending);
  let until: number | null = null;
  const keep = input.publisher.keepPreviousMs;
  if (input.previous !== null && !input.previousRetired) {
    if (keep === null) add('previous', input.previous);
    else if (input.previousReplacedAt !== null && input.now < input.previousReplacedAt + keep) {
      add('previous', input.previous);
      until = input.previousReplacedAt + keep;
    }
  }
  return { keys, until, unusable };
}

/** What {@link loadJwks} reads through (narrow, so a test or the CLI can hand in the runtime's parts). */
export interface JwksSources {
  /** The store (a view whose reads are not audited: only public keys leave). */
  readonly store: Pick<SecretStore, 'get'>;
  /** The cleanup rows of replaced versions (src/engine/cleanups-repo.ts, read only). */
  readonly cleanups: { get(path: string, versionId: string): Promise<{ readonly replacedAt: number; readonly revoke: string } | null> };
  /** The applied configuration (src/engine/applied.ts). */
  readonly applied: {
    policy(path: string): Promise<{ readonly target?: string | undefined; readonly effectiveSchedule: { readonly grace: string | null } }>;
    target(name: string): Promise<{ readonly target: Target }>;
  };
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
 * its policy has no target, its target is of a kind without a JWKS (./publishers.ts), or the
 * secret is deleted; other failures (the database) pass through. A secret not issued yet has no keys.
 */
export async function loadJwks(src: JwksSources, path: string): Promise<LoadedJwks> {
  try {
    const policy = await src.applied.policy(path);
    if (policy.target === undefined) throw jwksNotFound();
    const { target } = await src.applied.target(policy.target);
    const publisher = publisherFor(target, policy);
    if (!publisher) throw jwksNotFound();
    const [current, pending, previous] = await Promise.all((['current', 'pending', 'previous'] as const).map((stage) => src.store.get(path, { stage })));
    const replaced = previous ? await previousReplaced(src, path, previous, current ?? null) : { at: null, retired: false };
    const view = jwksFor({
      current: current?.value ?? null,
      pending: pending?.value ?? null,
      previous: previous?.value ?? null,
      previousReplacedAt: replaced.at,
      previousRetired: replaced.retired,
      now: src.now,
      publisher,
    });
    return { ...view, versions: { current: current?.id ?? null, pending: pending?.id ?? null, previous: previous?.id ?? null } };
  } catch (e) {
    if (ABSENT.some((code) => isKeyturnError(e, code))) throw jwksNotFound();
    throw e;
  }
}

/**
 * When `previous` stopped signing: its cleanup row's `replacedAt`, else the current version's
 * creation (never later than the truth); retired when the row's revoke phase is done.
 */
async function previousReplaced(src: JwksSources, path: string, previous: Version, current: Version | null): Promise<{ at: number | null; retired: boolean }> {
  const row = await src.cleanups.get(path, previous.id);
  if (row) return { at: row.replacedAt, retired: row.revoke === 'done' };
  return { at: current ? current.createdAt : null, retired: false };
}
