/**
 * The hsm-key target: signing keys that live in an HSM (PKCS#11). It rotates only with `renew`
 * (./hsm-key-renewer.ts does the work); the secret's value holds the key's label, id and public
 * key (./value.ts), never private material.
 *
 * @example
 * ```ts
 * const target = new HsmKeyTarget(hsmKeyConfigSchema.parse({ type: 'hsm-key', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signing' }));
 * const value = await target.renewer.issue(ctx, null, versionId);
 * ```
 */
import { RenewOnlyTarget } from '../renew-target.js';
import type { HsmKeyTargetConfig } from './config.js';
import { HsmKeyRenewer } from './hsm-key-renewer.js';

export class HsmKeyTarget extends RenewOnlyTarget {
  readonly kind = 'hsm-key';
  readonly renewer: HsmKeyRenewer;

  constructor(config: HsmKeyTargetConfig) {
    super();
    this.renewer = new HsmKeyRenewer(config);
  }
}
