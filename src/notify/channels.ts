/**
 * The notification channels `keyturn apply` stored (`notify_channels`), read back and parsed with
 * the same schema as keyturn.yaml, each with `fromSeq`: the audit log's size when it was created
 * (it hears about events from there on).
 *
 * @example
 * ```ts
 * const channels = await appliedChannels(kt.state);
 * channels.find((c) => c.name === 'ops')?.config.events; // ['failure', 'escalation']
 * ```
 */
import type { StateDb } from '../state/db.js';
import { channelSchema, type ChannelConfig, type NotifyEvent } from './schema.js';

export interface AppliedChannel {
  readonly name: string;
  readonly config: ChannelConfig;
  readonly fromSeq: number;
}

/** Every applied channel, by name. */
export async function appliedChannels(state: StateDb): Promise<AppliedChannel[]> {
  const rows = await state.db.selectFrom('notify_channels').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, config: channelSchema.parse(JSON.parse(r.config)), fromSeq: Number(r.from_seq) }));
}

/** The channels that asked for `event`. */
export function listening(channels: readonly AppliedChannel[], event: NotifyEvent): AppliedChannel[] {
  return channels.filter((c) => c.config.events.includes(event));
}
