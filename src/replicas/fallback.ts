/**
 * Read-only fallback replicas (`stores: { name: { ..., fallback: true } }`): the two rules that
 * make a replica safe to read from when the primary store cannot be reached.
 *
 * - **Reads fall back** (`read`): while the primary answers KT_STORE_UNAVAILABLE, a read of a
 *   secret goes to its fallback replicas, the one holding the newest version first; the version
 *   says which replica served it (`servedBy: 'replica:<name>'`). Never while the primary answers.
 * - **Writes wait until it has caught up** (`blocker`): before a new value is written (a rotation's
 *   pending version, a `secret put`), each fallback replica of the secret must hold the primary's
 *   current version. One behind is copied to now; one that still cannot be written to blocks the
 *   write (the rotation waits at `create`, a put is refused with KT_REPLICA_BEHIND). So a fallback
 *   replica is never more than one version behind the primary: the current, or, while a copy of
 *   a new value is failing, the one before it.
 *
 * Which replicas hold a secret comes from `replica_status` (./repo.ts); a secret with no row
 * there has no replicas and costs one indexed query per write, nothing per read.
 *
 * @example
 * ```ts
 * const fallback = new ReplicaFallback({ state, sync: () => kt.replicasFor(ctx), open: (n) => replicaStores.open(n), log });
 * await fallback.blocker('app/db');                              // null, or { replica: 'vault-dr', holds: 3, wants: 4, ... }
 * await fallback.read('app/db', (s) => s.get('app/db', { stage: 'current' })); // { result, replica } or null
 * ```
 */
import type { Logger } from '../core/logger.js';
import type { StateDb } from '../state/db.js';
import type { SecretStore } from '../stores/store.js';
import { ReplicaRepo, type ReplicaRow } from './repo.js';
import type { ReplicaSync } from './sync.js';

/** Why a new value of a secret cannot be written yet: a fallback replica that does not hold the current version. */
export interface FallbackBlocker {
  readonly replica: string;
  /** The version number the replica holds (null: none yet). */
  readonly holds: number | null;
  /** The primary's current version number, which it should hold. */
  readonly wants: number;
  /** When the next copy is tried (epoch ms). */
  readonly nextAttemptAt: number | null;
  /** The last copy's error code, if one failed. */
  readonly errorCode: string | null;
}

export interface ReplicaFallbackDeps {
  readonly state: StateDb;
  /** The replica sync over the primary as it is (never through the fallback itself). */
  readonly sync: () => Promise<ReplicaSync>;
  /** The replica store named `name` under `stores:`. */
  readonly open: (name: string) => Promise<SecretStore>;
  readonly log: Pick<Logger, 'warn'>;
}

export class ReplicaFallback {
  private readonly repo: ReplicaRepo;

  constructor(private readonly d: ReplicaFallbackDeps) {
    this.repo = new ReplicaRepo(d.state);
  }

  /** The names of the stores marked `fallback: true` (the stores' config, and zod, load only for a secret that has replicas). */
  private async fallbackNames(): Promise<Set<string>> {
    const { fallbackStores } = await import('./config.js');
    return fallbackStores(this.d.state);
  }

  /** `path`'s replica rows of the stores in `names`. */
  private async rowsIn(path: string, names: Set<string>): Promise<ReplicaRow[]> {
    return (await this.repo.rowsOf(path)).filter((r) => names.has(r.replica));
  }

  /**
   * Null when a new value of `path` may be written now; else the first fallback replica that does
   * not hold the primary's current version even after a copy was tried just now.
   */
  async blocker(path: string): Promise<FallbackBlocker | null> {
    const all = await this.repo.rowsOf(path);
    if (all.length === 0) return null;
    const names = await this.fallbackNames();
    const rows = all.filter((r) => names.has(r.replica));
    if (rows.length === 0) return null;
    const sync = await this.d.sync();
    // What the primary has as current now (a `secret put` since the last pass included).
    await sync.notePath(
      path,
      rows.map((r) => r.replica),
    );
    for (const row of await this.rowsIn(path, names)) {
      if (row.version_id !== row.wanted_version_id) await sync.syncRow(row);
    }
    const behind = (await this.rowsIn(path, names)).find((r) => r.version_id !== r.wanted_version_id);
    if (behind === undefined) return null;
    return { replica: behind.replica, holds: behind.version_number, wants: behind.wanted_number, nextAttemptAt: behind.next_attempt_at, errorCode: behind.error_code };
  }

  /**
   * Runs `fn` on the fallback replicas of `path` that hold a version of it, the newest first,
   * until one answers; its result and name, or null when none could (or the secret has none).
   */
  async read<T>(path: string, fn: (store: SecretStore) => Promise<T>): Promise<{ result: T; replica: string } | null> {
    const all = await this.repo.rowsOf(path);
    if (all.length === 0) return null;
    const names = await this.fallbackNames();
    const rows = all.filter((r) => names.has(r.replica) && r.version_id !== null).sort((a, b) => (b.version_number ?? 0) - (a.version_number ?? 0));
    for (const row of rows) {
      try {
        const result = await fn(await this.d.open(row.replica));
        this.d.log.warn({ path, replica: row.replica, version: row.version_number }, 'the primary store is unreachable: read served by a fallback replica');
        return { result, replica: row.replica };
      } catch (e) {
        this.d.log.warn({ path, replica: row.replica, code: (e as { code?: string }).code ?? 'KT_INTERNAL' }, 'fallback replica did not answer either');
      }
    }
    return null;
  }
}
