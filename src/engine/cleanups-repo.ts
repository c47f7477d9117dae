/**
 * The cleanups a rotation leaves (table `version_cleanups`, migration 0015): one row per version a
 * rotation replaced, written in the transaction of the run's finish step ({@link CleanupsRepo.addWithin}),
 * so a rotation that made a new version current always leaves the duty to end the old one, whatever
 * crashes after. Two phases per row, each `pending` until it ends (`done`, `not-needed`,
 * `superseded`, `gone`, `unsupported`): `revoke`, the previous credential stops working after
 * `grace`; `purge`, the version is dropped from the store after `retainPrevious`. `due_at` is when
 * a pass should look at the row again; the scheduler's index of due secrets (src/schedule/due-repo.ts)
 * takes the earliest one of a path into account. A row whose phases are both over is deleted (its
 * story stays in the run's journal and the audit log). The work itself: ./cleanup.ts.
 *
 * @example
 * ```ts
 * const cleanups = new CleanupsRepo(state, clock);
 * await cleanups.addWithin(trx, { path, versionId: run.fromVersionId, runId: run.id, replacedAt: now, dueAt: now + grace });
 * const due = await cleanups.due(path, now);   // what a pass does now for this path
 * ```
 */
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { StateDb } from '../state/db.js';
import type { CleanupPhase, Schema, VersionCleanupsTable } from '../state/schema.js';

type Db = Kysely<Schema> | Transaction<Schema>;

export type { CleanupPhase };

/** One version's cleanup, as stored. */
export interface Cleanup {
  readonly path: string;
  readonly versionId: string;
  readonly runId: string;
  readonly replacedAt: number;
  readonly revoke: CleanupPhase;
  readonly purge: CleanupPhase;
  readonly dueAt: number | null;
  readonly startedAt: number | null;
  readonly attempts: number;
  readonly errorCode: string | null;
}

export type CleanupPatch = Partial<Pick<Cleanup, 'revoke' | 'purge' | 'dueAt' | 'startedAt' | 'attempts' | 'errorCode'>>;

function fromRow(r: VersionCleanupsTable): Cleanup {
  return {
    path: r.path,
    versionId: r.version_id,
    runId: r.run_id,
    replacedAt: Number(r.replaced_at),
    revoke: r.revoke,
    purge: r.purge,
    dueAt: r.due_at === null ? null : Number(r.due_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    attempts: Number(r.attempts),
    errorCode: r.error_code,
  };
}

/** Whether a phase is over (nothing left to do in it). */
export function phaseOver(p: CleanupPhase): boolean {
  return p !== 'pending';
}

export class CleanupsRepo {
  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
  ) {}

  /**
   * Records, in the finish step's transaction, that `versionId` was replaced and must be cleaned up
   * from `dueAt`. Idempotent: a resumed finish that records it again changes nothing.
   */
  async addWithin(trx: Transaction<Schema>, c: { path: string; versionId: string; runId: string; replacedAt: number; dueAt: number }): Promise<void> {
    await trx
      .insertInto('version_cleanups')
      .values({
        path: c.path,
        version_id: c.versionId,
        run_id: c.runId,
        replaced_at: c.replacedAt,
        revoke: 'pending',
        purge: 'pending',
        due_at: c.dueAt,
        started_at: null,
        attempts: 0,
        error_code: null,
        updated_at: this.clock.now(),
      })
      .onConflict((oc) => oc.columns(['path', 'version_id']).doNothing())
      .execute();
  }

  /** The cleanups of `path` due at `now`, oldest replacement first. */
  async due(path: string, now: number): Promise<Cleanup[]> {
    const rows = await this.state.db.selectFrom('version_cleanups').selectAll().where('path', '=', path).where('due_at', '<=', now).orderBy('replaced_at').execute();
    return rows.map(fromRow);
  }

  /** Every open cleanup (of `path`, or of all secrets), oldest first. */
  async list(path?: string): Promise<Cleanup[]> {
    let q = this.state.db.selectFrom('version_cleanups').selectAll().orderBy('replaced_at');
    if (path !== undefined) q = q.where('path', '=', path);
    return (await q.execute()).map(fromRow);
  }

  async get(path: string, versionId: string, db: Db = this.state.db): Promise<Cleanup | null> {
    const r = await db.selectFrom('version_cleanups').selectAll().where('path', '=', path).where('version_id', '=', versionId).executeTakeFirst();
    return r ? fromRow(r) : null;
  }

  /** Whether the credential of `versionId` was ended by a cleanup (it must never be set back on the target). */
  async revoked(path: string, versionId: string): Promise<boolean> {
    return (await this.get(path, versionId))?.revoke === 'done';
  }

  /** Writes `patch`; a row whose phases are both over is deleted instead. */
  async update(c: Cleanup, patch: CleanupPatch, db: Db = this.state.db): Promise<Cleanup | null> {
    const next: Cleanup = { ...c, ...patch };
    if (phaseOver(next.revoke) && phaseOver(next.purge)) {
      await db.deleteFrom('version_cleanups').where('path', '=', c.path).where('version_id', '=', c.versionId).execute();
      return null;
    }
    await db
      .updateTable('version_cleanups')
      .set({
        revoke: next.revoke,
        purge: next.purge,
        due_at: next.dueAt,
        started_at: next.startedAt,
        attempts: next.attempts,
        error_code: next.errorCode,
        updated_at: this.clock.now(),
      })
      .where('path', '=', c.path)
      .where('version_id', '=', c.versionId)
      .execute();
    return next;
  }
}
