/**
 * Sends what the outbox holds (./outbox.ts): claims due rows, sends each once (./send.ts), and
 * writes how it went. A 2xx is delivered. A try that may succeed later (network error, timeout,
 * 408, 429, 5xx, a reference not resolvable yet) is retried after an exponential backoff with
 * full jitter (the channel's `retry`: a uniform delay in [0, min(cap, base * 2^(try-1))]) until
 * the channel's `attempts` are used up, then it is `failed`; any other answer fails it at once.
 * A row whose channel was removed from keyturn.yaml is `dropped`. Rows are sent concurrently,
 * a claimed batch at a time; nothing waits for a backoff (a later pass sends what is due then).
 *
 * @example
 * ```ts
 * const report = await deliverOutbox(kt.state, { clock: kt.clock, refs, log: kt.log });
 * report.delivered; // 3
 * ```
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { fullJitterDelay } from '../engine/backoff.js';
import type { StateDb } from '../state/db.js';
import { appliedChannels, type AppliedChannel } from './channels.js';
import { claimDue, settle, type Outcome, type OutboxRow } from './outbox.js';
import type { NotificationBody } from './payload.js';
import type { RefResolver } from './refs.js';
import { sendNotification } from './send.js';

/** How one try ended, for metrics: `retrying` when another try is scheduled. */
export type DeliveryResult = 'delivered' | 'retrying' | 'failed' | 'dropped';

export interface DeliverOptions {
  readonly clock: Clock;
  readonly refs: RefResolver;
  readonly log?: Logger;
  /** Rows claimed at a time (default 20). */
  readonly batch?: number;
  /** Claimed batches per call (default 10). */
  readonly maxBatches?: number;
  readonly channels?: readonly AppliedChannel[];
  /** Told each try's result (metrics). */
  readonly onResult?: (channel: string, result: DeliveryResult) => void;
  readonly random?: () => number;
}

export interface DeliverReport {
  readonly delivered: number;
  readonly retrying: number;
  readonly failed: number;
  readonly dropped: number;
}

/** The lease of a claim: long enough for the slowest channel's request and the bookkeeping around it. */
export function leaseMs(channels: readonly AppliedChannel[]): number {
  return 2 * Math.max(0, ...channels.map((c) => c.config.timeoutMs)) + 5_000;
}

async function deliverRow(state: StateDb, row: OutboxRow, channel: AppliedChannel | undefined, o: DeliverOptions): Promise<DeliveryResult> {
  if (!channel) {
    await settle(state, row, { status: 'dropped', httpStatus: null, error: 'the channel is no longer in keyturn.yaml' }, o.clock.now());
    return 'dropped';
  }
  const body = JSON.parse(row.payload) as NotificationBody;
  const r = await sendNotification(channel.config, body, { refs: o.refs, attempt: row.attempts, stored: row.payload });
  const now = o.clock.now();
  const { attempts, backoffBaseMs, backoffCapMs } = channel.config.retry;
  let outcome: Outcome;
  let result: DeliveryResult;
  if (r.ok) {
    outcome = { status: 'delivered', httpStatus: r.status };
    result = 'delivered';
  } else if (r.retryable && row.attempts < attempts) {
    outcome = { status: 'retry', at: now + fullJitterDelay(row.attempts, { baseMs: backoffBaseMs, capMs: backoffCapMs }, o.random), httpStatus: r.status, error: r.error ?? 'failed' };
    result = 'retrying';
  } else {
    outcome = { status: 'failed', httpStatus: r.status, error: `${r.error ?? 'failed'}${r.retryable ? ` (gave up after ${row.attempts} tries)` : ' (not retried)'}` };
    result = 'failed';
  }
  if (!(await settle(state, row, outcome, now))) return result;
  const fields = { channel: channel.name, delivery: row.id, event: row.event, path: row.path, attempt: row.attempts, status: r.status, error: r.error };
  if (result === 'failed') o.log?.warn(fields, 'notification given up');
  else if (result === 'retrying') o.log?.info(fields, 'notification not delivered; it is tried again later');
  else o.log?.debug(fields, 'notification delivered');
  return result;
}

/** Sends the due rows (see the module header). */
export async function deliverOutbox(state: StateDb, o: DeliverOptions): Promise<DeliverReport> {
  const channels = o.channels ?? (await appliedChannels(state));
  const byName = new Map(channels.map((c) => [c.name, c]));
  const batch = o.batch ?? 20;
  const counts: Record<DeliveryResult, number> = { delivered: 0, retrying: 0, failed: 0, dropped: 0 };
  for (let n = 0; n < (o.maxBatches ?? 10); n++) {
    const rows = await claimDue(state, { now: o.clock.now(), limit: batch, leaseMs: leaseMs(channels) });
    const results = await Promise.all(rows.map((row) => deliverRow(state, row, byName.get(row.channel), o)));
    for (let i = 0; i < rows.length; i++) {
      counts[results[i]!]++;
      o.onResult?.(rows[i]!.channel, results[i]!);
    }
    if (rows.length < batch) break;
  }
  return counts;
}
