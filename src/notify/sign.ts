/**
 * The signature of a notification: `Keyturn-Signature: t=<unix seconds>,v1=<hex>`, where the hex
 * is HMAC-SHA256 under the channel's signing secret of `<t>.<body>` (the timestamp, a dot, the
 * exact bytes of the request body), as Stripe and Slack sign theirs. The timestamp is the time of
 * the try, so a receiver can refuse old requests (a replay window; docs/notifications.md
 * recommends 5 minutes); a retry is signed again with its own time. {@link verifySignature} is
 * the receiver's side, exactly as the docs write it.
 *
 * @example
 * ```ts
 * const header = signatureHeader(secret, body, Date.now()); // 't=1767225600,v1=5f0c…'
 * verifySignature(secret, body, header, { now: Date.now(), toleranceSeconds: 300 }); // true
 * ```
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'keyturn-signature';

/** The hex HMAC-SHA256 of `<t>.<body>` under `secret`. */
export function signatureOf(secret: string | Buffer, t: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/** The header value for a request sent at `nowMs`. */
export function signatureHeader(secret: string | Buffer, body: string | Buffer, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${signatureOf(secret, t, body)}`;
}

/**
 * Whether `header` signs `body` under `secret`, and its timestamp is within `toleranceSeconds`
 * of `now` (ms). Any `v1=` in the header may match (several while a secret is being changed).
 */
export function verifySignature(secret: string | Buffer, body: string | Buffer, header: string, options: { now: number; toleranceSeconds: number }): boolean {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(options.now / 1000 - t) > options.toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, t, body), 'hex');
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
