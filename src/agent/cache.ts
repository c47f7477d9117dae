/**
 * What the agent holds of each secret its templates use: the last version a server answered
 * (path, version id, number, value, when it was first fetched) and when a server last confirmed
 * it was current. Kept in memory and, sealed, on disk (./cache-store.ts), so a restart while no
 * server answers can still render and answer from it.
 *
 * Fresh, per secret: confirmed by a server less than `cacheTtl` ago. A version read on the open
 * change stream stays confirmed while the stream stays open (a change would arrive as an event);
 * when the stream closes, "confirmed" stops at that moment. While connected, the confirmation is
 * written to disk every ttl/3 (at most every minute), so even after a `kill -9` the disk is at
 * most that far behind (it can only make the cache stale sooner, never fresher). Past `cacheTtl`
 * the agent fails closed: nothing is served from the cache (./health.ts, ./local-api.ts).
 *
 * A new version is on disk before it is returned to be rendered (`confirmed` waits for the
 * write; renamed into place, not fsynced: see ./cache-store.ts), so the cache never holds an
 * older version than the rendered files: a restart with no server never rolls a file back. The
 * checkpoints, the stream's end and `close()` write with fsyncs. A server's refusal (401, 403, 404: the secret is gone or no
 * longer readable) removes the secret from the cache.
 *
 * The disk is best effort: when the store cannot be used (KT_AGENT_CACHE_UNAVAILABLE) or a write
 * fails, the agent logs it and goes on with the cache in memory. Never a value in a log line.
 *
 * @example
 * ```ts
 * const cache = await openAgentCache(config, log, clock);
 * await cache.confirmed(secret);    // read from a server just now
 * cache.fresh('app/db');            // true within cacheTtl of the last confirmation
 * cache.freshVersion('app/db');     // the version to serve, or undefined (fail closed)
 * await cache.close();
 * ```
 */
import type { Clock } from '../core/clock.js';
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SecretValue } from '../core/types.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import type { AgentConfig } from './config.js';
import { openCacheStore, type CacheStore } from './cache-store.js';

export interface CachedVersion extends DeliveredSecret {
  /** When this version was first read from a server. */
  readonly fetchedAt: number;
  /** When a server last confirmed it was the current version (stored; see `confirmedAt()`). */
  readonly confirmedAt: number;
}

/** The JSON sealed on disk. */
interface CacheDoc {
  version: 1;
  lastContactAt: number | null;
  entries: CachedVersion[];
}

export interface AgentCacheOptions {
  readonly ttlMs: number;
  /** The secrets the templates use: only these are kept. */
  readonly paths: readonly string[];
  readonly clock: Clock;
  readonly log: Logger;
  /** null: in memory only. */
  readonly store: CacheStore | null;
  /** Why there is no store (a KT_AGENT_CACHE_UNAVAILABLE message), for the health endpoint. */
  readonly problem?: string | null;
}

/** Opens the cache of `config` (its folder and key), loading what is on disk; never throws. */
export async function openAgentCache(config: Pick<AgentConfig, 'cacheDir' | 'cacheKeyFile' | 'cacheTtlMs' | 'templates'>, log: Logger, clock: Clock): Promise<AgentCache> {
  let store: CacheStore | null = null;
  let problem: string | null = null;
  try {
    store = await openCacheStore({ dir: config.cacheDir, keyFile: config.cacheKeyFile, log });
  } catch (e) {
    problem = isKeyturnError(e) ? e.message : (e as Error).name;
    log.warn(
      { code: 'KT_AGENT_CACHE_UNAVAILABLE', dir: config.cacheDir, message: problem },
      'agent: no cache on disk; the cache is kept in memory only (a restart while no server answers renders nothing)',
    );
  }
  const cache = new AgentCache({ ttlMs: config.cacheTtlMs, paths: config.templates.map((t) => t.secret), clock, log, store, problem });
  await cache.load();
  return cache;
}

export class AgentCache {
  readonly #o: AgentCacheOptions;
  readonly #paths: ReadonlySet<string>;
  readonly #entries = new Map<string, CachedVersion>();
  /** Secrets read on the change stream that is open now: confirmed for as long as it stays open. */
  readonly #onStream = new Set<string>();
  #connected = false;
  #lastContactAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #dirty = false;
  /** Whether a write asked for since the last one must be durable (fsynced). */
  #durable = false;
  /** Whether the last write was not fsynced (close() then writes once more, durably). */
  #undurable = false;
  #writing: Promise<void> | null = null;
  #problem: string | null;

  constructor(o: AgentCacheOptions) {
    this.#o = o;
    this.#paths = new Set(o.paths);
    this.#problem = o.problem ?? null;
  }

  /** The folder's sealed file, or null in memory only. */
  get file(): string | null {
    return this.#o.store?.file ?? null;
  }

  /** Why the cache is not (or no longer) written to disk, or null. */
  get problem(): string | null {
    return this.#problem;
  }

  /** The last time a server answered (a read, or the change stream open). */
  get lastContactAt(): number | null {
    return this.#connected ? this.#o.clock.now() : this.#lastContactAt;
  }

  /** Whether the agent's templates use `path`. */
  holds(path: string): boolean {
    return this.#paths.has(path);
  }

  /** The version held of `path`, fresh or not. */
  get(path: string): CachedVersion | undefined {
    return this.#entries.get(path);
  }

  /** When a server last confirmed the version held of `path` (now, while the stream it was read on is open). */
  confirmedAt(path: string): number | null {
    const e = this.#entries.get(path);
    if (e === undefined) return null;
    return this.#onStream.has(path) ? this.#o.clock.now() : e.confirmedAt;
  }

  /** Whether the version held of `path` was confirmed less than cacheTtl ago. */
  fresh(path: string): boolean {
    const at = this.confirmedAt(path);
    return at !== null && this.#o.clock.now() - at < this.#o.ttlMs;
  }

  /** The version of `path` to serve, or undefined when there is none or it is stale (fail closed). */
  freshVersion(path: string): CachedVersion | undefined {
    return this.fresh(path) ? this.#entries.get(path) : undefined;
  }

  /** Reads what is on disk (entries of secrets no template uses are dropped). */
  async load(): Promise<void> {
    const doc = (await this.#o.store?.load()) ?? null;
    if (doc === null) return;
    const entries = parseDoc(doc);
    if (entries === null) {
      this.#o.log.warn({ file: this.file }, 'agent: the cache does not hold what this agent writes; ignored (it is written again from the servers)');
      return;
    }
    const now = this.#o.clock.now();
    for (const e of entries.entries) {
      if (!this.#paths.has(e.path)) continue;
      // A clock set back since: never fresher than "now".
      this.#entries.set(e.path, { ...e, confirmedAt: Math.min(e.confirmedAt, now) });
    }
    this.#lastContactAt = entries.lastContactAt === null ? null : Math.min(entries.lastContactAt, now);
    this.#o.log.info({ file: this.file, secrets: this.#entries.size }, 'agent: cache loaded');
  }

  /** A server answered `secret` as the current version; waits until a new version is on disk. */
  async confirmed(secret: DeliveredSecret): Promise<void> {
    if (!this.#paths.has(secret.path)) return;
    const now = this.#o.clock.now();
    const held = this.#entries.get(secret.path);
    const same = held !== undefined && held.versionId === secret.versionId;
    this.#entries.set(secret.path, { path: secret.path, versionId: secret.versionId, number: secret.number, value: secret.value, fetchedAt: same ? held.fetchedAt : now, confirmedAt: now });
    this.#lastContactAt = now;
    if (this.#connected) this.#onStream.add(secret.path);
    // The hot path: on disk before the file is rendered, without fsyncs (the stream's end, the checkpoints and close write durably).
    const written = this.#persist(false);
    if (!same) await written;
  }

  /** A read of `path` failed: it is no longer confirmed by the stream; a server's refusal (401, 403, 404) forgets it. */
  failed(path: string, refused: boolean): void {
    this.#onStream.delete(path);
    if (refused && this.#entries.delete(path)) {
      this.#o.log.info({ path }, 'agent: a server refused the secret; removed from the cache');
      void this.#persist();
    }
  }

  /** The change stream opened. */
  streamOpened(): void {
    this.#connected = true;
    this.#lastContactAt = this.#o.clock.now();
    this.#onStream.clear();
    this.#stopTimer();
    const every = Math.min(60_000, Math.max(200, Math.floor(this.#o.ttlMs / 3)));
    this.#timer = setInterval(() => this.#checkpoint(), every);
    this.#timer.unref();
  }

  /** The change stream closed: what it confirmed was confirmed until now. */
  streamClosed(): void {
    if (!this.#connected) return;
    this.#checkpoint();
    this.#connected = false;
    this.#onStream.clear();
    this.#stopTimer();
  }

  /** Resolves when what is in memory is on disk (or its write failed). */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }

  async close(): Promise<void> {
    this.streamClosed();
    this.#stopTimer();
    await this.flush();
    if (this.#undurable) await this.#persist(true);
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Moves the confirmation of what the open stream vouches for to now, and writes it. */
  #checkpoint(): void {
    const now = this.#o.clock.now();
    for (const path of this.#onStream) {
      const e = this.#entries.get(path);
      if (e !== undefined) this.#entries.set(path, { ...e, confirmedAt: now });
    }
    this.#lastContactAt = now;
    void this.#persist();
  }

  /** Writes the cache (one write at a time; changes during a write make one more). */
  #persist(durable = true): Promise<void> {
    const store = this.#o.store;
    if (store === null) return Promise.resolve();
    this.#dirty = true;
    this.#durable ||= durable;
    if (this.#writing !== null) return this.#writing;
    this.#writing = (async () => {
      try {
        while (this.#dirty) {
          const durably = this.#durable;
          this.#dirty = false;
          this.#durable = false;
          const doc: CacheDoc = { version: 1, lastContactAt: this.#lastContactAt, entries: [...this.#entries.values()] };
          try {
            await store.save(doc, durably);
            this.#undurable = !durably;
            if (this.#problem !== null) this.#o.log.info({ file: store.file }, 'agent: the cache is written to disk again');
            this.#problem = null;
          } catch (e) {
            const message = isKeyturnError(e) ? e.message : (e as Error).name;
            if (this.#problem !== message) this.#o.log.warn({ code: 'KT_AGENT_CACHE_UNAVAILABLE', file: store.file, message }, 'agent: the cache cannot be written; kept in memory');
            this.#problem = message;
          }
        }
      } finally {
        this.#writing = null;
      }
    })();
    return this.#writing;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The entries of a decrypted cache document, or null when it is not one this agent writes. */
function parseDoc(doc: unknown): { lastContactAt: number | null; entries: CachedVersion[] } | null {
  if (!isObject(doc) || doc.version !== 1 || !Array.isArray(doc.entries) || !(doc.lastContactAt === null || isTime(doc.lastContactAt))) return null;
  const entries: CachedVersion[] = [];
  for (const e of doc.entries) {
    if (!isObject(e)) return null;
    const { path, versionId, number, value, fetchedAt, confirmedAt } = e;
    if (typeof path !== 'string' || typeof versionId !== 'string' || !Number.isSafeInteger(number) || !isTime(fetchedAt) || !isTime(confirmedAt)) return null;
    if (typeof value !== 'string' && !isObject(value)) return null;
    entries.push({ path, versionId, number: number as number, value: value as SecretValue, fetchedAt, confirmedAt });
  }
  return { lastContactAt: doc.lastContactAt, entries };
}
