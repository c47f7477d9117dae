/**
 * `keyturn_anomalies_total` by type: access anomalies found by the detectors. The detectors are
 * not built yet (a later issue), so nothing counts today and the counter has no series; it is
 * exported now so the alert rule and the dashboard have their metric, and a detector only calls
 * `record`.
 *
 * @example
 * ```ts
 * const anomalies = anomalyMetrics(registry);
 * anomalies.record('read-burst');
 * ```
 */
import { Counter, type Registry } from 'prom-client';

export interface AnomalyMetrics {
  /** Counts one anomaly of `type` (a detector's name: a few fixed values, never a path or a token). */
  record(type: string): void;
}

export function anomalyMetrics(registry: Registry): AnomalyMetrics {
  const anomalies = new Counter({
    name: 'keyturn_anomalies_total',
    help: 'Access anomalies found by the detectors, by type (no detector is built yet: always empty today)',
    labelNames: ['type'],
    registers: [registry],
  });
  return { record: (type) => anomalies.labels(type).inc() };
}
