/**
 * The statements a rotation runs on every step (write a run, journal its steps, check and free its
 * lease), compiled once per state database (../state/prepared.ts). What they mean is
 * runs-repo.ts's business; this file is their SQL only.
 *
 * @example
 * ```ts
 * await insertRun.execute(state, trx, toRow(run));
 * const held = await leaseHeld.first(state, trx, leaseParams(lease));
 * ```
 */
import { prepared, type Prepared } from '../state/prepared.js';
import type { RunsTable, RunStepsTable } from '../state/schema.js';
import type { Lease } from './leases.js';

const RUN_COLUMNS = [
  'id',
  'correlation_id',
  'path',
  'strategy',
  'status',
  'step',
  'attempt',
  'failed_sets',
  'generation',
  'from_version_id',
  'pending_version_id',
  'error_code',
  'error_message',
  'failed_step',
  'next_attempt_at',
  'created_at',
  'updated_at',
  'finished_at',
] as const satisfies ReadonlyArray<keyof RunsTable>;

/** What a run's later writes may change (not its id, correlation id, path or creation time). */
const MUTABLE = RUN_COLUMNS.filter((c) => c !== 'id' && c !== 'correlation_id' && c !== 'path' && c !== 'created_at');

const STEP_COLUMNS = ['run_id', 'seq', 'step', 'attempt', 'outcome', 'detail', 'error_code', 'started_at', 'finished_at'] as const satisfies ReadonlyArray<keyof RunStepsTable>;

/** The lease's parameters for the fenced statements below. */
export function leaseParams(lease: Lease): { lease_name: string; lease_token: number; lease_holder: string } {
  return { lease_name: lease.name, lease_token: lease.token, lease_holder: lease.holder };
}

/** The secret's unfinished run, if any (params: `path`). */
export const activeRun = prepared((db, p) => db.selectFrom('runs').selectAll().where('path', '=', p('path')).where('status', 'in', ['running', 'retrying']).orderBy('created_at', 'desc'));

/** A new run's row (params: the row). */
export const insertRun = prepared((db, p) => db.insertInto('runs').values(Object.fromEntries(RUN_COLUMNS.map((c) => [c, p(c)])) as unknown as RunsTable));

/**
 * Every changeable column of a run, written only while its status is `expect_status` and its
 * lease is held with the token (params: the row, `expect_status`, {@link leaseParams}).
 */
export const updateRunFenced = prepared((db, p) =>
  db
    .updateTable('runs')
    .set(Object.fromEntries(MUTABLE.map((c) => [c, p(c)])))
    .where('id', '=', p('id'))
    .where('status', '=', p('expect_status'))
    .where(({ exists, selectFrom }) => exists(selectFrom('leases').select('name').where('name', '=', p('lease_name')).where('token', '=', p('lease_token')).where('holder', '=', p('lease_holder')))),
);

/** One row when the lease is held with the token (params: {@link leaseParams}). */
export const leaseHeld = prepared((db, p) => db.selectFrom('leases').select('name').where('name', '=', p('lease_name')).where('token', '=', p('lease_token')).where('holder', '=', p('lease_holder')));

/** Sets the lease's expiry (0: free) while it is held with the token (params: {@link leaseParams}, `expires_at`). */
export const setLeaseExpiry = prepared((db, p) =>
  db
    .updateTable('leases')
    .set({ expires_at: p('expires_at') })
    .where('name', '=', p('lease_name'))
    .where('token', '=', p('lease_token'))
    .where('holder', '=', p('lease_holder')),
);

const insertStepsByCount = new Map<number, Prepared<unknown>>();

/** Inserts `rows` journal rows in one statement (one compiled statement per row count). */
export function insertSteps(count: number): Prepared<unknown> {
  let q = insertStepsByCount.get(count);
  if (q === undefined) {
    q = prepared((db, p) => db.insertInto('run_steps').values(Array.from({ length: count }, (_, r) => Object.fromEntries(STEP_COLUMNS.map((c) => [c, p(`${c}${r}`)])) as unknown as RunStepsTable)));
    insertStepsByCount.set(count, q);
  }
  return q;
}

/** The parameters of {@link insertSteps} for these rows. */
export function stepParams(rows: readonly RunStepsTable[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  rows.forEach((row, r) => {
    for (const c of STEP_COLUMNS) out[`${c}${r}`] = row[c];
  });
  return out;
}
