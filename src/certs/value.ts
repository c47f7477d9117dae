/**
 * The certificate value: how Keyturn stores a certificate with its key, whichever target made it
 * (the internal CA, ACME) and whatever it is (a CA of `keyturn ca init`, a TLS leaf). One shape,
 * so consumers write `cert`, `key` and `chain` to files the same way for every issuer:
 *
 * - `cert`: the certificate, one PEM block;
 * - `key`: its private key, PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`);
 * - `chain`: the PEM intermediates above it, up to but excluding the root ('' when it is signed
 *   by the root directly, or is the root);
 * - `notAfter`: the certificate's notAfter, ISO-8601 (`2027-03-01T12:00:00.000Z`);
 * - `serial`: its serial number, lowercase hex without leading zeros or colons.
 *
 * `asCertificateValue` checks the shape and that the parts parse and agree (the key is the
 * certificate's, notAfter and serial are its own); it never puts a key into a message.
 *
 * @example
 * ```ts
 * const value = asCertificateValue('pki/web', version.value);
 * await writeFile('tls.crt', value.cert + value.chain);
 * ```
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { KeyturnError } from '../core/errors.js';
import type { SecretValue } from '../core/types.js';

/** A type, not an interface, so it is a SecretValue as it is (a JSON object of string fields). */
export type CertificateValue = {
  /** The certificate, PEM. */
  readonly cert: string;
  /** Its private key, PEM PKCS#8. */
  readonly key: string;
  /** The PEM intermediates above it, excluding the root ('' for none). */
  readonly chain: string;
  /** ISO-8601. */
  readonly notAfter: string;
  /** Lowercase hex. */
  readonly serial: string;
};

/** The fields of a certificate value, in their stored order. */
export const CERTIFICATE_VALUE_FIELDS = ['cert', 'key', 'chain', 'notAfter', 'serial'] as const;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_PKCS8 = /^-----BEGIN PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END PRIVATE KEY-----\s*$/;

/**
 * The PEM certificate blocks of `text`, in order (each normalized to end in a newline).
 *
 * @example
 * ```ts
 * pemCertificates(value.chain).length; // 1: the intermediate
 * ```
 */
export function pemCertificates(text: string): string[] {
  return (text.match(PEM_CERTIFICATE) ?? []).map((b) => `${b}\n`);
}

/**
 * A serial number as the value stores it: lowercase hex, no colons, no leading zeros.
 *
 * @example
 * ```ts
 * serialHex('00:4A:0F'); // '4a0f'
 * ```
 */
export function serialHex(serial: string): string {
  const hex = serial
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
  return hex;
}

function invalid(path: string, why: string): KeyturnError {
  return new KeyturnError('KT_CERT_VALUE_INVALID', `${path}: ${why}`, { details: { path } });
}

/** The parsed parts of a certificate value (node's X509Certificate and KeyObject). */
export interface ParsedCertificateValue {
  readonly value: CertificateValue;
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  /** The certificates of `chain`, in order (the issuer of `cert` first). */
  readonly chain: readonly X509Certificate[];
}

/**
 * Checks that `value` (the secret at `path`) is a certificate value and parses it; throws
 * KT_CERT_VALUE_INVALID naming what is wrong (never a key's text).
 *
 * @example
 * ```ts
 * parseCertificateValue('pki/ca/intermediate', value).cert.ca; // true
 * ```
 */
export function parseCertificateValue(path: string, value: SecretValue | null | undefined): ParsedCertificateValue {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(path, `is not a certificate value: expected a JSON object with the fields ${CERTIFICATE_VALUE_FIELDS.join(', ')}`);
  }
  const missing = CERTIFICATE_VALUE_FIELDS.filter((f) => typeof value[f] !== 'string');
  if (missing.length > 0) throw invalid(path, `is not a certificate value: ${missing.map((f) => `"${f}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing or not a string`);
  const extra = Object.keys(value).filter((k) => !(CERTIFICATE_VALUE_FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) throw invalid(path, `has fields a certificate value does not have: ${extra.map((f) => `"${f}"`).join(', ')}`);
  const v = value as unknown as CertificateValue;
  const certs = pemCertificates(v.cert);
  if (certs.length !== 1) throw invalid(path, `"cert" must hold exactly one PEM certificate, it holds ${certs.length}`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certs[0]!);
  } catch {
    throw invalid(path, '"cert" cannot be parsed as an X.509 certificate');
  }
  if (!PEM_PKCS8.test(v.key.trim() + '\n')) throw invalid(path, '"key" must be one PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----)');
  let key: KeyObject;
  try {
    key = createPrivateKey(v.key);
  } catch {
    throw invalid(path, '"key" cannot be parsed as a private key');
  }
  if (!cert.checkPrivateKey(key)) throw invalid(path, '"key" is not the private key of "cert"');
  const chainPems = pemCertificates(v.chain);
  if (chainPems.length === 0 && v.chain.trim() !== '') throw invalid(path, '"chain" must be PEM certificates, or empty');
  const chain = chainPems.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw invalid(path, `"chain": certificate ${i + 1} cannot be parsed`);
    }
  });
  const notAfterMs = Date.parse(v.notAfter);
  if (!/^\d{4}-\d\d-\d\dT/.test(v.notAfter) || Number.isNaN(notAfterMs)) throw invalid(path, '"notAfter" must be an ISO-8601 time such as 2027-03-01T12:00:00.000Z');
  if (notAfterMs !== Date.parse(cert.validTo)) throw invalid(path, `"notAfter" (${v.notAfter}) is not the certificate's (${new Date(cert.validTo).toISOString()})`);
  if (!/^[0-9a-f]+$/.test(v.serial)) throw invalid(path, '"serial" must be lowercase hex');
  if (serialHex(v.serial) !== serialHex(cert.serialNumber)) throw invalid(path, `"serial" (${v.serial}) is not the certificate's (${serialHex(cert.serialNumber)})`);
  return { value: v, cert, key, chain };
}

/**
 * The certificate value of the secret at `path`, checked (see {@link parseCertificateValue}).
 *
 * @example
 * ```ts
 * asCertificateValue('pki/web', { cert: '...' }); // throws KT_CERT_VALUE_INVALID: pki/web: is not a certificate value: "key", ... are missing
 * ```
 */
export function asCertificateValue(path: string, value: SecretValue | null | undefined): CertificateValue {
  return parseCertificateValue(path, value).value;
}

/**
 * A certificate value as a secret value (a JSON object of string fields).
 *
 * @example
 * ```ts
 * await client.secrets.put('pki/ca/root', toSecretValue(root), { stages: ['current'] });
 * ```
 */
export function toSecretValue(value: CertificateValue): SecretValue {
  return { cert: value.cert, key: value.key, chain: value.chain, notAfter: value.notAfter, serial: value.serial };
}
