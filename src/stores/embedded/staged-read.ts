/**
 * The embedded store's stage read (every API read runs it) through a cache of its rows
 * (../../state/read-cache.ts): while no other connection or process committed and this one wrote
 * none of the secrets' tables, the rows read for a path and stage answer again without a query.
 * The rows hold the sealed value (still encrypted). An entry may also carry the version its rows
 * open to (`opened`), which the store sets and keeps only as long as its value cache allows
 * (`KEYTURN_VALUE_CACHE_SECONDS`, ./embedded-store.ts): it goes with the entry, so any change that
 * empties the cache drops it too.
 *
 * @example
 * ```ts
 * const entry = await stagedEntry(state, 'prod/db/app', 'current');
 * entry.rows; // the stage read's rows
 * ```
 */
import type { Stage, Version } from '../../core/types.js';
import type { StateDb } from '../../state/db.js';
import { readCache } from '../../state/read-cache.js';
import * as sql from './sql.js';

type Rows = Awaited<ReturnType<typeof sql.stagedVersion.rows>>;

/** A stage read's rows, and the version they open to while the store's value cache keeps it. */
export interface StagedEntry {
  readonly rows: Rows;
  /** The opened version of this entry's stage (frozen value and stages) and until when it may answer (the store's clock, epoch ms). */
  opened?: { readonly version: Version; readonly until: number };
}

/** Tables the stage read reads (a cascade from `secrets` stays among them). */
const TABLES = ['secrets', 'secret_stages', 'secret_versions'] as const;

const cache = readCache<StagedEntry>({
  tables: TABLES,
  maxEntries: 4096,
  maxBytes: 8 * 1024 * 1024,
  // The sealed value counts twice: once as stored, once for the value it may be opened to.
  bytesOf: (entry) => entry.rows.reduce((n, r) => n + 256 + r.path.length + 2 * (r.sealed?.length ?? 0), 0),
});

/**
 * The stage read's rows for `path` and `stage` (see ./sql.ts, stagedVersion), in the entry the
 * cache keeps: the entry itself when the cache has it (no promise: the hot path), else a promise.
 */
export function stagedEntry(state: StateDb, path: string, stage: Stage): StagedEntry | Promise<StagedEntry> {
  const key = `${stage}\u0000${path}`;
  return cache.peek(state, key) ?? cache.get(state, key, async () => ({ rows: await sql.stagedVersion.rows(state, state.db, { path, stage }) }));
}
