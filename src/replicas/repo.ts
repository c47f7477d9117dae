/**
 * The `replica_status` rows (migration 0018): what each replica of a secret should hold (the
 * primary's current, and since when), what it holds, and, while behind, its failed attempts and
 * the next one. Lag is `now - wanted_since` while the replica does not hold the wanted version, 0
 * once it does: computed from the rows alone, so `/metrics` and `replicas status` read no store.
 *
 * @example
 * ```ts
 * const repo = new ReplicaRepo(state);
 * await repo.want('app/db', ['aws-eu'], { id: v.id, number: v.number }, now);
 * await repo.synced('app/db', 'aws-eu', { id: v.id, number: v.number }, now);
 * lagSeconds(await repo.get('app/db', 'aws-eu'), now); // 0
 * ```
 */
import type { StateDb } from '../state/db.js';
import type { ReplicaStatusTable } from '../state/schema.js';

export type ReplicaRow = ReplicaStatusTable;

/** A version of the primary, as a replica should hold it. */
export interface WantedVersion {
  readonly id: string;
  readonly number: number;
}

/** How long the replica has been without the version it should hold, in seconds (0 when in sync). */
export function lagSeconds(row: Pick<ReplicaRow, 'wanted_version_id' | 'version_id' | 'wanted_since'>, now: number): number {
  return row.version_id === row.wanted_version_id ? 0 : Math.max(0, Math.round((now - row.wanted_since) / 1000));
}

/** The wait before the next attempt after `attempts` failed ones: 5 s doubling to at most 60 s. */
export function retryDelayMs(attempts: number): number {
  return Math.min(60_000, 5_000 * 2 ** Math.max(0, attempts - 1));
}

export class ReplicaRepo {
  constructor(private readonly state: StateDb) {}

  /**
   * Records that `replicas` of `path` should hold `version` from `now` on. A row already wanting it
   * is left alone (its lag keeps counting from when it was first wanted); a replica that already
   * holds it stays in sync.
   */
  async want(path: string, replicas: readonly string[], version: WantedVersion, now: number): Promise<void> {
    for (const replica of replicas) {
      const row = await this.get(path, replica);
      if (row?.wanted_version_id === version.id) continue;
      const values = { wanted_version_id: version.id, wanted_number: version.number, wanted_since: now, attempts: 0, error_code: null, error_message: null, next_attempt_at: now, updated_at: now };
      await this.state.db
        .insertInto('replica_status')
        .values({ path, replica, version_id: null, version_number: null, synced_at: null, ...values })
        .onConflict((oc) => oc.columns(['path', 'replica']).doUpdateSet(values))
        .execute();
    }
  }

  /** The replica holds `version` now. */
  async synced(path: string, replica: string, version: WantedVersion, now: number): Promise<void> {
    await this.state.db
      .updateTable('replica_status')
      .set({ version_id: version.id, version_number: version.number, synced_at: now, attempts: 0, error_code: null, error_message: null, next_attempt_at: null, updated_at: now })
      .where('path', '=', path)
      .where('replica', '=', replica)
      .execute();
  }

  /** An attempt failed: counted, its error kept (code and message, never a value), the next one after a back-off. */
  async failed(path: string, replica: string, error: { code: string; message: string }, now: number): Promise<ReplicaRow | undefined> {
    const row = await this.get(path, replica);
    if (!row) return undefined;
    const attempts = row.attempts + 1;
    await this.state.db
      .updateTable('replica_status')
      .set({ attempts, error_code: error.code, error_message: error.message, next_attempt_at: now + retryDelayMs(attempts), updated_at: now })
      .where('path', '=', path)
      .where('replica', '=', replica)
      .execute();
    return this.get(path, replica);
  }

  async get(path: string, replica: string): Promise<ReplicaRow | undefined> {
    return this.state.db.selectFrom('replica_status').selectAll().where('path', '=', path).where('replica', '=', replica).executeTakeFirst();
  }

  /** The rows of one secret, by replica. */
  async of(path: string): Promise<ReplicaRow[]> {
    return this.state.db.selectFrom('replica_status').selectAll().where('path', '=', path).orderBy('replica').execute();
  }

  /** Every row, by path then replica. */
  async all(): Promise<ReplicaRow[]> {
    return this.state.db.selectFrom('replica_status').selectAll().orderBy('path').orderBy('replica').execute();
  }

  /** Rows behind whose next attempt is due at `now` (Infinity: every row behind). */
  async behind(now: number): Promise<ReplicaRow[]> {
    if (now === Number.POSITIVE_INFINITY) return (await this.all()).filter((r) => r.version_id !== r.wanted_version_id);
    const rows = await this.state.db.selectFrom('replica_status').selectAll().where('next_attempt_at', '<=', now).orderBy('next_attempt_at').execute();
    return rows.filter((r) => r.version_id !== r.wanted_version_id);
  }

  /** Forgets the replicas of `path` not in `keep` (a secret no longer naming them). */
  async prune(path: string, keep: readonly string[]): Promise<void> {
    let q = this.state.db.deleteFrom('replica_status').where('path', '=', path);
    if (keep.length > 0) q = q.where('replica', 'not in', [...keep]);
    await q.execute();
  }

  /** Forgets the rows of secrets no longer managed (their policy removed). */
  async forgetPathsBut(paths: readonly string[]): Promise<void> {
    const keep = new Set(paths);
    const gone = [...new Set((await this.all()).map((r) => r.path))].filter((p) => !keep.has(p));
    if (gone.length > 0) await this.state.db.deleteFrom('replica_status').where('path', 'in', gone).execute();
  }
}
