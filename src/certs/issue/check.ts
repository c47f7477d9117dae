/**
 * Checks a leaf certificate value against the CA that issued it and what it should be: the value
 * parses and its key is the certificate's (src/certs/value.ts), the certificate is signed by the
 * issuing CA and the chain starts with that CA (each certificate of the chain signed by the next),
 * it is valid at `now`, and its common name, DNS names, IP addresses and extended key usages are
 * the expected ones. Each failure is KT_CERT_CHECK_FAILED (KT_CERT_VALUE_INVALID for a value
 * that is no certificate value) naming what does not hold, never the key.
 *
 * @example
 * ```ts
 * checkLeaf('pki/web', value, 'pki/ca/intermediate', ca, { now: Date.now(), expect: { commonName: 'web.internal', dnsNames: ['web.internal'], ipAddresses: [], extendedKeyUsage: ['serverAuth'] } });
 * ```
 */
import type { X509Certificate } from 'node:crypto';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import { canonicalIp, certificateNames } from '../names.js';
import { parseCertificateValue } from '../value.js';
import type { ExtendedKeyUsageName } from './leaf.js';
import { x509 } from './x509.js';

export interface LeafExpectation {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly extendedKeyUsage: readonly ExtendedKeyUsageName[];
}

function failed(path: string, why: string): KeyturnError {
  return new KeyturnError('KT_CERT_CHECK_FAILED', `${path}: ${why}`, { details: { path } });
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/**
 * Throws unless the leaf value at `path` was issued by `ca` (the value at `caPath`), is valid at
 * `now` and is for `expect`'s names and usages (see the module header).
 */
export function checkLeaf(path: string, value: SecretValue, caPath: string, ca: SecretValue, options: { now: number; expect: LeafExpectation }): void {
  const leaf = parseCertificateValue(path, value);
  const issuer = parseCertificateValue(caPath, ca);
  const cert = leaf.cert;
  const first = leaf.chain[0];
  if (!first || first.fingerprint256 !== issuer.cert.fingerprint256) throw failed(path, `its chain does not start with the issuing CA's certificate (${caPath})`);
  if (!signedBy(cert, issuer.cert)) throw failed(path, `the certificate is not signed by the issuing CA (${caPath})`);
  for (let i = 0; i + 1 < leaf.chain.length; i += 1) {
    if (!signedBy(leaf.chain[i]!, leaf.chain[i + 1]!)) throw failed(path, `chain certificate ${i + 1} is not signed by chain certificate ${i + 2}`);
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (options.now < from) throw failed(path, `the certificate is not valid before ${new Date(from).toISOString()}`);
  if (options.now >= to) throw failed(path, `the certificate expired at ${new Date(to).toISOString()}`);
  const e = options.expect;
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? null;
  if (cn !== e.commonName) throw failed(path, `its common name is ${cn === null ? 'missing' : `"${cn}"`}, not "${e.commonName}"`);
  const names = certificateNames(cert);
  const wantDns = e.dnsNames.map((d) => d.toLowerCase());
  if (!sameSet(names.dnsNames, wantDns)) throw failed(path, `its DNS names are [${names.dnsNames.join(', ')}], not [${[...wantDns].sort().join(', ')}]`);
  const wantIps = e.ipAddresses.map((ip) => canonicalIp(ip) ?? ip);
  if (!sameSet(names.ipAddresses, wantIps)) throw failed(path, `its IP addresses are [${names.ipAddresses.join(', ')}], not [${[...wantIps].sort().join(', ')}]`);
  const ekus = cert.keyUsage ?? [];
  const wantEkus = e.extendedKeyUsage.map((u) => x509.ExtendedKeyUsage[u] as string);
  if (!sameSet(ekus, wantEkus)) throw failed(path, `its extended key usages are [${ekus.join(', ')}], not those configured (${e.extendedKeyUsage.join(', ')})`);
}
