/**
 * The internal-ca target: TLS certificates Keyturn's own CA issues (`keyturn ca init` makes it),
 * renewed with the `renew` strategy. The issuing CA is the target's `admin:` secret (a
 * certificate value of a CA: `pki/ca/intermediate`), which the engine passes as `ctx.adminValue`.
 * Nothing outside Keyturn changes: each issue makes a new key and certificate, the consumers
 * write them where they are used, and an old certificate simply expires (no `retire`).
 *
 * - `issue`: a new leaf (src/certs/issue/leaf.ts) for the configured names, key type, usages and
 *   validity (clamped to the CA's notAfter); KT_TARGET_ADMIN_REQUIRED without an admin secret,
 *   KT_CERT_VALUE_INVALID or KT_CA_INVALID when it is not a CA that can issue,
 *   KT_TARGET_UNAVAILABLE when the context's signal has fired (before or after the signing).
 * - `check`: the value is a certificate value whose key is its certificate's, signed by the
 *   issuing CA with that CA first in its chain, valid at `when.now`, for the configured names and
 *   usages (src/certs/issue/check.ts); KT_CERT_CHECK_FAILED naming what does not hold.
 * - `renewAt`: notAfter − renewBefore (./renew-before.ts).
 *
 * @example
 * ```ts
 * const target = new InternalCaTarget(internalCaConfigSchema.parse({ type: 'internal-ca', commonName: 'web.internal', dnsNames: ['web.internal'] }));
 * const value = await target.renewer.issue({ ...ctx, adminValue: intermediate }, null, 'run_1.g1');
 * await target.renewer.check({ ...ctx, adminValue: intermediate }, value, { pendingSince: Date.now(), now: Date.now() });
 * ```
 */
import { parseDuration } from '../../core/duration.js';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import { asCertificateValue, parseCertificateValue } from '../../certs/value.js';
import { RenewOnlyTarget } from '../renew-target.js';
import type { Renewer, TargetContext } from '../target.js';
import type { InternalCaTargetConfig } from './config.js';
import { parseRenewBefore, renewAtMs, type RenewBefore } from './renew-before.js';

const KIND = 'internal-ca';
/** How errors name the two values (the context does not carry their paths). */
const CA_LABEL = "the target's admin CA";
const LEAF_LABEL = 'the certificate';

/** The issuing CA value, or KT_TARGET_ADMIN_REQUIRED. */
function issuingCa(ctx: TargetContext): SecretValue {
  const ca = ctx.adminValue;
  if (ca === null || ca === undefined) {
    throw new KeyturnError(
      'KT_TARGET_ADMIN_REQUIRED',
      'the internal-ca target needs its issuing CA as the admin secret: add `admin: pki/ca/intermediate` (the intermediate `keyturn ca init` made) to the target in keyturn.yaml',
      { details: { target: KIND, strategy: ctx.strategy } },
    );
  }
  return ca;
}

/** KT_TARGET_UNAVAILABLE (retried) when the rotation was aborted (its time limit, a lost lease). */
function notAborted(ctx: TargetContext): void {
  if (ctx.signal.aborted) {
    throw new KeyturnError('KT_TARGET_UNAVAILABLE', 'the internal-ca issue was aborted (the rotation reached its time limit or lost its lease)', {
      details: { target: KIND, strategy: ctx.strategy },
    });
  }
}

class InternalCaRenewer implements Renewer {
  private readonly renewBefore: RenewBefore;
  private readonly validityMs: number;

  constructor(private readonly config: InternalCaTargetConfig) {
    this.renewBefore = parseRenewBefore(config.renewBefore)!;
    this.validityMs = parseDuration(config.validity)!;
  }

  async issue(ctx: TargetContext, _current: SecretValue | null, versionId: string): Promise<SecretValue> {
    notAborted(ctx);
    const ca = asCertificateValue(CA_LABEL, issuingCa(ctx));
    // Loaded here, so reading keyturn.yaml does not load the X.509 library.
    const { issueLeaf } = await import('../../certs/issue/leaf.js');
    const c = this.config;
    const leaf = await issueLeaf(
      ca,
      { commonName: c.commonName, dnsNames: c.dnsNames, ipAddresses: c.ipAddresses, keyType: c.keyType, validityMs: this.validityMs, extendedKeyUsage: c.extendedKeyUsage },
      CA_LABEL,
    );
    // The key generation cannot be interrupted: a rotation aborted meanwhile gets no certificate.
    notAborted(ctx);
    ctx.log.info({ target: KIND, versionId, serial: leaf.serial, notAfter: leaf.notAfter }, 'internal CA issued a certificate');
    return leaf;
  }

  async check(ctx: TargetContext, value: SecretValue, when: { readonly pendingSince: number; readonly now: number }): Promise<void> {
    const { checkLeaf } = await import('../../certs/issue/check.js');
    const c = this.config;
    checkLeaf(LEAF_LABEL, value, CA_LABEL, issuingCa(ctx), {
      now: when.now,
      expect: { commonName: c.commonName, dnsNames: c.dnsNames, ipAddresses: c.ipAddresses, extendedKeyUsage: c.extendedKeyUsage },
    });
  }

  renewAt(value: SecretValue): number {
    const { cert } = parseCertificateValue(LEAF_LABEL, value);
    return renewAtMs({ notBeforeMs: Date.parse(cert.validFrom), notAfterMs: Date.parse(cert.validTo) }, this.renewBefore);
  }
}

export class InternalCaTarget extends RenewOnlyTarget {
  readonly kind = KIND;
  readonly renewer: Renewer;

  constructor(config: InternalCaTargetConfig) {
    super();
    this.renewer = new InternalCaRenewer(config);
  }
}
