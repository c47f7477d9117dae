/**
 * Rotation metrics, fed by the engine's run observer (src/engine/observer.ts): executions started,
 * succeeded and failed by the secret's target type, and their duration by target type and outcome.
 * They count what the engine of this process did: with several instances on one state database,
 * each counts its own runs (sum them across instances); a `keyturn rotate` from cron runs in its
 * own process and is counted by none (the state gauges, ./state-gauges.ts, see every run).
 *
 * @example
 * ```ts
 * const stop = kt.observeRuns(rotationMetrics(registry));
 * ```
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RunObserver } from '../engine/observer.js';
import { TARGET_TYPES } from '../targets/registry.js';

/** Seconds: a rotation without a target takes milliseconds, one that retries in place (wait) minutes. */
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function rotationMetrics(registry: Registry): RunObserver {
  const labelNames = ['target_type'] as const;
  const started = new Counter({
    name: 'keyturn_rotations_started_total',
    help: 'Rotation executions started by this process (a new run, a retry or a resume), by the target type of the secret',
    labelNames,
    registers: [registry],
  });
  const succeeded = new Counter({ name: 'keyturn_rotations_succeeded_total', help: 'Rotation executions of this process that left the run done', labelNames, registers: [registry] });
  const failed = new Counter({
    name: 'keyturn_rotations_failed_total',
    help: 'Rotation executions of this process that left the run failed for good (attempts used up, or an error no retry fixes)',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'keyturn_rotation_duration_seconds',
    help: 'Duration of rotation executions in this process, by target type and outcome (succeeded, failed, retrying, cancelled, error)',
    labelNames: ['target_type', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  // Every known target type (and none) starts at 0, so increase() sees the first failure.
  for (const targetType of [...TARGET_TYPES, 'none']) {
    started.labels(targetType).inc(0);
    succeeded.labels(targetType).inc(0);
    failed.labels(targetType).inc(0);
  }
  return {
    started: (e) => started.labels(e.targetType).inc(),
    ended: (e) => {
      if (e.outcome === 'succeeded') succeeded.labels(e.targetType).inc();
      else if (e.outcome === 'failed') failed.labels(e.targetType).inc();
      duration.labels(e.targetType, e.outcome).observe(e.seconds);
    },
  };
}
