/**
 * The certificate signing request (PKCS#10, RFC 2986) an ACME order is finalized with, in DER:
 * the common name (the first name, when it fits in 64 characters), every name as a DNS subject
 * alternative name, signed with the certificate's new key (ECDSA P-256 or RSA, SHA-256).
 * A few lines of DER encoding instead of a dependency: the structure is fixed and small.
 *
 * @example
 * ```ts
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const der = makeCsr(privateKey, ['www.example.com', 'example.com']); // Buffer
 * ```
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [];
    for (let v = p; ; v = Math.floor(v / 128)) {
      chunk.unshift((v & 0x7f) | (chunk.length === 0 ? 0 : 0x80));
      if (v < 128) break;
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);

const OID_CN = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_RSA_SHA256 = '1.2.840.113549.1.1.11';

/** The DER CSR for `names` (the first is the common name), signed by `key`. */
export function makeCsr(key: KeyObject, names: readonly string[]): Buffer {
  const cn = names[0]!;
  const subject = cn.length <= 64 ? seq(set(seq(oid(OID_CN), tlv(0x0c, Buffer.from(cn, 'utf8'))))) : seq();
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const san = seq(...names.map((n) => tlv(0x82, Buffer.from(n, 'ascii'))));
  const extensions = seq(seq(oid(OID_SUBJECT_ALT_NAME), tlv(0x04, san)));
  const attributes = tlv(0xa0, seq(oid(OID_EXTENSION_REQUEST), set(extensions)));
  const info = seq(tlv(0x02, Buffer.from([0])), subject, spki, attributes);
  const isEc = key.asymmetricKeyType === 'ec';
  const algorithm = isEc ? seq(oid(OID_ECDSA_SHA256)) : seq(oid(OID_RSA_SHA256), tlv(0x05));
  const signature = sign('sha256', info, key);
  return seq(info, algorithm, tlv(0x03, Buffer.from([0]), signature));
}
