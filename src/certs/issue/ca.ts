/**
 * The internal CA's two certificates: a self-signed root, and an intermediate it signs that
 * issues the leaves (the root's key is used only to make intermediates). Both are CA
 * certificates: basicConstraints CA (critical; pathLen 1 for the root, 0 for the intermediate),
 * keyUsage keyCertSign and cRLSign (critical), a subject key id, and (the intermediate) the
 * root's key id as authority key id; a random 128-bit positive serial; valid from a minute before
 * `now`. An intermediate never outlives its root: its notAfter is clamped to the root's.
 *
 * @example
 * ```ts
 * const root = await createRootCa({ name: 'Keyturn Internal CA', validityMs: 10 * YEAR_MS });
 * const intermediate = await createIntermediateCa(root, { name: 'Keyturn Internal CA', validityMs: 3 * YEAR_MS });
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import { parseCertificateValue, type CertificateValue } from '../value.js';
import { DEFAULT_KEY_TYPE, generateKeyPair, importSigningKey, type KeyType } from './keys.js';
import { randomSerial } from './serial.js';
import { certificateValueOf, signedByCa, validityWindow } from './shared.js';
import { x509, type X509Key, type X509KeyPair } from './x509.js';

export interface CaOptions {
  /** The CA's name: the root is `CN=<name> Root`, the intermediate `CN=<name> Intermediate`. */
  readonly name: string;
  /** How long it is valid, in ms from `now`. */
  readonly validityMs: number;
  readonly keyType?: KeyType;
  /** The time to count from (ms since the epoch; default Date.now()). */
  readonly now?: number;
}

const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

function nameOf(cn: string): x509.JsonName {
  return [{ CN: [cn] }];
}

/**
 * A new self-signed root CA (pathLen 1: it signs intermediates that sign leaves).
 *
 * @example
 * ```ts
 * const root = await createRootCa({ name: 'Acme Internal', validityMs: 10 * YEAR_MS });
 * root.chain; // ''
 * ```
 */
export async function createRootCa(options: CaOptions): Promise<CertificateValue> {
  const now = options.now ?? Date.now();
  const { notBefore, notAfter } = validityWindow(now, options.validityMs, null);
  const pair = await generateKeyPair(options.keyType ?? DEFAULT_KEY_TYPE);
  const { algorithm } = await importSigningKey(pair.pem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: nameOf(`${options.name} Root`),
    notBefore,
    notAfter,
    keys: pair.keys as unknown as X509KeyPair,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(CA_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(pair.keys.publicKey as unknown as X509Key),
    ],
  });
  return certificateValueOf(cert, pair.pem, '');
}

/**
 * A new intermediate CA signed by `root` (pathLen 0: it signs leaves only); valid no later than
 * the root (clamped); KT_CA_INVALID when `root` is not a CA or has expired.
 *
 * @example
 * ```ts
 * const intermediate = await createIntermediateCa(root, { name: 'Acme Internal', validityMs: 3 * YEAR_MS });
 * ```
 */
export async function createIntermediateCa(root: CertificateValue, options: CaOptions): Promise<CertificateValue> {
  const now = options.now ?? Date.now();
  const parsed = parseCertificateValue('root CA', root);
  if (!parsed.cert.ca) throw new KeyturnError('KT_CA_INVALID', 'the root given is not a CA certificate (basicConstraints CA is not set)');
  const { notBefore, notAfter } = validityWindow(now, options.validityMs, Date.parse(parsed.cert.validTo));
  const pair = await generateKeyPair(options.keyType ?? DEFAULT_KEY_TYPE);
  const cert = await signedByCa({
    caCert: root.cert,
    caKey: root.key,
    subject: nameOf(`${options.name} Intermediate`),
    notBefore,
    notAfter,
    publicKey: pair.keys.publicKey,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(CA_USAGES, true)],
  });
  return certificateValueOf(cert, pair.pem, '');
}
