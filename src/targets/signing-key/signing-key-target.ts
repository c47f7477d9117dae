/**
 * The signing-key target: JWT signing keys (EdDSA/Ed25519, ES256, RS256) Keyturn makes itself and
 * rotates with overlap, through the `renew` strategy (docs/signing-keys.md). Nothing outside is
 * changed: the value is the key pair (src/signing/keys.ts), the signers get it through consumers,
 * and the verifiers through the JWKS `keyturn server` serves (src/signing/jwks.ts).
 *
 * The renewer:
 * - `issue`: a new key pair of the configured `alg`; the engine stores it as `pending`, which
 *   puts it in the JWKS. An aborted rotation (ctx.signal) ends it at once with KT_TARGET_UNAVAILABLE.
 * - `check`: the value is a usable key of `alg` (KT_SIGNING_KEY_INVALID otherwise), then
 *   {@link NotYet} until `prePublish` has passed since it was stored as pending, so every
 *   verifier has it before the engine makes it `current` (the signing key).
 * - `renewAt`: null (keys do not expire; the policy's schedule decides); no `retire`: a replaced
 *   key leaves the JWKS by itself `maxTokenTtl` after it stopped signing.
 *
 * @example
 * ```ts
 * const target = new SigningKeyTarget(signingKeyConfigSchema.parse({ type: 'signing-key', alg: 'EdDSA' }));
 * const value = await target.renewer.issue(ctx, null, 'run_abc.g1');
 * await target.renewer.check(ctx, value, { pendingSince, now }); // NotYet until pendingSince + 5m
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import { generateSigningKey, verifySigningKey } from '../../signing/keys.js';
import { abortable } from '../abortable.js';
import { RenewOnlyTarget } from '../renew-target.js';
import { NotYet, type Renewer, type TargetContext } from '../target.js';
import { signingKeyTimes, type SigningKeyTargetConfig } from './config.js';

class SigningKeyRenewer implements Renewer {
  constructor(
    private readonly config: SigningKeyTargetConfig,
    private readonly prePublishMs: number,
  ) {}

  async issue(ctx: TargetContext, _current: SecretValue | null, _versionId: string): Promise<SecretValue> {
    // Key generation cannot be interrupted (RSA takes a while): an aborted rotation ends at once, the key it was making dropped.
    const aborted = () => new KeyturnError('KT_TARGET_UNAVAILABLE', `no ${this.config.alg} key was made: the rotation was aborted (time limit reached or lease lost)`);
    return abortable(
      ctx.signal,
      () => undefined,
      aborted,
      () => generateSigningKey(this.config.alg),
    );
  }

  async check(_ctx: TargetContext, value: SecretValue, when: { readonly pendingSince: number; readonly now: number }): Promise<void> {
    const key = await verifySigningKey(value, this.config.alg);
    const at = when.pendingSince + this.prePublishMs;
    if (when.now < at) throw new NotYet(at, `key ${key.kid} is published in the JWKS until ${new Date(at).toISOString()} before it signs (prePublish ${this.config.prePublish})`);
  }

  renewAt(_value: SecretValue): number | null {
    return null;
  }
}

export class SigningKeyTarget extends RenewOnlyTarget {
  readonly kind = 'signing-key';
  readonly renewer: Renewer;
  /** How long a new key is published before it signs. */
  readonly prePublishMs: number;
  /** How long a replaced key stays in the JWKS after it stopped signing. */
  readonly maxTokenTtlMs: number;

  constructor(readonly config: SigningKeyTargetConfig) {
    super();
    const { prePublishMs, maxTokenTtlMs } = signingKeyTimes(config);
    this.prePublishMs = prePublishMs;
    this.maxTokenTtlMs = maxTokenTtlMs;
    this.renewer = new SigningKeyRenewer(config, prePublishMs);
  }
}

/** True when `target` is a signing-key target (the JWKS is served only for these). */
export function isSigningKeyTarget(target: { readonly kind: string }): target is SigningKeyTarget {
  return target instanceof SigningKeyTarget;
}
