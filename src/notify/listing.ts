/**
 * What `keyturn notify ls` shows: each applied channel (its URL as it is safe to show, whether it
 * signs, its events and paths, how many notifications wait for it) and the latest notifications
 * with their delivery status. Never a credential, never a value.
 *
 * @example
 * ```ts
 * const { channels, deliveries } = await notifyListing(kt.state, 20);
 * ```
 */
import type { StateDb } from '../state/db.js';
import { appliedChannels } from './channels.js';
import { recentDeliveries } from './outbox.js';
import { describeRef } from './schema.js';

export interface ChannelListing {
  readonly name: string;
  readonly format: string;
  readonly url: string;
  readonly signed: boolean;
  readonly events: readonly string[];
  readonly paths: readonly string[] | null;
  readonly escalateAfter: string;
  readonly pending: number;
}

export interface DeliveryListing {
  readonly id: string;
  readonly channel: string;
  readonly event: string;
  readonly path: string | null;
  readonly status: string;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly deliveredAt: number | null;
  /** When the next try is due (pending only). */
  readonly nextAttemptAt: number | null;
}

export async function notifyListing(state: StateDb, limit: number): Promise<{ channels: ChannelListing[]; deliveries: DeliveryListing[] }> {
  const channels = await appliedChannels(state);
  const pending = await state.db
    .selectFrom('notify_outbox')
    .select(['channel', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'pending')
    .groupBy('channel')
    .execute();
  const waiting = new Map(pending.map((p) => [p.channel, Number(p.n)]));
  const rows = limit === 0 ? [] : await recentDeliveries(state, limit);
  return {
    channels: channels.map((c) => ({
      name: c.name,
      format: c.config.format,
      url: describeRef(c.config.url),
      signed: c.config.signingSecret !== undefined,
      events: c.config.events,
      paths: c.config.paths ?? null,
      escalateAfter: c.config.escalateAfter,
      pending: waiting.get(c.name) ?? 0,
    })),
    deliveries: rows.map((r) => ({
      id: r.id,
      channel: r.channel,
      event: r.event,
      path: r.path,
      status: r.status,
      attempts: Number(r.attempts),
      lastStatus: r.last_status === null ? null : Number(r.last_status),
      lastError: r.last_error,
      createdAt: Number(r.created_at),
      deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
      nextAttemptAt: r.status === 'pending' ? Number(r.next_attempt_at) : null,
    })),
  };
}
