/**
 * The JWKS of a signing-key or hsm-key secret read from an open Keyturn (./jwks.ts's `loadJwks` over the runtime's
 * parts): what `GET /v1/jwks/PATH` and `keyturn jwks PATH` serve. The store is read through its
 * view without read audit: only public keys leave (docs/signing-keys.md says why these reads are
 * not audited). The values read (private keys included) stay in this function.
 *
 * @example
 * ```ts
 * const view = await jwksOf(kt, 'prod/jwt/signing'); // { keys, until, unusable, versions }
 * ```
 */
import { CleanupsRepo } from '../engine/cleanups-repo.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { jwksNotFound, loadJwks, type LoadedJwks } from './jwks.js';
import { JWKS_TARGET_TYPES } from './publishers.js';

/** Longest Cache-Control max-age of a JWKS answer, in seconds. */
export const JWKS_MAX_AGE_S = 60;

export async function jwksOf(kt: Pick<Keyturn, 'store' | 'state' | 'clock' | 'applied' | 'log'>, path: string): Promise<LoadedJwks> {
  const applied = {
    policy: (p: string) => kt.applied.policy(p),
    // The target's type is read from its applied row first: a request for the JWKS of a secret of
    // another kind of target (anyone may ask) never makes that target's instance (and its
    // connection pool). A signing-key or hsm-key target is made (an hsm-key target opens nothing
    // until it signs: the JWKS reads the stored values only, never the HSM).
    target: async (name: string) => {
      const row = await kt.state.db.selectFrom('targets').select('config').where('name', '=', name).executeTakeFirst();
      const type = row ? (JSON.parse(row.config) as { type?: unknown }).type : undefined;
      if (typeof type !== 'string' || !JWKS_TARGET_TYPES.includes(type)) throw jwksNotFound();
      return kt.applied.target(name);
    },
  };
  const view = await loadJwks({ store: kt.store.withoutReadAudit?.() ?? kt.store, cleanups: new CleanupsRepo(kt.state, kt.clock), applied, now: kt.clock.now() }, path);
  if (view.unusable.length > 0) kt.log.warn({ path, stages: view.unusable, versions: view.versions }, 'JWKS: a staged version is not a key of its target; left out of the key set');
  return view;
}

/**
 * Seconds a JWKS answer may be cached: {@link JWKS_MAX_AGE_S}, less when the previous key leaves
 * sooner (a cache must not keep a removed key past its end).
 */
export function jwksMaxAge(view: { readonly until: number | null }, now: number): number {
  if (view.until === null) return JWKS_MAX_AGE_S;
  return Math.max(0, Math.min(JWKS_MAX_AGE_S, Math.floor((view.until - now) / 1000)));
}
