/**
 * Replica sync: copies a secret's current value from the primary store into each store its policy
 * names under `replicas:`, each replica with its own status, attempts and back-off
 * (./repo.ts). A replica that fails never undoes anything on the primary: it stays behind, its lag
 * grows, and the catch-up pass tries it again until it holds the primary's current.
 *
 * - `copy(path, version, replicas)`: the propagate step's part, with the version it made current.
 * - `catchUp()`: the pass `keyturn server`, `keyturn worker` and `keyturn replicas sync` run: it
 *   notes each replicated secret's current version (from the primary's version list: no value is
 *   read for a replica already in sync), then copies to every replica whose next attempt is due.
 *
 * A copy puts the value under the primary's version id with the stage `current` (idempotent: a
 * copy retried after a crash writes nothing twice), then moves `current` onto it if the replica
 * already had that version under another stage (a rollback on the primary). Each copy is audited
 * as `secret.replicate` with `source: replica:<name>`; values never reach the log or an error.
 *
 * @example
 * ```ts
 * const sync = new ReplicaSync({ state, primary: store, applied, clock, log, open: (name) => replicaStores.open(name) });
 * await sync.copy('app/db', version, ['aws-eu', 'oci-fra']); // { total: 2, failed: 0, ... }
 * await sync.catchUp();                                       // { checked, copied, failed }
 * ```
 */
import { isKeyturnError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Version } from '../core/types.js';
import type { AppliedConfig } from '../engine/applied.js';
import type { StateDb } from '../state/db.js';
import type { SecretStore } from '../stores/store.js';
import { ReplicaRepo, type ReplicaRow, type WantedVersion } from './repo.js';

/** A copy to one replica, for the audit log (never a value). */
export interface ReplicaAuditEvent {
  readonly path: string;
  readonly replica: string;
  readonly versionId: string;
  readonly outcome: 'success' | 'failure';
  readonly errorCode: string | null;
  readonly runId?: string;
  readonly correlationId?: string;
}

/** Who the catch-up pass acts as, in the audit log. */
export const REPLICAS_CONTEXT = Object.freeze({ actor: 'system:replicas', source: 'replicas', correlationId: null });

/**
 * The catch-up pass as a periodic job of keyturn server and keyturn worker (every `everyMs`).
 *
 * @example
 * ```ts
 * startJobs([replicaJob(() => kt.replicasFor(REPLICAS_CONTEXT), 10_000)], kt.log);
 * ```
 */
export function replicaJob(sync: () => Promise<ReplicaSync>, everyMs: number): { name: string; everyMs: number; run(): Promise<CatchUpReport> } {
  let made: Promise<ReplicaSync> | undefined;
  return { name: 'replica-catch-up', everyMs, run: async () => (await (made ??= sync())).catchUp() };
}

export interface ReplicaSyncDeps {
  readonly state: StateDb;
  /** The primary store (its reads here are the sync's own: a view without read audit is right). */
  readonly primary: SecretStore;
  readonly applied: AppliedConfig;
  readonly clock: Clock;
  readonly log: Logger;
  /** The replica store named `name` under `stores:` (opened once, kept). */
  readonly open: (name: string) => Promise<SecretStore>;
  readonly audit?: (event: ReplicaAuditEvent) => Promise<void>;
}

export interface CopyReport {
  readonly total: number;
  readonly failed: number;
  /** One line per replica: `aws-eu: has version 3` or `oci-fra: KT_STORE_UNAVAILABLE (...)`. */
  readonly lines: readonly string[];
}

export interface CatchUpReport {
  /** Replicated secrets whose current version was noted. */
  readonly checked: number;
  readonly copied: number;
  readonly failed: number;
}

export class ReplicaSync {
  readonly repo: ReplicaRepo;

  constructor(private readonly d: ReplicaSyncDeps) {
    this.repo = new ReplicaRepo(d.state);
  }

  /** Copies `version` (the primary's current, with its value) of `path` to each of `replicas`; failures are recorded, never thrown. */
  async copy(path: string, version: Version, replicas: readonly string[], run?: { id: string; correlationId: string }): Promise<CopyReport> {
    const wanted = { id: version.id, number: version.number };
    await this.repo.want(path, replicas, wanted, this.d.clock.now());
    const lines: string[] = [];
    let failed = 0;
    for (const replica of replicas) {
      const row = await this.repo.get(path, replica);
      if (row?.version_id === version.id) {
        lines.push(`${replica}: has version ${version.number}`);
        continue;
      }
      const error = await this.copyOne(path, replica, version, run);
      if (error === null) lines.push(`${replica}: has version ${version.number}`);
      else {
        failed += 1;
        lines.push(`${replica}: ${error.code} (${error.message})`);
      }
    }
    return { total: replicas.length, failed, lines };
  }

  /**
   * Notes every replicated secret's current version, then copies to each replica behind whose next
   * attempt is due (`all`: every replica behind, back-off or not: `keyturn replicas sync`).
   */
  async catchUp(options: { all?: boolean } = {}): Promise<CatchUpReport> {
    const checked = await this.note();
    let copied = 0;
    let failed = 0;
    for (const row of await this.repo.behind(options.all ? Number.POSITIVE_INFINITY : this.d.clock.now())) {
      const outcome = await this.syncRow(row);
      if (outcome === 'copied') copied += 1;
      else if (outcome === 'failed') failed += 1;
    }
    return { checked, copied, failed };
  }

  /** Copies the version `row` wants from the primary to its replica now: `copied`, `failed` (recorded), or `skipped` when the primary did not give it. */
  async syncRow(row: Pick<ReplicaRow, 'path' | 'replica' | 'wanted_version_id'>): Promise<'copied' | 'failed' | 'skipped'> {
    let version: Version | null;
    try {
      version = await this.d.primary.get(row.path, { versionId: row.wanted_version_id });
    } catch (e) {
      // The primary cannot give it (unreachable, or the version is gone): the next pass notes the current again.
      this.d.log.warn({ path: row.path, replica: row.replica, code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'replica catch-up: the primary did not give the wanted version');
      return 'skipped';
    }
    if (version === null) return 'skipped';
    return (await this.copyOne(row.path, row.replica, version)) === null ? 'copied' : 'failed';
  }

  /** Records the primary's current version of `path` as what `replicas` should hold (no value read). */
  async notePath(path: string, replicas: readonly string[]): Promise<void> {
    const current = await this.currentOf(path);
    if (current !== null) await this.repo.want(path, replicas, current, this.d.clock.now());
  }

  /** Records each replicated secret's current version as what its replicas should hold (no value read); forgets replicas no policy names. Returns how many secrets. */
  async note(): Promise<number> {
    const now = this.d.clock.now();
    let checked = 0;
    for (const policy of await this.d.applied.policies()) {
      const replicas = policy.replicas ?? [];
      await this.repo.prune(policy.path, replicas);
      if (replicas.length === 0) continue;
      const current = await this.currentOf(policy.path);
      if (current === null) continue;
      await this.repo.want(policy.path, replicas, current, now);
      checked += 1;
    }
    await this.repo.forgetPathsBut((await this.d.applied.policies()).map((p) => p.path));
    return checked;
  }

  /** The primary's current version of `path` (no value read), or null when there is none. */
  private async currentOf(path: string): Promise<WantedVersion | null> {
    try {
      const v = (await this.d.primary.versions(path)).find((x) => x.stages.includes('current'));
      return v === undefined ? null : { id: v.id, number: v.number };
    } catch (e) {
      if (isKeyturnError(e, 'KT_SECRET_NOT_FOUND') || isKeyturnError(e, 'KT_SECRET_DELETED')) return null;
      throw e;
    }
  }

  /** One copy, its status row and audit event written; the error (code and message) or null. */
  private async copyOne(path: string, replica: string, version: Version, run?: { id: string; correlationId: string }): Promise<{ code: string; message: string } | null> {
    const base = { path, replica, versionId: version.id, ...(run ? { runId: run.id, correlationId: run.correlationId } : {}) };
    try {
      const store = await this.d.open(replica);
      await writeReplica(store, path, version);
      await this.repo.synced(path, replica, { id: version.id, number: version.number }, this.d.clock.now());
      await this.d.audit?.({ ...base, outcome: 'success', errorCode: null });
      this.d.log.debug({ path, replica, version: version.number }, 'replica has the current version');
      return null;
    } catch (e) {
      const error = isKeyturnError(e) ? { code: e.code, message: e.message } : { code: 'KT_STORE_FAILED', message: `unexpected ${e instanceof Error ? e.name : 'error'}` };
      const row = await this.repo.failed(path, replica, error, this.d.clock.now());
      await this.d.audit?.({ ...base, outcome: 'failure', errorCode: error.code });
      this.d.log.warn({ path, replica, code: error.code, attempts: row?.attempts }, 'replica copy failed; it is tried again');
      return error;
    }
  }
}

/** Puts `version` on `store` as its current, under the primary's version id (idempotent). */
export async function writeReplica(store: SecretStore, path: string, version: Version): Promise<void> {
  const put = await store.put(path, version.value, { versionId: version.id, stages: ['current'] });
  if (put.stages.includes('current')) return;
  // The replica had this version already, not as current (a rollback on the primary): move current back onto it.
  const current = (await store.versions(path)).find((v) => v.stages.includes('current'));
  await store.moveStage(path, 'current', put.id, current?.id ?? null);
}
