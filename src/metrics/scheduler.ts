/**
 * Scheduler metrics, fed by the scheduler of this process (src/schedule/scheduler.ts): the due
 * secrets it claimed and how long each pass's claim took. Each instance counts its own (sum the
 * claims across instances); what is due is a state gauge (`keyturn_secrets_due`, ./state-gauges.ts).
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ ..., observer: schedulerMetrics(registry) }, settings.scheduler);
 * ```
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { SchedulerObserver } from '../schedule/scheduler.js';

/** Seconds: one indexed claim takes about a millisecond; a busy database more. */
const PASS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function schedulerMetrics(registry: Registry): SchedulerObserver {
  const claimed = new Counter({
    name: 'keyturn_scheduler_claimed_total',
    help: 'Due secrets the scheduler of this process claimed (each then rotated, resumed or found not due)',
    registers: [registry],
  });
  const pass = new Histogram({
    name: 'keyturn_scheduler_pass_duration_seconds',
    help: "Duration of a scheduler pass's claim in this process (reading and claiming what is due), in seconds",
    buckets: PASS_BUCKETS,
    registers: [registry],
  });
  claimed.inc(0);
  return {
    passed: (seconds, n) => {
      pass.observe(seconds);
      if (n > 0) claimed.inc(n);
    },
  };
}
