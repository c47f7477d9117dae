/**
 * One notification pass over an open Keyturn, and the periodic job that runs it in
 * `keyturn server` (every KEYTURN_NOTIFY_INTERVAL_MS): queue what the audit log gained
 * (./fill.ts), the escalations (./escalate.ts) and, at most once a minute, the expiry warnings
 * (./expiry.ts, which reads every policy), then send what is due (./deliver.ts). Settled outbox
 * rows older than 30 days are deleted once an hour. With no channel applied a pass reads the
 * channels and finds nothing due, nothing more.
 *
 * Any long-running process that opens Keyturn can run the job (the server does; a worker can add
 * it to its jobs the same way); several at once are safe (see the modules above).
 *
 * @example
 * ```ts
 * const stop = startJobs([notificationsJob(kt, { onResult: metrics.notification })], kt.log);
 * ```
 */
import type { Keyturn } from '../runtime/keyturn.js';
import type { Job } from '../server/housekeeping.js';
import { appliedChannels } from './channels.js';
import { deliverOutbox, type DeliverReport, type DeliveryResult } from './deliver.js';
import { queueEscalations } from './escalate.js';
import { queueExpiryWarnings } from './expiry.js';
import { fillFromAudit } from './fill.js';
import { purgeSettled } from './outbox.js';
import { refResolver } from './refs.js';

/** Settled rows (delivered, failed, dropped) are kept this long for `keyturn notify ls`. */
export const OUTBOX_KEPT_MS = 30 * 86_400_000;
export const EXPIRY_EVERY_MS = 60_000;
const PURGE_EVERY_MS = 3_600_000;

export interface PassOptions {
  /** Compute expiry warnings in this pass (default true). */
  readonly expiry?: boolean;
  readonly onResult?: (channel: string, result: DeliveryResult) => void;
  readonly random?: () => number;
}

export interface PassReport {
  readonly channels: number;
  /** Audit events read. */
  readonly read: number;
  readonly queued: { readonly events: number; readonly escalations: number; readonly expiryWarnings: number };
  readonly sent: DeliverReport;
}

/** One pass (see the module header). */
export async function notifyPass(kt: Keyturn, options: PassOptions = {}): Promise<PassReport> {
  const channels = await appliedChannels(kt.state);
  const now = kt.clock.now();
  const fill = channels.length === 0 ? { read: 0, queued: 0 } : await fillFromAudit(kt.state, { now, channels });
  const escalations = channels.length === 0 ? 0 : await queueEscalations(kt.state, { now, channels });
  const expiryWarnings = channels.length === 0 || options.expiry === false ? 0 : await queueExpiryWarnings(kt.state, kt.applied, { now, channels });
  const sent = await deliverOutbox(kt.state, {
    clock: kt.clock,
    refs: refResolver(kt.store, kt.settings.envVar),
    log: kt.log,
    channels,
    ...(options.onResult ? { onResult: options.onResult } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  return { channels: channels.length, read: fill.read, queued: { events: fill.queued, escalations, expiryWarnings }, sent };
}

/** The server's `notifications` job (see the module header). */
export function notificationsJob(kt: Keyturn, options: { everyMs?: number; onResult?: (channel: string, result: DeliveryResult) => void } = {}): Job {
  let lastExpiry = Number.NEGATIVE_INFINITY;
  let lastPurge = Number.NEGATIVE_INFINITY;
  return {
    name: 'notifications',
    everyMs: options.everyMs ?? kt.settings.notify.intervalMs,
    run: async () => {
      const now = kt.clock.now();
      const expiry = now - lastExpiry >= EXPIRY_EVERY_MS;
      await notifyPass(kt, { expiry, ...(options.onResult ? { onResult: options.onResult } : {}) });
      if (expiry) lastExpiry = now;
      if (now - lastPurge >= PURGE_EVERY_MS) {
        await purgeSettled(kt.state, now - OUTBOX_KEPT_MS);
        lastPurge = now;
      }
    },
  };
}
