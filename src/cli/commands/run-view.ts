/**
 * How runs are shown: one-line summaries, the JSON shape, and the detail view of `runs show`.
 * A run's `step` is where its next attempt resumes; an error is shown with the step that failed
 * (`failedStep`): "failed at test: CODE: message", even when the retry resumes at set.
 */
import type { ConsumerView, RunAgentsView, RunView as Run, StepView } from '../../client/wire.js';
import { isoTime, table } from '../io.js';

export { runJson } from '../../client/wire.js';

/** The run's error with the step that failed: "failed at test: CODE: message" (a run stopped by a signal: "CODE: message"). */
export function runError(run: Run): string {
  const error = `${run.errorCode}: ${run.errorMessage}`;
  if (run.failedStep) return `failed at ${run.failedStep}: ${error}`;
  return run.errorCode === 'KT_RUN_INTERRUPTED' ? error : `failed: ${error}`;
}

/**
 * A run left `retrying` with no error: not a failure, it waits at a step until a time (a new
 * signing key published for prePublish before it signs: the renew strategy's NotYet).
 */
export function isWaiting(run: Pick<Run, 'status' | 'errorCode'>): boolean {
  return run.status === 'retrying' && run.errorCode === null;
}

export function runLine(run: Run, consumers: ConsumerView[]): string {
  const failedConsumers = consumers.filter((c) => c.status !== 'delivered').length;
  switch (run.status) {
    case 'done':
      return `${run.path}: rotated (${run.id})${consumers.length ? `; ${consumers.length - failedConsumers} of ${consumers.length} consumers have the value` : ''}${failedConsumers ? ` — retry with: keyturn runs resume ${run.id}` : ''}`;
    case 'retrying':
      if (isWaiting(run))
        return `${run.path}: waiting at ${run.step} until ${isoTime(run.nextAttemptAt)} (not a failure: the new value is published before it is used); the scheduler finishes it then, or wait here with: keyturn rotate ${run.path} --wait (${run.id})`;
      if (!run.failedStep) return `${run.path}: ${runError(run)}; the secret keeps its current value; resume it with: keyturn runs resume ${run.id}`;
      return `${run.path}: attempt ${run.attempt - 1} ${runError(run)}; the secret keeps its current value; the next attempt resumes at ${run.step} at ${isoTime(run.nextAttemptAt)}, or now with: keyturn runs resume ${run.id}`;
    case 'failed':
      return `${run.path}: rotation ${runError(run)}; the secret keeps its current value; see: keyturn runs show ${run.id}`;
    default:
      return `${run.path}: ${run.status} at ${run.step} (${run.id})`;
  }
}

export function runDetail(run: Run, steps: StepView[], consumers: ConsumerView[], agents: RunAgentsView | null = null): string {
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
  if (agents !== null) {
    const rows = [...agents.have.map((a) => ({ a, status: 'has it' })), ...agents.missing.map((a) => ({ a, status: 'missing' }))];
    lines.push(
      `Agents (${agents.have.length} of ${rows.length} subscribed have the new version):`,
      rows.length === 0
        ? 'No subscribed agent.'
        : table(
            ['AGENT', 'STATUS', 'VERSION', 'LAST REPORT'],
            rows.map(({ a, status }) => [a.agent, status, a.version, isoTime(a.reportedAt)]),
          ),
    );
  }
  return lines.join('\n');
}
