/**
 * The embedded store's stage read (every API read runs it) through a cache of its rows
 * (../../state/read-cache.ts): while no other connection or process committed and this one wrote
 * none of the secrets' tables, the rows read for a path and stage answer again without a query.
 * The rows hold the sealed value (still encrypted; it is opened per read, as without the cache).
 *
 * @example
 * ```ts
 * const rows = await stagedRows(state, 'prod/db/app', 'current');
 * ```
 */
import type { Stage } from '../../core/types.js';
import type { StateDb } from '../../state/db.js';
import { readCache } from '../../state/read-cache.js';
import * as sql from './sql.js';

type Rows = Awaited<ReturnType<typeof sql.stagedVersion.rows>>;

/** Tables the stage read reads (a cascade from `secrets` stays among them). */
const TABLES = ['secrets', 'secret_stages', 'secret_versions'] as const;

const cache = readCache<Rows>({
  tables: TABLES,
  maxEntries: 4096,
  maxBytes: 8 * 1024 * 1024,
  bytesOf: (rows) => rows.reduce((n, r) => n + 256 + r.path.length + (r.sealed?.length ?? 0), 0),
});

/** The stage read's rows for `path` and `stage` (see ./sql.ts, stagedVersion). */
export function stagedRows(state: StateDb, path: string, stage: Stage): Promise<Rows> {
  return cache.get(state, `${stage}\u0000${path}`, () => sql.stagedVersion.rows(state, state.db, { path, stage }));
}
