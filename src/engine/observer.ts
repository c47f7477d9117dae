/**
 * What the engine tells an observer about the runs it executes in this process (metrics, for
 * one): an execution started, and how it ended and after how long. An execution is one call that
 * works on a run: a new run, a resumed one, a retry. The observer learns the secret's path, the
 * kind of its target and the outcome, never a value. It must not throw (the engine ignores what
 * it throws) and must not block: it is called on the rotation's path.
 *
 * @example
 * ```ts
 * const observer: RunObserver = {
 *   started: (e) => console.log('start', e.path, e.targetType),
 *   ended: (e) => console.log(e.outcome, e.seconds),
 * };
 * new Engine({ state, store, applied, clock, log, observer });
 * ```
 */

/**
 * How an execution ended: the run `succeeded` (done), `failed` for good (attempts used up or an
 * error no retry fixes), was left `retrying` (a step failed; a later attempt is scheduled),
 * `cancelled` (superseded by a newer version), or stopped on an `error` the run did not record
 * (its lease lost, the state database gone): it stays as it was for a later resume.
 */
export type RunOutcome = 'succeeded' | 'failed' | 'retrying' | 'cancelled' | 'error';

export const RUN_OUTCOMES: readonly RunOutcome[] = ['succeeded', 'failed', 'retrying', 'cancelled', 'error'];

export interface RunStarted {
  readonly runId: string;
  readonly path: string;
  /** The kind of the secret's target (`postgres`, `mysql`, ...), `none` without one, `unknown` when its policy could not be read. */
  readonly targetType: string;
  /** True when the execution continues a run started earlier (a retry, a resume). */
  readonly resumed: boolean;
}

export interface RunEnded extends RunStarted {
  readonly outcome: RunOutcome;
  /** The execution's duration on a monotonic clock. */
  readonly seconds: number;
  /** The error code when the outcome is not `succeeded` (null otherwise). */
  readonly errorCode: string | null;
}

export interface RunObserver {
  started(event: RunStarted): void;
  ended(event: RunEnded): void;
}
