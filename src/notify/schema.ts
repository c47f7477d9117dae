/**
 * The `notifications:` block of keyturn.yaml: webhook channels that hear about rotations that
 * failed (and, if asked, succeeded), secrets about to expire, and secrets that stayed failing
 * (docs/notifications.md). Strict zod like the rest of the file: unknown keys are refused and
 * every problem names its dot-path (`notifications.channels.ops.url: ...`).
 *
 * Credentials are never written in the file: a signing secret, and a URL or header value that
 * carries a token, is a reference, either `"${env:VAR}"` (read from the environment of the
 * process that delivers, when it delivers) or `{ secret: PATH, field: NAME }` (a secret in the
 * store). `keyturn apply` stores the references, never what they stand for.
 *
 * @example
 * ```yaml
 * notifications:
 *   channels:
 *     ops:
 *       url: https://hooks.example.com/keyturn
 *       format: json
 *       signingSecret: "${env:KEYTURN_HOOK_SECRET}"
 *       events: [failure, escalation, expiry-warning]
 *       paths: [prod]
 *     chat:
 *       url: { secret: notify/slack, field: url }
 *       format: slack
 * ```
 */
import { z } from 'zod';
import { durationMs } from '../schedule/schema.js';

/** The events a channel can ask for. */
export const NOTIFY_EVENTS = ['failure', 'success', 'expiry-warning', 'escalation', 'anomaly'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export const NOTIFY_FORMATS = ['json', 'slack'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/** `${env:NAME}`, the whole string. */
export const ENV_REF = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

const SECRET_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** `{ secret: PATH, field: NAME }`: a value kept in the store (field: one field of a JSON value). */
export const secretRefSchema = z.strictObject({
  secret: z.string().regex(SECRET_PATH, 'must be a secret path: segments of [A-Za-z0-9._-] joined by "/"'),
  field: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'must be a field name of [A-Za-z0-9._-]')
    .optional()
    .describe('the field of a JSON value; without it the value must be a string'),
});
export type SecretRef = z.infer<typeof secretRefSchema>;

/** A value given by reference: `${env:VAR}` or a secret in the store. */
export type ValueRef = string | SecretRef;

const REF_HELP = 'use "${env:VAR}" (read by the process that delivers) or { secret: PATH, field: NAME } (a secret in the store)';

/** A credential: only by reference, never its text. */
const credentialRef = z.union([z.string(), secretRefSchema]).superRefine((v, ctx) => {
  if (typeof v === 'string' && !ENV_REF.test(v)) ctx.addIssue({ code: 'custom', message: `a credential is never written in keyturn.yaml: ${REF_HELP}` });
});

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Why `text` is not a webhook URL (https://, or http:// to loopback; no credentials in it), or null when it is one. */
export function urlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL such as https://hooks.example.com/keyturn';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must start with https:// (or http:// to 127.0.0.1, [::1] or localhost)';
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) return 'plain http:// is only for 127.0.0.1, [::1] or localhost: use https:// (a notification would cross the network in the clear)';
  if (url.username || url.password) return `must not carry a user or password: ${REF_HELP} for a URL that holds a credential, or send it in a header`;
  if (url.hash) return 'must not have a #fragment';
  return null;
}

/** A URL in the file, or by reference (a Slack webhook URL is itself a credential). */
const urlRef = z.union([z.string(), secretRefSchema]).superRefine((v, ctx) => {
  if (typeof v !== 'string' || ENV_REF.test(v)) return;
  const problem = urlProblem(v);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** Header names Keyturn sets itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'user-agent']);
/** Header names whose value is a credential: given only by reference. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token']);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;

const headersSchema = z.record(z.string(), z.union([z.string().max(4096), secretRefSchema])).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)" });
    else if (RESERVED_HEADERS.has(lower) || lower.startsWith('keyturn-')) ctx.addIssue({ code: 'custom', path: [name], message: 'is set by Keyturn itself' });
    else if (typeof value === 'string' && /[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'must not contain a line break or NUL' });
    else if (typeof value === 'string' && CREDENTIAL_HEADERS.has(lower) && !ENV_REF.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: `carries a credential: ${REF_HELP}` });
  }
});

const DURATION_TEXT = /^\d{1,9}[smhd]$/;
const duration = z
  .string()
  .regex(DURATION_TEXT, 'must be a duration: a whole number and s, m, h or d (90s, 20m, 24h, 90d)')
  .refine((t) => !DURATION_TEXT.test(t) || durationMs(t) !== null, { message: 'must be a duration of at least 1s' });

export const DEFAULT_RETRY = Object.freeze({ attempts: 10, backoffBaseMs: 10_000, backoffCapMs: 3_600_000 });
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_ESCALATE_AFTER = '24h';

/** One webhook channel. */
export const channelSchema = z
  .strictObject({
    url: urlRef.describe('https://... (http:// only to 127.0.0.1, [::1] or localhost), or a reference: "${env:VAR}" or { secret: PATH, field: NAME }'),
    format: z.enum(NOTIFY_FORMATS).default('json').describe('json: a plain JSON body; slack: a Slack-compatible {text, blocks} body'),
    signingSecret: credentialRef.optional().describe('HMAC-SHA256 key of the Keyturn-Signature header: "${env:VAR}" or { secret: PATH, field: NAME }; never the key itself'),
    headers: headersSchema.optional().describe('extra request headers; a credential header (Authorization, ...) only by reference'),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .default(['failure'])
      .refine((e) => new Set(e).size === e.length, { message: 'lists an event twice' })
      .describe('failure (default), success, expiry-warning, escalation'),
    paths: z
      .array(z.string().regex(SECRET_PATH, 'must be a secret path prefix: segments of [A-Za-z0-9._-] joined by "/"'))
      .min(1)
      .optional()
      .describe('only secrets at or below these path prefixes (prod matches prod and prod/..., not production)'),
    escalateAfter: duration.default(DEFAULT_ESCALATE_AFTER).describe('escalation: a secret whose rotations have failed for this long (default 24h)'),
    retry: z
      .strictObject({
        attempts: z.number().int().min(1).max(50).default(DEFAULT_RETRY.attempts).describe('tries of one notification before it is given up'),
        backoffBaseMs: z.number().int().min(0).max(3_600_000).default(DEFAULT_RETRY.backoffBaseMs).describe('first retry delay cap; doubles each attempt (full jitter)'),
        backoffCapMs: z.number().int().min(0).max(86_400_000).default(DEFAULT_RETRY.backoffCapMs).describe('largest retry delay'),
      })
      .default({ ...DEFAULT_RETRY }),
    timeoutMs: z.number().int().min(100).max(120_000).default(DEFAULT_TIMEOUT_MS).describe('limit on one request'),
  })
  .describe('a webhook that hears about rotations (docs/notifications.md)');

const CHANNEL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const notificationsSchema = z
  .strictObject({
    channels: z
      .record(z.string(), channelSchema)
      .default({})
      .superRefine((channels, ctx) => {
        for (const name of Object.keys(channels)) {
          if (!CHANNEL_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'channel names are 1 to 64 of [A-Za-z0-9_-]' });
        }
      }),
  })
  .describe('webhook notifications: failures, successes, expiry warnings, escalations (docs/notifications.md)');

export type ChannelConfig = z.infer<typeof channelSchema>;
export type NotificationsConfig = z.infer<typeof notificationsSchema>;

/**
 * A reference as text that is safe to show: `${env:VAR}`, `secret:PATH#FIELD`, or a literal URL
 * cut to its origin (a URL's path and query may carry a token, as Slack's do).
 */
export function describeRef(ref: ValueRef): string {
  if (typeof ref !== 'string') return `secret:${ref.secret}${ref.field === undefined ? '' : `#${ref.field}`}`;
  if (ENV_REF.test(ref)) return ref;
  try {
    const url = new URL(ref);
    return url.pathname === '/' && url.search === '' ? url.origin : `${url.origin}/…`;
  } catch {
    return '(invalid)';
  }
}

/** Whether a channel hears about `path` (no `paths`: every path). */
export function channelCovers(channel: Pick<ChannelConfig, 'paths'>, path: string | null): boolean {
  if (channel.paths === undefined) return true;
  if (path === null) return false;
  return channel.paths.some((p) => path === p || path.startsWith(`${p}/`));
}
