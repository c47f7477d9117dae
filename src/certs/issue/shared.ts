/**
 * What making a CA and issuing a leaf share: the validity window (a minute backdated, whole
 * seconds, never past the issuer's notAfter), the authority key id taken from the issuer, and the
 * certificate value of a certificate just made.
 *
 * @example
 * ```ts
 * validityWindow(now, 90 * DAY_MS, caNotAfterMs); // { notBefore, notAfter, clamped }
 * ```
 */
import type { webcrypto } from 'node:crypto';
import { KeyturnError } from '../../core/errors.js';
import { serialHex, type CertificateValue } from '../value.js';
import { importSigningKey } from './keys.js';
import { randomSerial } from './serial.js';
import { x509, type X509Key } from './x509.js';

/** How far notBefore is put before now, so a clock a little behind accepts a new certificate. */
export const BACKDATE_MS = 60_000;

/**
 * notBefore (now − 1 min) and notAfter (now + validity, but not after `issuerNotAfterMs`), in
 * whole seconds; KT_CA_INVALID when the issuer has expired, KT_CONFIG_INVALID for a validity
 * that is not positive.
 */
export function validityWindow(now: number, validityMs: number, issuerNotAfterMs: number | null): { notBefore: Date; notAfter: Date; clamped: boolean } {
  if (!(validityMs > 0) || !Number.isSafeInteger(validityMs)) throw new KeyturnError('KT_CONFIG_INVALID', `a certificate's validity must be a positive duration, not ${validityMs} ms`);
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  const wanted = second(now + validityMs);
  if (issuerNotAfterMs !== null && issuerNotAfterMs <= now) {
    throw new KeyturnError('KT_CA_INVALID', `the issuing CA expired at ${new Date(issuerNotAfterMs).toISOString()}: it issues nothing more`, {
      details: { caNotAfter: new Date(issuerNotAfterMs).toISOString() },
    });
  }
  const clamped = issuerNotAfterMs !== null && wanted > issuerNotAfterMs;
  return { notBefore: new Date(second(now - BACKDATE_MS)), notAfter: new Date(clamped ? second(issuerNotAfterMs) : wanted), clamped };
}

/** The authority key id extension naming `issuer`: its subject key id, else one computed from its public key. */
export async function issuerKeyId(issuer: x509.X509Certificate): Promise<x509.Extension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey);
}

/**
 * A certificate for `publicKey` signed by the CA of `caCert` and `caKey` (PEM): a random serial,
 * the CA's subject as issuer, the given extensions, then the subject and authority key ids.
 */
export async function signedByCa(o: {
  caCert: string;
  caKey: string;
  subject: x509.JsonName | string;
  notBefore: Date;
  notAfter: Date;
  publicKey: webcrypto.CryptoKey;
  extensions: x509.Extension[];
}): Promise<x509.X509Certificate> {
  const signer = await importSigningKey(o.caKey);
  const issuer = new x509.X509Certificate(o.caCert);
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: o.subject,
    issuer: issuer.subjectName,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    publicKey: o.publicKey as unknown as X509Key,
    signingKey: signer.key as unknown as X509Key,
    signingAlgorithm: signer.algorithm,
    extensions: [...o.extensions, await x509.SubjectKeyIdentifierExtension.create(o.publicKey as unknown as X509Key), await issuerKeyId(issuer)],
  });
}

/** The certificate value of `cert` (just made) with its PEM key and the chain above it. */
export function certificateValueOf(cert: x509.X509Certificate, keyPem: string, chain: string): CertificateValue {
  return { cert: cert.toString('pem').trim() + '\n', key: keyPem, chain, notAfter: cert.notAfter.toISOString(), serial: serialHex(cert.serialNumber) };
}
