/**
 * The acme target's configuration (strict zod schema, used by the keyturn.yaml loader): an ACME
 * CA (RFC 8555) that issues TLS certificates for `names`, proving control of them with the
 * HTTP-01 challenge served on `challenge.listen` for the duration of an order.
 *
 * - `directoryUrl`: the CA's directory (Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory);
 *   `caBundle`: a PEM file of the CA(s) the directory's own HTTPS certificate must chain to
 *   (default: the system's), for a private ACME CA or a test server such as pebble.
 * - `email`: the account's contact (optional).
 * - `names`: the DNS names of the certificate; the first is its common name.
 * - `keyType`: the certificate key made at each issue, `ec-p256` (default) or `rsa-2048`.
 * - `challenge`: `{ type: 'http-01', listen: 'HOST:PORT' }`: where Keyturn answers the CA's
 *   requests for `/.well-known/acme-challenge/<token>` (port 80 of the names must reach it).
 * - `renewBefore`: how long before notAfter the certificate is renewed: a duration (`30d`,
 *   the default) or a share of its lifetime (`33%`); a duration not shorter than the lifetime
 *   becomes a third of it.
 * - `timeoutMs`: bound on one whole issue (default 300000).
 *
 * @example
 * ```ts
 * acmeConfigSchema.parse({
 *   type: 'acme',
 *   directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
 *   names: ['www.example.com', 'example.com'],
 *   challenge: { type: 'http-01', listen: '0.0.0.0:80' },
 * }).renewBefore; // '30d'
 * ```
 */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { renewStrategies } from '../renew-target.js';
import type { Strategy } from '../target.js';

/** Default bound on one issue. */
export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_RENEW_BEFORE = '30d';
export const KEY_TYPES = ['ec-p256', 'rsa-2048'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

const URL_MESSAGE = 'must be an https:// (or http://) URL without user, password or fragment';
/** A DNS name (letters, digits, hyphens; labels of at most 63). */
const DNS_NAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const PERCENT = /^(\d{1,2})%$/;

/** `HOST:PORT` (an IPv6 host in brackets) split, or null. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export const acmeConfigSchema = z.strictObject({
  type: z.literal('acme'),
  directoryUrl: z
    .string({ error: URL_MESSAGE })
    .refine((text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.hash === '';
    }, URL_MESSAGE)
    .describe("the ACME CA's directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory"),
  caBundle: z
    .string({ error: 'must be the path of a PEM file' })
    .min(1, 'must be the path of a PEM file')
    .optional()
    .describe("PEM file of the CA(s) the directory's HTTPS certificate must chain to (default: the system CAs)"),
  issuerRoots: z
    .string({ error: 'must be the path of a PEM file' })
    .min(1, 'must be the path of a PEM file')
    .optional()
    .describe("PEM file of the root(s) the CA's certificates chain to (ISRG Root X1 for Let's Encrypt): check then refuses a certificate of any other CA"),
  email: z.email({ error: 'must be an email address' }).optional().describe("the ACME account's contact address"),
  names: z
    .array(
      z
        .string({ error: 'must be a DNS name' })
        .max(253, 'must be at most 253 characters')
        .refine((n) => !n.startsWith('*.'), 'must not be a wildcard: a wildcard needs the dns-01 challenge, which the acme target does not implement')
        .refine((n) => n.startsWith('*.') || DNS_NAME.test(n), 'must be a DNS name (letters, digits, hyphens and dots)'),
    )
    .min(1, 'must list at least one name')
    .max(100, 'must list at most 100 names')
    .refine((names) => new Set(names.map((n) => n.toLowerCase())).size === names.length, 'must not list a name twice')
    .describe('DNS names of the certificate; the first is its common name'),
  keyType: z
    .enum(KEY_TYPES, { error: `must be one of ${KEY_TYPES.join(', ')}` })
    .default('ec-p256')
    .describe('key made for each certificate'),
  challenge: z
    .strictObject({
      type: z.literal('http-01', { error: 'must be http-01' }),
      listen: z
        .string({ error: 'must be HOST:PORT' })
        .refine((l) => parseListen(l) !== null, 'must be HOST:PORT (an IPv6 host in brackets), e.g. 0.0.0.0:80')
        .describe('where the challenge answers are served during an order; port 80 of each name must reach it'),
    })
    .describe('how control of the names is proven'),
  renewBefore: z
    .string({ error: 'must be a duration such as 30d, or a share of the lifetime such as 33%' })
    .refine((t) => parseDuration(t) !== null || (PERCENT.test(t) && Number(PERCENT.exec(t)![1]) > 0), 'must be a duration such as 30d, or a share of the lifetime from 1% to 99%')
    .default(DEFAULT_RENEW_BEFORE)
    .describe('renew this long before notAfter (30d), or when this share of the lifetime is left (33%); a duration not shorter than the lifetime becomes a third of it'),
  timeoutMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(1000, 'must be at least 1000 ms')
    .max(3_600_000, 'must be at most 3600000 ms (1 hour)')
    .optional()
    .describe(`bound on one whole issue: ordering, validation, finalizing, download (default ${DEFAULT_TIMEOUT_MS} ms)`),
});

export type AcmeTargetConfig = z.output<typeof acmeConfigSchema>;

/** The strategies the acme target rotates with (its registry entry carries them). */
export const acmeStrategies: readonly Strategy[] = renewStrategies;

/**
 * How long before notAfter a certificate of `lifetimeMs` is renewed under `renewBefore`.
 *
 * @example
 * ```ts
 * renewBeforeMs('30d', 90 * 86_400_000); // 30 days
 * renewBeforeMs('30d', 7 * 86_400_000);  // 7/3 days (30d is longer than the lifetime)
 * renewBeforeMs('50%', 10 * 86_400_000); // 5 days
 * ```
 */
export function renewBeforeMs(renewBefore: string, lifetimeMs: number): number {
  const percent = PERCENT.exec(renewBefore);
  if (percent) return Math.floor((lifetimeMs * Number(percent[1])) / 100);
  const ms = parseDuration(renewBefore) ?? parseDuration(DEFAULT_RENEW_BEFORE)!;
  return ms >= lifetimeMs ? Math.floor(lifetimeMs / 3) : ms;
}
