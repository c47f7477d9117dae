/**
 * The certificate value the acme target issues and checks: `{ cert, key, chain, notAfter, serial }`
 * (the leaf as PEM, its key as PKCS#8 PEM, the intermediates as PEM without the root, notAfter as
 * an ISO string, the serial as lowercase hex). A small parser of its own, local to this target
 * until a shared certificate-value module exists (src/certs/value.ts is being written elsewhere:
 * dedupe then).
 *
 * @example
 * ```ts
 * const value = acmeValueFromChain(pemChain, keyPem); // { cert, key, chain, notAfter, serial }
 * const parsed = parseAcmeCertificateValue(value);    // { leaf: X509Certificate, chain: X509Certificate[], key: KeyObject }
 * ```
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';

export interface AcmeCertificateValue {
  /** The leaf certificate, PEM. */
  readonly cert: string;
  /** Its private key, PKCS#8 PEM. */
  readonly key: string;
  /** The intermediate certificates, PEM, issuer of the leaf first; no root. */
  readonly chain: string;
  /** The leaf's notAfter, ISO 8601. */
  readonly notAfter: string;
  /** The leaf's serial number, lowercase hex. */
  readonly serial: string;
  [field: string]: string;
}

export interface ParsedAcmeCertificate {
  readonly leaf: X509Certificate;
  readonly chain: readonly X509Certificate[];
  readonly key: KeyObject;
  readonly value: AcmeCertificateValue;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function invalid(reason: string): KeyturnError {
  return new KeyturnError('KT_ACME_CERT_INVALID', `the acme certificate value ${reason}`, { details: { target: 'acme' } });
}

/** The PEM certificates in `text`, in order. */
export function pemCertificates(text: string): string[] {
  return (text.match(PEM_CERTIFICATE) ?? []).map((p) => `${p}\n`);
}

/** A self-signed certificate (a root some CAs append to the chain). */
function isSelfSigned(c: X509Certificate): boolean {
  return c.subject === c.issuer && c.checkIssued(c) && c.verify(c.publicKey);
}

/**
 * The value for a downloaded `application/pem-certificate-chain` (leaf first) and the key the
 * order was finalized with; a self-signed root at the end of the chain is left out.
 */
export function acmeValueFromChain(pemChain: string, keyPem: string): AcmeCertificateValue {
  const pems = pemCertificates(pemChain);
  if (pems.length === 0) throw invalid('download holds no PEM certificate');
  const certs = pems.map((p) => new X509Certificate(p));
  const intermediates = pems.slice(1).filter((_, i) => !isSelfSigned(certs[i + 1]!));
  const leaf = certs[0]!;
  return {
    cert: pems[0]!,
    key: keyPem,
    chain: intermediates.join(''),
    notAfter: new Date(leaf.validTo).toISOString(),
    serial: leaf.serialNumber.toLowerCase(),
  };
}

/** Parses a stored value, or throws KT_ACME_CERT_INVALID naming the field (never its content). */
export function parseAcmeCertificateValue(value: SecretValue): ParsedAcmeCertificate {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('is not an object { cert, key, chain, notAfter, serial }');
  for (const field of ['cert', 'key', 'chain', 'notAfter', 'serial']) {
    if (typeof value[field] !== 'string') throw invalid(`has no string field "${field}"`);
  }
  const v = value as AcmeCertificateValue;
  const leafPem = pemCertificates(v.cert);
  if (leafPem.length !== 1) throw invalid('field "cert" must hold exactly one PEM certificate');
  let leaf: X509Certificate;
  let chain: X509Certificate[];
  let key: KeyObject;
  try {
    leaf = new X509Certificate(leafPem[0]!);
  } catch {
    throw invalid('field "cert" cannot be parsed');
  }
  try {
    chain = pemCertificates(v.chain).map((p) => new X509Certificate(p));
  } catch {
    throw invalid('field "chain" cannot be parsed');
  }
  try {
    key = createPrivateKey(v.key);
  } catch {
    throw invalid('field "key" is not a PEM private key');
  }
  return { leaf, chain, key, value: v };
}

/** The DNS names of the leaf's subject alternative name extension, lowercase. */
export function dnsNames(leaf: X509Certificate): string[] {
  return (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4).toLowerCase());
}
