/**
 * Persistence of runs: the run row (where it is, how many attempts, which versions), the step
 * journal (one row per executed step), and per-consumer delivery status. Every state change of a
 * run is one transaction, so a crash leaves the run at a step boundary.
 *
 * At most one run per secret is unfinished (`running` or `retrying`): the state database enforces
 * it (migration 0006), and `advance` writes only while the run still has the status its caller
 * read, so a worker holding a stale copy never moves a run that another one finished.
 *
 * @example
 * ```ts
 * const runs = new RunsRepo(state, clock, 120_000);
 * const run = await runs.create({ path, strategy: 'single-user' });
 * const next = await runs.advance(run, { step: 'create' }, { step: 'prepare', attempt: 1, outcome: 'ok', startedAt: Date.now() }, lease);
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { StateDb } from '../state/db.js';
import { isUniqueViolation } from '../state/unique-violation.js';
import type { Transaction } from 'kysely';
import type { RunConsumersTable, RunsTable, RunStepsTable, Schema } from '../state/schema.js';
import type { Lease } from './leases.js';
import { transact } from '../state/tx.js';
import * as sql from './runs-sql.js';

export const STEPS = ['prepare', 'create', 'hook-before', 'set', 'test', 'finish', 'propagate', 'hook-after', 'hook-always', 'done'] as const;
export type Step = (typeof STEPS)[number];
export type RunStatus = 'running' | 'retrying' | 'done' | 'failed' | 'cancelled';
export const ACTIVE_STATUSES: readonly RunStatus[] = ['running', 'retrying'];

export interface Run {
  id: string;
  correlationId: string;
  path: string;
  strategy: string;
  status: RunStatus;
  step: Step;
  attempt: number;
  failedSets: number;
  generation: number;
  fromVersionId: string | null;
  pendingVersionId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The step that failed with `errorCode`; `step` is where the next attempt resumes. Null when no step failed. */
  failedStep: Step | null;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface StepRecord {
  step: Step | 'rollback' | 'cleanup';
  attempt: number;
  outcome: 'ok' | 'skipped' | 'failed';
  detail?: string;
  errorCode?: string;
  startedAt: number;
  /** When the step ended, if before the commit that journals it (a step committed with the next one); default: the commit. */
  finishedAt?: number;
}

export interface ConsumerStatus {
  idx: number;
  kind: string;
  description: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
  updatedAt: number;
}

type RunPatch = Partial<Omit<Run, 'id' | 'correlationId' | 'path' | 'createdAt'>>;

function fromRow(r: RunsTable): Run {
  return {
    id: r.id,
    correlationId: r.correlation_id,
    path: r.path,
    strategy: r.strategy,
    status: r.status as RunStatus,
    step: r.step as Step,
    attempt: Number(r.attempt),
    failedSets: Number(r.failed_sets),
    generation: Number(r.generation),
    fromVersionId: r.from_version_id,
    pendingVersionId: r.pending_version_id,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    failedStep: r.failed_step as Step | null,
    nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

/** A run as its row. */
function toRow(r: Run): RunsTable {
  return {
    id: r.id,
    correlation_id: r.correlationId,
    path: r.path,
    strategy: r.strategy,
    status: r.status,
    step: r.step,
    attempt: r.attempt,
    failed_sets: r.failedSets,
    generation: r.generation,
    from_version_id: r.fromVersionId,
    pending_version_id: r.pendingVersionId,
    error_code: r.errorCode,
    error_message: r.errorMessage,
    failed_step: r.failedStep,
    next_attempt_at: r.nextAttemptAt,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    finished_at: r.finishedAt,
  };
}

function toColumns(p: RunPatch): Partial<RunsTable> {
  const c: Partial<RunsTable> = {};
  if (p.strategy !== undefined) c.strategy = p.strategy;
  if (p.status !== undefined) c.status = p.status;
  if (p.step !== undefined) c.step = p.step;
  if (p.attempt !== undefined) c.attempt = p.attempt;
  if (p.failedSets !== undefined) c.failed_sets = p.failedSets;
  if (p.generation !== undefined) c.generation = p.generation;
  if (p.fromVersionId !== undefined) c.from_version_id = p.fromVersionId;
  if (p.pendingVersionId !== undefined) c.pending_version_id = p.pendingVersionId;
  if (p.errorCode !== undefined) c.error_code = p.errorCode;
  if (p.errorMessage !== undefined) c.error_message = p.errorMessage;
  if (p.failedStep !== undefined) c.failed_step = p.failedStep;
  if (p.nextAttemptAt !== undefined) c.next_attempt_at = p.nextAttemptAt;
  if (p.finishedAt !== undefined) c.finished_at = p.finishedAt;
  return c;
}

/** The row of a new run, at prepare, attempt 1 (ids made here unless given). */
export function newRunRow(input: { path: string; strategy: string; correlationId?: string }, now: number): RunsTable {
  return {
    id: `run_${randomUUID()}`,
    correlation_id: input.correlationId ?? `corr_${randomUUID()}`,
    path: input.path,
    strategy: input.strategy,
    status: 'running',
    step: 'prepare',
    attempt: 1,
    failed_sets: 0,
    generation: 1,
    from_version_id: null,
    pending_version_id: null,
    error_code: null,
    error_message: null,
    failed_step: null,
    next_attempt_at: null,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
}

export class RunsRepo {
  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    /** How far a write under a lease extends it (the engine's lease TTL). */
    private readonly leaseTtlMs = 120_000,
  ) {}

  /**
   * A new run, at prepare, attempt 1. It is written by its first `advance`, in the transaction that
   * journals its first steps (with the pending version they store): a run that stops before then
   * changed nothing, so it leaves nothing behind, and a rotation costs one commit less.
   */
  async create(input: { path: string; strategy: string; correlationId?: string }): Promise<Run> {
    const row = newRunRow(input, this.clock.now());
    this.lastSeq.set(row.id, 0);
    this.unsaved.add(row.id);
    return fromRow(row);
  }

  /** A run by id, or null (an id that is not a run's, say one taken from a version id). */
  async find(id: string): Promise<Run | null> {
    if (!id) return null;
    const row = await this.state.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? fromRow(row) : null;
  }

  async get(id: string): Promise<Run> {
    const row = await this.state.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new KeyturnError('KT_RUN_NOT_FOUND', `no run ${id}`);
    return fromRow(row);
  }

  /** The unfinished run of a secret, if any (there is at most one). */
  async active(path: string): Promise<Run | null> {
    const row = await sql.activeRun.first(this.state, this.state.db, { path });
    return row ? fromRow(row) : null;
  }

  /** Unfinished runs whose retry time has come (or that are running with no worker). */
  async due(now: number): Promise<Run[]> {
    const rows = await this.state.db
      .selectFrom('runs')
      .selectAll()
      .where('status', 'in', ACTIVE_STATUSES)
      .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
      .orderBy('created_at')
      .execute();
    return rows.map(fromRow);
  }

  /** Runs, newest first (ties by id); with `before`, only those after that run in this order (the next page). */
  async list(filter: { path?: string; limit?: number; before?: { createdAt: number; id: string } } = {}): Promise<Run[]> {
    let q = this.state.db
      .selectFrom('runs')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 50);
    if (filter.path !== undefined) q = q.where('path', '=', filter.path);
    const b = filter.before;
    if (b !== undefined) q = q.where((eb) => eb.or([eb('created_at', '<', b.createdAt), eb.and([eb('created_at', '=', b.createdAt), eb('id', '<', b.id)])]));
    return (await q.execute()).map(fromRow);
  }

  /** Last journal seq per run, so appending a step needs no read (loaded once per run and process). */
  private readonly lastSeq = new Map<string, number>();

  /**
   * Forgets what this process knows of a run's journal, so the next append reads its last seq: for
   * an append to a run another instance may have appended to since (a cleanup after grace, long
   * after the run ended, perhaps on another server).
   */
  forgetJournal(id: string): void {
    this.lastSeq.delete(id);
  }
  /** Runs made by `create` and not written yet: their first `advance` inserts them. */
  private readonly unsaved = new Set<string>();

  /**
   * Updates the run and appends its journal rows (one per step record, in order), in one
   * transaction, and returns the updated run. `within` runs inside that transaction too (the
   * steps' audit events, a pending version stored with its step, a stage move).
   * With a `fence`, the transaction first checks that the lease is still held with that token
   * (and extends it), so a worker that lost its lease cannot write. The row is written only while
   * its status is still `run.status` (KT_RUN_CHANGED otherwise): a finished run is never advanced
   * from a stale copy. Making a run unfinished while another run of its secret is gives KT_RUN_LOCKED.
   * A run not written yet (see `create`) is inserted, under the same fence. With `releaseLease`,
   * the fence's lease is freed in the same transaction (the run's last commit: one commit less).
   */
  async advance(
    run: Run,
    patch: RunPatch,
    record?: StepRecord | readonly StepRecord[],
    fence?: Lease,
    within?: (trx: Transaction<Schema>) => Promise<void>,
    options: { releaseLease?: boolean } = {},
  ): Promise<Run> {
    const ttlMs = this.leaseTtlMs;
    const now = this.clock.now();
    const id = run.id;
    const records: readonly StepRecord[] = record === undefined ? [] : Array.isArray(record) ? record : [record as StepRecord];
    if (records.length > 0 && !this.lastSeq.has(id)) {
      const last = await this.state.db
        .selectFrom('run_steps')
        .select((eb) => eb.fn.max<number>('seq').as('seq'))
        .where('run_id', '=', id)
        .executeTakeFirst();
      this.lastSeq.set(id, Number(last?.seq ?? 0));
    }
    const first = (this.lastSeq.get(id) ?? 0) + 1;
    const next: Run = { ...run, updatedAt: now };
    for (const [k, v] of Object.entries(patch) as Array<[keyof Run, never]>) if (v !== undefined) next[k] = v;
    const insert = this.unsaved.has(id);
    try {
      await transact(this.state.db, async (trx) => {
        if (insert) {
          // Fencing: the run is written only while the lease is held with this token.
          if (fence && !(await this.holds(trx, fence))) throw new KeyturnError('KT_LEASE_LOST', `the lease on ${fence.name} was taken over by another worker`);
          await sql.insertRun.execute(this.state, trx, toRow(next));
        } else if (fence) {
          // The rotation's own writes (always under the lease): one compiled statement, every column from `next`.
          const changed = await sql.updateRunFenced.changes(this.state, trx, { ...toRow(next), expect_status: run.status, ...sql.leaseParams(fence) });
          if (changed !== 1) throw await this.whyNotWritten(trx, run, fence);
        } else {
          // No lease (an operator's command, a test): only the columns the patch names.
          const res = await trx
            .updateTable('runs')
            .set({ ...toColumns(patch), updated_at: now })
            .where('id', '=', id)
            .where('status', '=', run.status)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) !== 1) throw await this.whyNotWritten(trx, run);
        }
        if (fence && options.releaseLease) {
          await sql.setLeaseExpiry.execute(this.state, trx, { ...sql.leaseParams(fence), expires_at: 0 });
        } else if (fence && now - fence.renewedAt > ttlMs / 3) {
          await sql.setLeaseExpiry.execute(this.state, trx, { ...sql.leaseParams(fence), expires_at: now + ttlMs });
          fence.renewedAt = now;
        }
        if (records.length > 0) {
          const rows: RunStepsTable[] = records.map((r, i) => ({
            run_id: id,
            seq: first + i,
            step: r.step,
            attempt: r.attempt,
            outcome: r.outcome,
            detail: r.detail ?? null,
            error_code: r.errorCode ?? null,
            started_at: r.startedAt,
            finished_at: r.finishedAt ?? now,
          }));
          await sql.insertSteps(rows.length).execute(this.state, trx, sql.stepParams(rows));
        }
        if (within) await within(trx);
      });
    } catch (e) {
      if (!insert) this.lastSeq.delete(id);
      if (isUniqueViolation(e)) {
        const message = insert ? `${run.path} already has an unfinished run (another worker created it)` : `${run.path} has another unfinished run; run ${id} stays ${run.status}`;
        throw new KeyturnError('KT_RUN_LOCKED', message, { cause: e });
      }
      throw e;
    }
    this.unsaved.delete(id);
    if (fence && options.releaseLease) fence.released = true;
    if (records.length > 0) this.lastSeq.set(id, first + records.length - 1);
    return next;
  }

  /** Whether the lease is still held with the fence's token (read in `trx`). */
  private async holds(trx: Transaction<Schema>, fence: Lease): Promise<boolean> {
    return (await sql.leaseHeld.first(this.state, trx, sql.leaseParams(fence))) !== undefined;
  }

  /** Why a fenced, status-guarded update wrote nothing: the lease was taken over, or the run changed meanwhile. */
  private async whyNotWritten(trx: Transaction<Schema>, run: Run, fence?: Lease): Promise<KeyturnError> {
    if (fence) {
      if (!(await this.holds(trx, fence))) return new KeyturnError('KT_LEASE_LOST', `the lease on ${fence.name} was taken over by another worker`);
    }
    const row = await trx.selectFrom('runs').select('status').where('id', '=', run.id).executeTakeFirst();
    if (!row) return new KeyturnError('KT_RUN_NOT_FOUND', `no run ${run.id}`);
    return new KeyturnError('KT_RUN_CHANGED', `run ${run.id} is ${row.status} now, not ${run.status}: another worker changed it`, { details: { runId: run.id } });
  }

  async steps(id: string): Promise<RunStepsTable[]> {
    return (await this.state.db.selectFrom('run_steps').selectAll().where('run_id', '=', id).orderBy('seq').execute()).map((r) => ({
      ...r,
      seq: Number(r.seq),
      attempt: Number(r.attempt),
      started_at: Number(r.started_at),
      finished_at: Number(r.finished_at),
    }));
  }

  async consumers(id: string): Promise<ConsumerStatus[]> {
    const rows = await this.state.db.selectFrom('run_consumers').selectAll().where('run_id', '=', id).orderBy('idx').execute();
    return rows.map((r: RunConsumersTable) => ({
      idx: Number(r.idx),
      kind: r.kind,
      description: r.description,
      status: r.status as ConsumerStatus['status'],
      attempts: Number(r.attempts),
      errorCode: r.error_code,
      errorMessage: r.error_message,
      updatedAt: Number(r.updated_at),
    }));
  }

  async setConsumer(id: string, c: Omit<ConsumerStatus, 'updatedAt'>): Promise<void> {
    const row: RunConsumersTable = {
      run_id: id,
      idx: c.idx,
      kind: c.kind,
      description: c.description,
      status: c.status,
      attempts: c.attempts,
      error_code: c.errorCode,
      error_message: c.errorMessage,
      updated_at: this.clock.now(),
    };
    await this.state.db
      .insertInto('run_consumers')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['run_id', 'idx']).doUpdateSet({
          status: row.status,
          attempts: row.attempts,
          error_code: row.error_code,
          error_message: row.error_message,
          updated_at: row.updated_at,
          kind: row.kind,
          description: row.description,
        }),
      )
      .execute();
  }
}
