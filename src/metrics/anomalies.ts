/**
 * `keyturn_anomalies_total` by type: access anomalies recorded by the server's detectors
 * (src/detect/runner.ts calls `record` once per anomaly it records; a type has a series from its
 * first anomaly).
 *
 * @example
 * ```ts
 * const anomalies = anomalyMetrics(registry);
 * anomalies.record('failed-burst');
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
    help: 'Access anomalies recorded by the detectors of this server, by type (docs/anomalies.md)',
    labelNames: ['type'],
    registers: [registry],
  });
  return { record: (type) => anomalies.labels(type).inc() };
}
