/**
 * `keyturn notify test [CHANNEL]`: sends a `test` notification to each applied channel (or the
 * one named) now, once, straight to the channel (not through the outbox, no retry), and reports
 * per channel whether it was delivered, the answer's status and why it failed. References
 * resolve in this process: an `${env:VAR}` must be set here.
 *
 * @example
 * ```ts
 * const results = await testChannels(kt, 'ops');
 * results[0]; // { channel: 'ops', ok: true, status: 204, error: null, ... }
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { appliedChannels } from './channels.js';
import { iso, newDeliveryId, notificationBody } from './payload.js';
import { refResolver } from './refs.js';
import { describeRef } from './schema.js';
import { sendNotification } from './send.js';

export interface TestResult {
  readonly channel: string;
  /** The URL as it is safe to show (a reference, or a literal URL's origin). */
  readonly url: string;
  readonly format: string;
  readonly ok: boolean;
  /** The answer's HTTP status; null without an answer. */
  readonly status: number | null;
  readonly error: { readonly code: 'KT_NOTIFY_DELIVERY_FAILED' | 'KT_NOTIFY_SECRET_UNAVAILABLE'; readonly message: string } | null;
  readonly deliveryId: string;
  readonly ms: number;
}

/** Sends the test notifications (see the module header); KT_NOTIFY_CHANNEL_NOT_FOUND for an unknown name or no channel at all. */
export async function testChannels(kt: Keyturn, name?: string): Promise<TestResult[]> {
  const all = await appliedChannels(kt.state);
  const channels = name === undefined ? all : all.filter((c) => c.name === name);
  if (channels.length === 0) {
    const known = all.map((c) => c.name).join(', ');
    throw new KeyturnError(
      'KT_NOTIFY_CHANNEL_NOT_FOUND',
      name === undefined ? 'no notification channel is applied (notifications.channels in keyturn.yaml)' : `no notification channel "${name}" is applied; applied: ${known || 'none'}`,
    );
  }
  const refs = refResolver(kt.store, kt.settings.envVar);
  return Promise.all(
    channels.map(async (c): Promise<TestResult> => {
      const now = kt.clock.now();
      const body = notificationBody({
        id: newDeliveryId(),
        channel: c.name,
        type: 'test',
        time: iso(now)!,
        outcome: 'test',
        details: { message: 'A test notification from `keyturn notify test`: this channel works.' },
      });
      const r = await sendNotification(c.config, body, { refs, attempt: 1 });
      const code = r.error?.startsWith('KT_NOTIFY_SECRET_UNAVAILABLE') ? 'KT_NOTIFY_SECRET_UNAVAILABLE' : 'KT_NOTIFY_DELIVERY_FAILED';
      const message = r.error?.replace(/^KT_NOTIFY_SECRET_UNAVAILABLE: /, '') ?? '';
      return { channel: c.name, url: describeRef(c.config.url), format: c.config.format, ok: r.ok, status: r.status, error: r.ok ? null : { code, message }, deliveryId: body.id, ms: r.ms };
    }),
  );
}
