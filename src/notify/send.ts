/**
 * Sends one notification to one channel, once: resolves the channel's references (URL, signing
 * secret, headers: ./refs.ts), renders the body in the channel's format (./format.ts), signs it
 * (./sign.ts) and POSTs it (./post.ts). Headers: `Content-Type: application/json`,
 * `User-Agent: keyturn/<version>`, `Keyturn-Event`, `Keyturn-Delivery` (the delivery id, the same
 * on every try), `Keyturn-Attempt`, `Keyturn-Signature` when the channel has a signing secret, then
 * the channel's own headers. A reference that cannot be resolved is a failed try that may succeed
 * later (the variable set, the secret stored), with its KT_ code as the error.
 *
 * @example
 * ```ts
 * const r = await sendNotification(channel, body, { refs, attempt: 1 });
 * r.ok; r.status; r.error;
 * ```
 */
import { cliVersion } from '../cli/version.js';
import { isKeyturnError } from '../core/errors.js';
import { renderBody } from './format.js';
import type { NotificationBody } from './payload.js';
import { postWebhook, type PostResult } from './post.js';
import type { RefResolver } from './refs.js';
import type { ChannelConfig } from './schema.js';
import { signatureHeader } from './sign.js';

export interface SendOptions {
  readonly refs: RefResolver;
  /** The signature's timestamp (epoch ms): the wall-clock time of the try (default `Date.now()`), so receivers can bound replays. */
  readonly signedAt?: number;
  /** 1 for the first try. */
  readonly attempt: number;
  /** The stored JSON of the body, sent as it is by a json channel (so every try sends the same bytes). */
  readonly stored?: string;
}

export async function sendNotification(channel: ChannelConfig, body: NotificationBody, options: SendOptions): Promise<PostResult> {
  let url: string;
  let secret: string | undefined;
  const extra: Record<string, string> = {};
  try {
    url = await options.refs.resolve(channel.url);
    secret = channel.signingSecret === undefined ? undefined : await options.refs.resolve(channel.signingSecret);
    for (const [name, value] of Object.entries(channel.headers ?? {})) extra[name] = await options.refs.resolve(value);
  } catch (e) {
    return { ok: false, status: null, retryable: true, error: isKeyturnError(e) ? `${e.code}: ${e.message}` : 'a reference could not be resolved', ms: 0 };
  }
  const text = renderBody(channel.format, body, options.stored);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `keyturn/${cliVersion()}`,
    'keyturn-event': body.type,
    'keyturn-delivery': body.id,
    'keyturn-attempt': String(options.attempt),
    ...(secret === undefined ? {} : { 'keyturn-signature': signatureHeader(secret, text, options.signedAt ?? Date.now()) }),
    ...extra,
  };
  return postWebhook(url, text, headers, channel.timeoutMs);
}
