/**
 * How runs are shown: one-line summaries, the JSON shape, and the detail view of `runs show`.
 * A run's `step` is where its next attempt resumes; an error is shown with the step that failed
 * (`failedStep`): "failed at test: CODE: message", even when the retry resumes at set.
 */
import type { ConsumerStatus, Run } from '../../engine/runs-repo.js';
import type { RunStepsTable } from '../../state/schema.js';
import { isoTime, table } from '../io.js';

export function runJson(run: Run, consumers?: ConsumerStatus[]): Record<string, unknown> {
  return {
    id: run.id,
    correlationId: run.correlationId,
    path: run.path,
    strategy: run.strategy,
    status: run.status,
    step: run.step,
    attempt: run.attempt,
    pendingVersionId: run.pendingVersionId,
    fromVersionId: run.fromVersionId,
    failedStep: run.failedStep,
    error: run.errorCode ? { code: run.errorCode, message: run.errorMessage } : null,
    nextAttemptAt: run.nextAttemptAt === null ? null : isoTime(run.nextAttemptAt),
    createdAt: isoTime(run.createdAt),
    finishedAt: run.finishedAt === null ? null : isoTime(run.finishedAt),
    ...(consumers
      ? {
          consumers: consumers.map((c) => ({
            kind: c.kind,
            target: c.description,
            status: c.status,
            attempts: c.attempts,
            error: c.errorCode ? { code: c.errorCode, message: c.errorMessage } : null,
          })),
        }
      : {}),
  };
}

/** The run's error with the step that failed: "failed at test: CODE: message" (a run stopped by a signal: "CODE: message"). */
export function runError(run: Run): string {
  const error = `${run.errorCode}: ${run.errorMessage}`;
  if (run.failedStep) return `failed at ${run.failedStep}: ${error}`;
  return run.errorCode === 'KT_RUN_INTERRUPTED' ? error : `failed: ${error}`;
}

export function runLine(run: Run, consumers: ConsumerStatus[]): string {
  const failedConsumers = consumers.filter((c) => c.status !== 'delivered').length;
  switch (run.status) {
    case 'done':
      return `${run.path}: rotated (${run.id})${consumers.length ? `; ${consumers.length - failedConsumers} of ${consumers.length} consumers have the value` : ''}${failedConsumers ? ` — retry with: keyturn runs resume ${run.id}` : ''}`;
    case 'retrying':
      if (!run.failedStep) return `${run.path}: ${runError(run)}; the secret keeps its current value; resume it with: keyturn runs resume ${run.id}`;
      return `${run.path}: attempt ${run.attempt - 1} ${runError(run)}; the secret keeps its current value; the next attempt resumes at ${run.step} at ${isoTime(run.nextAttemptAt)}, or now with: keyturn runs resume ${run.id}`;
    case 'failed':
      return `${run.path}: rotation ${runError(run)}; the secret keeps its current value; see: keyturn runs show ${run.id}`;
    default:
      return `${run.path}: ${run.status} at ${run.step} (${run.id})`;
  }
}

export function runDetail(run: Run, steps: RunStepsTable[], consumers: ConsumerStatus[]): string {
  const lines = [
    table(
      ['FIELD', 'VALUE'],
      [
        ['run', run.id],
        ['correlation id', run.correlationId],
        ['secret', run.path],
        ['strategy', run.strategy],
        ['status', run.status],
        [run.status === 'done' || run.status === 'cancelled' ? 'step' : 'next step', run.step],
        ['attempt', run.attempt],
        ['error', run.errorCode ? runError(run) : null],
        ['next attempt', run.nextAttemptAt === null ? null : isoTime(run.nextAttemptAt)],
        ['created', isoTime(run.createdAt)],
        ['finished', run.finishedAt === null ? null : isoTime(run.finishedAt)],
      ],
    ),
    'Steps:',
    table(
      ['#', 'STEP', 'ATTEMPT', 'OUTCOME', 'MS', 'DETAIL'],
      steps.map((s) => [s.seq, s.step, s.attempt, s.outcome + (s.error_code ? ` ${s.error_code}` : ''), s.finished_at - s.started_at, s.detail]),
    ),
  ];
  if (consumers.length) {
    lines.push(
      'Consumers:',
      table(
        ['#', 'KIND', 'TARGET', 'STATUS', 'ATTEMPTS', 'ERROR'],
        consumers.map((c) => [c.idx, c.kind, c.description, c.status, c.attempts, c.errorCode ? `${c.errorCode}: ${c.errorMessage}` : null]),
      ),
    );
  }
  return lines.join('\n');
}
