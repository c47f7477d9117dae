/**
 * The hsm-key target's configuration (strict zod schema, used by the keyturn.yaml loader): a
 * signing key pair generated inside a PKCS#11 token (an HSM; SoftHSM2 in the tests).
 *
 * - `module`: absolute path of the PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so).
 * - `token`: the token's label (as `softhsm2-util --init-token --label` set it).
 * - `keyType`: `ec-p256` (ES256, the default), `rsa-2048` (RS256) or `ed25519` (EdDSA).
 * - `labelPrefix`: the keys are labelled `<labelPrefix><versionId>` (default `keyturn-`).
 *
 * The user PIN is the target's admin secret (`admin: PATH`): a string, or `{ pin }`.
 *
 * @example
 * ```ts
 * hsmKeyConfigSchema.parse({ type: 'hsm-key', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signing' }).keyType; // 'ec-p256'
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { KEY_TYPES } from '../../hsm/key-types.js';

/** PKCS#11 token labels are 32 bytes, blank-padded. */
const TOKEN_LABEL_BYTES = 32;

export const DEFAULT_LABEL_PREFIX = 'keyturn-';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export const hsmKeyConfigSchema = z.strictObject({
  type: z.literal('hsm-key'),
  module: z
    .string({ error: 'must be the absolute path of a PKCS#11 library' })
    .refine((p) => isAbsolute(p) && !CONTROL.test(p), 'must be the absolute path of a PKCS#11 library')
    .describe('path of the PKCS#11 module (library), e.g. /usr/lib/softhsm/libsofthsm2.so'),
  token: z
    .string({ error: 'must be a token label' })
    .min(1, 'must be a token label')
    .refine((t) => Buffer.byteLength(t) <= TOKEN_LABEL_BYTES, `must be at most ${TOKEN_LABEL_BYTES} bytes (a PKCS#11 token label)`)
    .refine((t) => !CONTROL.test(t) && t === t.trimEnd(), 'must not contain control characters or end with a space')
    .describe('label of the token that holds the keys'),
  keyType: z
    .enum(KEY_TYPES, { error: `must be one of ${KEY_TYPES.join(', ')}` })
    .default('ec-p256')
    .describe('ec-p256 (ES256, default), rsa-2048 (RS256) or ed25519 (EdDSA)'),
  labelPrefix: z
    .string({ error: 'must be a string' })
    .max(64, 'must be at most 64 characters')
    .refine((t) => !CONTROL.test(t), 'must not contain control characters')
    .default(DEFAULT_LABEL_PREFIX)
    .describe(`each key is labelled <labelPrefix><versionId> in the token (default ${DEFAULT_LABEL_PREFIX})`),
});

export type HsmKeyTargetConfig = z.output<typeof hsmKeyConfigSchema>;
export type HsmKeyTargetConfigInput = z.input<typeof hsmKeyConfigSchema>;
