/**
 * The propagate step: deliver the new current version to every consumer of the secret, each with
 * its own status row, timeout and attempt count. A consumer that already has this run's value is
 * skipped (so resuming re-delivers only to the ones that failed). Failures are recorded, never
 * thrown: a finished rotation is never undone by a consumer. Every delivery and check is bounded:
 * its signal aborts after the rotation's timeoutMs, and a consumer that still has not settled a
 * short grace later is given up with KT_CONSUMER_TIMEOUT, so nothing hangs a run forever.
 *
 * @example
 * ```ts
 * const { total, failed } = await deliverAll({ runs, run, consumers: policy.consumers, version, log, timeoutMs: 30_000 });
 * ```
 */
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Version } from '../core/types.js';
import { createConsumer } from '../consumers/registry.js';
import type { SecretPolicy } from './applied.js';
import type { Run, RunsRepo } from './runs-repo.js';

export interface DeliverAllInput {
  runs: RunsRepo;
  run: Run;
  consumers: SecretPolicy['consumers'];
  version: Version;
  log: Logger;
  timeoutMs: number;
  /** Aborts every delivery under way (the run's lease was lost). */
  signal?: AbortSignal;
}

export async function deliverAll(input: DeliverAllInput): Promise<{ total: number; failed: number }> {
  const { runs, run, version, log } = input;
  const statuses = new Map((await runs.consumers(run.id)).map((c) => [c.idx, c]));
  let failed = 0;
  for (const [idx, config] of input.consumers.entries()) {
    const consumer = createConsumer(config);
    const previous = statuses.get(idx);
    if (previous?.status === 'delivered') continue;
    const attempts = (previous?.attempts ?? 0) + 1;
    try {
      const secret = { path: run.path, versionId: version.id, number: version.number, value: version.value };
      await bounded(consumer.describe, 'the delivery', input.timeoutMs, input.signal, (signal) => consumer.deliver({ log, signal }, secret));
      if (consumer.check) await bounded(consumer.describe, 'the check after delivery', input.timeoutMs, input.signal, (signal) => consumer.check!({ log, signal }));
      await runs.setConsumer(run.id, { idx, kind: consumer.kind, description: consumer.describe, status: 'delivered', attempts, errorCode: null, errorMessage: null });
    } catch (e) {
      failed += 1;
      const code = isKeyturnError(e) ? e.code : 'KT_CONSUMER_FAILED';
      const message = isKeyturnError(e) ? e.message : `${consumer.describe}: unexpected ${e instanceof Error ? e.name : 'error'}`;
      log.warn({ runId: run.id, path: run.path, consumer: consumer.describe, code }, 'consumer delivery failed');
      await runs.setConsumer(run.id, { idx, kind: consumer.kind, description: consumer.describe, status: 'failed', attempts, errorCode: code, errorMessage: message });
    }
  }
  return { total: input.consumers.length, failed };
}

/** How long past its timeout a consumer may take to notice the signal and fail with its own reason. */
export const CONSUMER_GRACE_MS = 2_000;

/**
 * Runs `work` with a signal that aborts after `timeoutMs`; if it has not settled `CONSUMER_GRACE_MS`
 * later, stops waiting with KT_CONSUMER_TIMEOUT, so no consumer can hold a run (or a SIGTERM) forever.
 */
async function bounded(describe: string, what: string, timeoutMs: number, outer: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KeyturnError('KT_CONSUMER_TIMEOUT', `${describe}: ${what} did not finish within ${timeoutMs} ms (rotation.timeoutMs); it was given up`, { details: { consumer: describe, timeoutMs } }),
        ),
      timeoutMs + CONSUMER_GRACE_MS,
    );
  });
  const timeout = AbortSignal.timeout(timeoutMs);
  const running = work(outer ? AbortSignal.any([timeout, outer]) : timeout);
  try {
    await Promise.race([running, late]);
  } finally {
    clearTimeout(timer);
    running.catch(() => undefined);
  }
}
