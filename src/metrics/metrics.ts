/**
 * The metrics of one server over one Keyturn, in a registry of its own (never prom-client's
 * global one, so several servers in one process, and tests, do not collide): rotations (fed by
 * the engine's run observer), the scheduler's passes, HTTP requests, anomalies, webhook notifications, the state gauges read at scrape time, and
 * the process's metrics (shared by the servers of the process). Secret values never appear; secret
 * paths only as the `path` label of `keyturn_secret_age_seconds`,
 * `keyturn_agent_deliveries_missing` and `keyturn_certificate_expiry_timestamp_seconds` (./state-gauges.ts). The names and labels are listed in
 * docs/operations.md.
 *
 * @example
 * ```ts
 * const metrics = createMetrics(kt, { secretPaths: 1000, cacheMs: 5000 });
 * const text = await metrics.scrape(); // Prometheus text format
 * metrics.close(); // stops observing runs
 * ```
 */
import { Registry } from 'prom-client';
import type { Keyturn } from '../runtime/keyturn.js';
import { anomalyMetrics, type AnomalyMetrics } from './anomalies.js';
import { httpMetrics, type HttpObserve } from './http.js';
import { notificationMetrics, type NotificationCount } from './notifications.js';
import { processRegistry } from './process.js';
import { rotationMetrics } from './rotations.js';
import { schedulerMetrics } from './scheduler.js';
import type { SchedulerObserver } from '../schedule/scheduler.js';
import { cachedSnapshot } from './state-snapshot.js';
import { stateGauges } from './state-gauges.js';

export interface MetricsOptions {
  /** The oldest this many secrets get a per-path age series, and as many a per-path missing-agents and certificate expiry series (default 1000; 0: none). */
  readonly secretPaths?: number;
  /** How long a read of the state database serves scrapes, in ms on the Keyturn's clock (default 5000). */
  readonly cacheMs?: number;
}

export interface KeyturnMetrics {
  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string>;
  readonly contentType: string;
  /** Records one HTTP response (the server's onResponse hook). */
  readonly observeHttp: HttpObserve;
  readonly anomalies: AnomalyMetrics;
  /** Counts one try of a webhook notification (the notifications job). */
  readonly notification: NotificationCount;
  /** What the server's scheduler tells (its passes and claims). */
  readonly scheduler: SchedulerObserver;
  /** Stops observing the engine's runs. */
  close(): void;
}

export const DEFAULT_SECRET_PATHS = 1000;
export const DEFAULT_CACHE_MS = 5000;

export function createMetrics(kt: Keyturn, options: MetricsOptions = {}): KeyturnMetrics {
  const own = new Registry();
  const stopObserving = kt.observeRuns(rotationMetrics(own));
  const observeHttp = httpMetrics(own);
  const anomalies = anomalyMetrics(own);
  const notification = notificationMetrics(own);
  const scheduler = schedulerMetrics(own);
  stateGauges(own, cachedSnapshot(kt, { cacheMs: options.cacheMs ?? DEFAULT_CACHE_MS }), { secretPaths: options.secretPaths ?? DEFAULT_SECRET_PATHS });
  const registry = Registry.merge([own, processRegistry()]);
  return {
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
    observeHttp,
    anomalies,
    notification,
    scheduler,
    close: stopObserving,
  };
}
