/**
 * The signing-key target's configuration (strict zod schema, used by the keyturn.yaml loader):
 * JWT signing keys Keyturn makes itself, rotated with overlap (docs/signing-keys.md).
 *
 * - `alg`: `EdDSA` (Ed25519), `ES256` (P-256) or `RS256` (RSA 2048).
 * - `prePublish` (default `5m`): how long a new key sits in the JWKS (stage `pending`) before it
 *   starts signing: long enough for every verifier (and agent) to have fetched it.
 * - `maxTokenTtl` (default `1h`): the longest lifetime of a token signed with the key; a replaced
 *   key stays in the JWKS this long after it stopped signing, then leaves it.
 *
 * @example
 * ```ts
 * signingKeyConfigSchema.parse({ type: 'signing-key', alg: 'ES256' }); // { type, alg: 'ES256', prePublish: '5m', maxTokenTtl: '1h' }
 * signingKeyTimes(signingKeyConfigSchema.parse({ type: 'signing-key', alg: 'EdDSA', maxTokenTtl: '15m' })); // { prePublishMs: 300000, maxTokenTtlMs: 900000 }
 * ```
 */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { renewStrategies } from '../renew-target.js';
import { SIGNING_ALGS } from '../../signing/keys.js';
import type { Strategy } from '../target.js';

export const DEFAULT_PRE_PUBLISH = '5m';
export const DEFAULT_MAX_TOKEN_TTL = '1h';

/** Longest prePublish and maxTokenTtl: a key published or kept for longer than this is a mistake. */
const MAX_DURATION_MS = 30 * 86_400_000;

function durationField(what: string, dflt: string) {
  return z
    .string({ error: 'must be a duration such as 90s, 5m, 1h or 1d' })
    .refine((t) => {
      const ms = parseDuration(t);
      return ms !== null && ms <= MAX_DURATION_MS;
    }, 'must be a duration such as 90s, 5m, 1h or 1d, at most 30d')
    .default(dflt)
    .describe(`${what} (default ${dflt})`);
}

export const signingKeyConfigSchema = z.strictObject({
  type: z.literal('signing-key'),
  alg: z.enum(SIGNING_ALGS, { error: `must be one of ${SIGNING_ALGS.join(', ')}` }).describe('JWS algorithm of the keys: EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA 2048)'),
  prePublish: durationField('a new key is in the JWKS this long before it starts signing', DEFAULT_PRE_PUBLISH),
  maxTokenTtl: durationField('longest lifetime of a token; a replaced key stays in the JWKS this long after it stopped signing', DEFAULT_MAX_TOKEN_TTL),
});

export type SigningKeyTargetConfig = z.output<typeof signingKeyConfigSchema>;

/** The config's durations in milliseconds. */
export function signingKeyTimes(config: SigningKeyTargetConfig): { prePublishMs: number; maxTokenTtlMs: number } {
  return { prePublishMs: parseDuration(config.prePublish)!, maxTokenTtlMs: parseDuration(config.maxTokenTtl)! };
}

/** The strategies the signing-key target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const signingKeyStrategies: readonly Strategy[] = renewStrategies;
