/**
 * Every live secret's head: when it was made, its current version and when that was made; from
 * the embedded store's tables and, for an outside primary store, from the heads its writes keep
 * (`store_heads`, src/stores/heads.ts). No value is read. The readers that must not call the
 * store (expiry notices, the metrics snapshot) take it from here.
 *
 * @example
 * ```ts
 * for (const h of await liveHeads(state)) console.log(h.path, h.currentAt);
 * ```
 */
import type { StateDb } from './db.js';

export interface LiveHead {
  readonly path: string;
  readonly createdAt: number;
  readonly currentVersionId: string | null;
  /** When the current version was made; null when the secret has none. */
  readonly currentAt: number | null;
}

export async function liveHeads(state: StateDb): Promise<LiveHead[]> {
  const embedded = await state.db
    .selectFrom('secrets as s')
    .leftJoin('secret_stages as st', (j) => j.onRef('st.secret_id', '=', 's.id').on('st.stage', '=', 'current'))
    .leftJoin('secret_versions as v', (j) => j.onRef('v.secret_id', '=', 's.id').onRef('v.id', '=', 'st.version_id'))
    .select(['s.path', 's.created_at', 'v.id', 'v.created_at as current_at'])
    .where('s.deleted_at', 'is', null)
    .execute();
  const outside = await state.db.selectFrom('store_heads').select(['path', 'created_at', 'current_version_id as id', 'current_at']).where('deleted_at', 'is', null).execute();
  const num = (x: number | string | null) => (x === null ? null : Number(x));
  return [...embedded, ...outside].map((r) => ({ path: r.path, createdAt: Number(r.created_at), currentVersionId: r.id ?? null, currentAt: num(r.current_at) }));
}
