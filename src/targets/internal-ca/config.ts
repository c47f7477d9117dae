/**
 * The internal-ca target's configuration (strict zod schema, used by the keyturn.yaml loader): a
 * TLS certificate the internal CA (`keyturn ca init`) issues, renewed with the `renew` strategy.
 * The issuing CA is the target's `admin:` secret (`pki/ca/intermediate`).
 *
 * - `commonName`: the subject CN; `dnsNames`, `ipAddresses`: the subject alternative names (at
 *   least one when serverAuth is asked for: TLS clients check only those);
 * - `keyType`: `ec-p256` (default), `rsa-2048` or `ed25519`, a new key each issue;
 * - `validity`: how long each certificate is valid (`90d`; never past the CA's notAfter);
 * - `renewBefore`: renew this long before notAfter, a duration (`30d`, default) or a share of the
 *   lifetime (`33%`); see ./renew-before.ts;
 * - `extendedKeyUsage`: `serverAuth` (default) and/or `clientAuth`.
 *
 * @example
 * ```ts
 * internalCaConfigSchema.parse({ type: 'internal-ca', commonName: 'web.internal', dnsNames: ['web.internal'] }).validity; // '90d'
 * ```
 */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { KEY_TYPES, DEFAULT_KEY_TYPE } from '../../certs/issue/keys.js';
import { canonicalIp, isDnsName } from '../../certs/names.js';
import { renewStrategies } from '../renew-target.js';
import { DEFAULT_RENEW_BEFORE, parseRenewBefore } from './renew-before.js';

/** The extended key usages a leaf may get (kept here, not imported from the issuer, so the config loads without the X.509 library). */
const EKUS = ['serverAuth', 'clientAuth'] as const;

export const internalCaConfigSchema = z
  .strictObject({
    type: z.literal('internal-ca'),
    commonName: z
      .string({ error: 'must be a name such as web.internal' })
      .min(1, 'must not be empty')
      .max(64, 'must be at most 64 characters (the X.509 limit of a common name)')
      // eslint-disable-next-line no-control-regex
      .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), 'must not contain control characters')
      .describe("the certificate's subject common name"),
    dnsNames: z
      .array(z.string({ error: 'must be a DNS name' }).refine(isDnsName, 'must be a DNS name such as web.internal or *.web.internal'))
      .default([])
      .describe('DNS names of the certificate (subjectAltName)'),
    ipAddresses: z
      .array(z.string({ error: 'must be an IP address' }).refine((ip) => canonicalIp(ip) !== null, 'must be an IPv4 or IPv6 address'))
      .default([])
      .describe('IP addresses of the certificate (subjectAltName)'),
    keyType: z
      .enum(KEY_TYPES, { error: `must be one of ${KEY_TYPES.join(', ')}` })
      .default(DEFAULT_KEY_TYPE)
      .describe('key type, a new key each issue (default ec-p256)'),
    validity: z
      .string({ error: 'must be a duration such as 90d' })
      .refine((t) => parseDuration(t) !== null, 'must be a duration: a whole number and s, m, h or d (90d)')
      .default('90d')
      .describe("how long each certificate is valid (default 90d; never past the CA's notAfter)"),
    renewBefore: z
      .string({ error: 'must be a duration such as 30d or a percentage such as 33%' })
      .refine((t) => parseRenewBefore(t) !== null, 'must be a duration (30d) or a percentage of the lifetime from 1% to 99% (33%)')
      .default(DEFAULT_RENEW_BEFORE)
      .describe('renew this long before notAfter: a duration (default 30d) or a share of the lifetime (33%); a duration as long as the lifetime means a third of it'),
    extendedKeyUsage: z
      .array(z.enum(EKUS, { error: `must be ${EKUS.join(' or ')}` }))
      .min(1, 'must list at least one usage')
      .default(['serverAuth'])
      .describe('extended key usages: serverAuth (default) and/or clientAuth'),
  })
  .superRefine((c, ctx) => {
    if (c.extendedKeyUsage.includes('serverAuth') && c.dnsNames.length + c.ipAddresses.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['dnsNames'], message: 'a server certificate needs at least one name in dnsNames or ipAddresses (TLS clients check only those, not commonName)' });
    }
    if (new Set(c.extendedKeyUsage).size !== c.extendedKeyUsage.length) ctx.addIssue({ code: 'custom', path: ['extendedKeyUsage'], message: 'lists a usage twice' });
  });

export type InternalCaTargetConfig = z.output<typeof internalCaConfigSchema>;

/** The strategies the internal-ca target rotates with: only `renew`. */
export const internalCaStrategies = renewStrategies;
