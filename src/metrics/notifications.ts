/**
 * Notification metrics: `keyturn_notifications_total{channel, result}`, the tries of webhook
 * notifications this process made, by channel (names from keyturn.yaml, so a bounded set) and
 * result: `delivered`, `retrying` (not delivered; another try is scheduled), `failed` (given up),
 * `dropped` (its channel was removed). Fed by the server's notifications job
 * (src/notify/pass.ts). With several instances each counts its own tries.
 *
 * @example
 * ```ts
 * const count = notificationMetrics(registry);
 * count('ops', 'delivered');
 * ```
 */
import { Counter, type Registry } from 'prom-client';
import type { DeliveryResult } from '../notify/deliver.js';

export type NotificationCount = (channel: string, result: DeliveryResult) => void;

export function notificationMetrics(registry: Registry): NotificationCount {
  const total = new Counter({
    name: 'keyturn_notifications_total',
    help: 'Tries of webhook notifications by this process, by channel and result (delivered, retrying, failed, dropped)',
    labelNames: ['channel', 'result'],
    registers: [registry],
  });
  return (channel, result) => total.labels(channel, result).inc();
}
