/** How runs are shown: one-line summaries, the JSON shape, and the detail view of `runs show`. */
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
    error: run.errorCode ? { code: run.errorCode, message: run.errorMessage } : null,
    nextAttemptAt: run.nextAttemptAt === null ? null : isoTime(run.nextAttemptAt),
    createdAt: isoTime(run.createdAt),
    finishedAt: run.finishedAt === null ? null : isoTime(run.finishedAt),
    ...(consumers ? { consumers: consumers.map((c) => ({ kind: c.kind, target: c.description, status: c.status, attempts: c.attempts, error: c.errorCode ? { code: c.errorCode, message: c.errorMessage } : null })) } : {}),
  };
}

export function runLine(run: Run, consumers: ConsumerStatus[]): string {
  const failedConsumers = consumers.filter((c) => c.status !== 'delivered').length;
  switch (run.status) {
    case 'done':
      return `${run.path}: rotated (${run.id})${consumers.length ? `; ${consumers.length - failedConsumers} of ${consumers.length} consumers have the value` : ''}${failedConsumers ? ` — retry with: keyturn runs resume ${run.id}` : ''}`;
    case 'retrying':
      return `${run.path}: attempt ${run.attempt - 1} failed at ${run.step} (${run.errorCode}: ${run.errorMessage}); the secret keeps its current value; retry at ${isoTime(run.nextAttemptAt)} or now with: keyturn runs resume ${run.id}`;
    case 'failed':
      return `${run.path}: rotation failed (${run.errorCode}: ${run.errorMessage}); the secret keeps its current value; see: keyturn runs show ${run.id}`;
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
        ['step', run.step],
        ['attempt', run.attempt],
        ['error', run.errorCode ? `${run.errorCode}: ${run.errorMessage}` : null],
        ['next attempt', run.nextAttemptAt === null ? null : isoTime(run.nextAttemptAt)],
        ['created', isoTime(run.createdAt)],
        ['finished', run.finishedAt === null ? null : isoTime(run.finishedAt)],
      ],
    ),
    'Steps:',
    table(['#', 'STEP', 'ATTEMPT', 'OUTCOME', 'MS', 'DETAIL'], steps.map((s) => [s.seq, s.step, s.attempt, s.outcome + (s.error_code ? ` ${s.error_code}` : ''), s.finished_at - s.started_at, s.detail])),
  ];
  if (consumers.length) {
    lines.push('Consumers:', table(['#', 'KIND', 'TARGET', 'STATUS', 'ATTEMPTS', 'ERROR'], consumers.map((c) => [c.idx, c.kind, c.description, c.status, c.attempts, c.errorCode ? `${c.errorCode}: ${c.errorMessage}` : null])));
  }
  return lines.join('\n');
}
