/**
 * Rows of a hot read (the embedded store's stage read: every API read runs it) kept while the
 * committed state they came from is unchanged, on SQLite: a cached answer is used only while the
 * connection's `readVersion` token (./sqlite-adapter.ts) for the tables the rows come from is the one
 * they were read under, i.e. no other connection or process committed anything (`PRAGMA
 * data_version`) and this connection wrote none of those tables. Any change empties the cache, so
 * a value stored by the CLI beside a running server is read from the database at the next read
 * batch, as without the cache. On PostgreSQL (no such token) every call reads.
 *
 * It keeps what `read()` returned (for secrets: the rows, the sealed value still encrypted, in an
 * entry the store may add the opened value to: ../stores/embedded/staged-read.ts), bounded by
 * entries and bytes; per state database.
 *
 * @example
 * ```ts
 * const staged = readCache<Row[]>({ tables: ['secrets', 'secret_stages', 'secret_versions'], maxEntries: 4096, maxBytes: 8 << 20, bytesOf: (rows) => rows.length * 256 });
 * const rows = await staged.get(state, `current\u0000${path}`, () => stagedVersion.rows(state, state.db, { path, stage: 'current' }));
 * ```
 */
import type { StateDb } from './db.js';

export interface ReadCacheOptions<R> {
  /** The tables the cached rows come from: a write to any of them (by this connection) empties the cache. */
  readonly tables: readonly string[];
  /** Entries kept; beyond that the cache starts again empty. */
  readonly maxEntries: number;
  /** Bytes kept (as `bytesOf` counts them); beyond that the cache starts again empty. */
  readonly maxBytes: number;
  bytesOf(rows: R): number;
}

export interface ReadCache<R> {
  /** The cached rows for `key` while the state is unchanged, else `read()`'s (kept when read under that same state). */
  get(state: StateDb, key: string, read: () => Promise<R>): Promise<R>;
  /** The cached rows for `key` while the state is unchanged, else undefined: a hit without a promise (then `get` reads). */
  peek(state: StateDb, key: string): R | undefined;
}

interface Entries<R> {
  readonly version: string;
  readonly rows: Map<string, R>;
  bytes: number;
}

/** A cache of rows keyed by the state they were read under (see the module header). */
export function readCache<R>(options: ReadCacheOptions<R>): ReadCache<R> {
  const { tables, maxEntries, maxBytes, bytesOf } = options;
  const byState = new WeakMap<StateDb, Entries<R>>();
  const versionOf = (state: StateDb): string | undefined => state.sqlite?.readVersion?.(tables);
  return {
    peek: (state, key) => {
      const version = versionOf(state);
      if (version === undefined) return undefined;
      const entries = byState.get(state);
      return entries !== undefined && entries.version === version ? entries.rows.get(key) : undefined;
    },
    get: async (state, key, read) => {
      const version = versionOf(state);
      if (version === undefined) return read();
      let entries = byState.get(state);
      if (entries === undefined || entries.version !== version) byState.set(state, (entries = { version, rows: new Map(), bytes: 0 }));
      const hit = entries.rows.get(key);
      if (hit !== undefined) return hit;
      const rows = await read();
      // Kept only if nothing changed while it was read (the read runs in the batch the token came from).
      if (versionOf(state) !== version || byState.get(state) !== entries) return rows;
      const bytes = bytesOf(rows);
      if (entries.rows.size >= maxEntries || entries.bytes + bytes > maxBytes) {
        entries.rows.clear();
        entries.bytes = 0;
      }
      if (bytes <= maxBytes) {
        entries.rows.set(key, rows);
        entries.bytes += bytes;
      }
      return rows;
    },
  };
}
