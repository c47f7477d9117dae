/**
 * Issues a leaf certificate from an issuing CA (a certificate value whose certificate is a CA):
 * a new key pair per issue (`ec-p256` by default, `rsa-2048`, `ed25519`), subject CN, subject
 * alternative names (DNS names and IP addresses), keyUsage digitalSignature (critical; also
 * keyEncipherment for RSA keys), extendedKeyUsage (serverAuth by default, clientAuth when asked),
 * basicConstraints CA:false, subject and authority key ids, a random 128-bit positive serial,
 * notBefore a minute before `now`, notAfter `now + validityMs` clamped to the CA's notAfter.
 * The value's chain is the CA's certificate and its own chain (the intermediates, no root).
 *
 * @example
 * ```ts
 * const leaf = await issueLeaf(intermediate, { commonName: 'web.internal', dnsNames: ['web.internal'], ipAddresses: ['10.0.0.5'], validityMs: 90 * DAY_MS });
 * leaf.chain === intermediate.cert; // true (an intermediate signed by the root)
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import { canonicalIp, isDnsName } from '../names.js';
import { parseCertificateValue, type CertificateValue } from '../value.js';
import { DEFAULT_KEY_TYPE, generateKeyPair, type KeyType } from './keys.js';
import { certificateValueOf, signedByCa, validityWindow } from './shared.js';
import { x509 } from './x509.js';

export const EXTENDED_KEY_USAGES = ['serverAuth', 'clientAuth'] as const;
export type ExtendedKeyUsageName = (typeof EXTENDED_KEY_USAGES)[number];

export interface LeafRequest {
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly keyType?: KeyType;
  /** How long it is valid, in ms from `now` (clamped to the CA's notAfter). */
  readonly validityMs: number;
  /** Default ['serverAuth']. */
  readonly extendedKeyUsage?: readonly ExtendedKeyUsageName[];
  /** The time to count from (ms since the epoch; default Date.now()). */
  readonly now?: number;
}

/**
 * Checks that `ca` can issue (a CA certificate with keyCertSign, its key matching, valid now);
 * returns it parsed. KT_CERT_VALUE_INVALID for a value that is no certificate value, KT_CA_INVALID
 * for one that is not a usable CA.
 *
 * @example
 * ```ts
 * assertIssuingCa('pki/ca/intermediate', ctx.adminValue, Date.now());
 * ```
 */
export function assertIssuingCa(path: string, ca: unknown, now: number): ReturnType<typeof parseCertificateValue> {
  const parsed = parseCertificateValue(path, ca as Parameters<typeof parseCertificateValue>[1]);
  const c = parsed.cert;
  if (!c.ca) throw new KeyturnError('KT_CA_INVALID', `${path} is not a CA certificate (basicConstraints CA is not set): point admin: at the CA's secret, not at a leaf`, { details: { path } });
  const ku = new x509.X509Certificate(c.raw).getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0)
    throw new KeyturnError('KT_CA_INVALID', `${path}: its keyUsage has no keyCertSign, so it cannot sign certificates`, { details: { path } });
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  if (now < from) throw new KeyturnError('KT_CA_INVALID', `${path} is not valid before ${new Date(from).toISOString()}`, { details: { path } });
  if (now >= to) throw new KeyturnError('KT_CA_INVALID', `${path} expired at ${new Date(to).toISOString()}: it issues nothing more`, { details: { path } });
  return parsed;
}

/** The names of a request, checked: DNS names (a leading `*.` allowed) and IPv4/IPv6 addresses. */
function sanNames(request: LeafRequest): x509.JsonGeneralName[] {
  const names: x509.JsonGeneralName[] = [];
  for (const dns of request.dnsNames ?? []) {
    if (!isDnsName(dns)) throw new KeyturnError('KT_CONFIG_INVALID', `"${dns}" is not a DNS name a certificate can hold`);
    names.push({ type: 'dns', value: dns.toLowerCase() });
  }
  for (const ip of request.ipAddresses ?? []) {
    const canonical = canonicalIp(ip);
    if (canonical === null) throw new KeyturnError('KT_CONFIG_INVALID', `"${ip}" is not an IP address`);
    names.push({ type: 'ip', value: canonical });
  }
  return names;
}

/**
 * A new leaf certificate value issued by `ca` (see the module header). `caPath` names the CA in
 * errors. KT_CA_INVALID when `ca` cannot issue (not a CA, expired).
 *
 * @example
 * ```ts
 * const leaf = await issueLeaf(ca, { commonName: 'api.internal', dnsNames: ['api.internal'], validityMs: 30 * DAY_MS, extendedKeyUsage: ['serverAuth', 'clientAuth'] });
 * ```
 */
export async function issueLeaf(ca: CertificateValue, request: LeafRequest, caPath = 'issuing CA'): Promise<CertificateValue> {
  const now = request.now ?? Date.now();
  const parsed = assertIssuingCa(caPath, ca, now);
  const names = sanNames(request);
  const { notBefore, notAfter } = validityWindow(now, request.validityMs, Date.parse(parsed.cert.validTo));
  const keyType = request.keyType ?? DEFAULT_KEY_TYPE;
  const pair = await generateKeyPair(keyType);
  const usages = x509.KeyUsageFlags.digitalSignature | (keyType === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const eku = (request.extendedKeyUsage ?? ['serverAuth']).map((u) => x509.ExtendedKeyUsage[u]);
  const cert = await signedByCa({
    caCert: ca.cert,
    caKey: ca.key,
    subject: [{ CN: [request.commonName] }],
    notBefore,
    notAfter,
    publicKey: pair.keys.publicKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
    ],
  });
  const chain = `${ca.cert.trimEnd()}\n${ca.chain.trim() === '' ? '' : `${ca.chain.trimEnd()}\n`}`;
  return certificateValueOf(cert, pair.pem, chain);
}
