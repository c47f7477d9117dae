/**
 * The local API server's TLS identity: one self-signed P-256 certificate for 127.0.0.1 and
 * localhost, made in-process (Web Crypto and @peculiar/x509) once per test process, and handed to
 * clients as the kubeconfig's `certificate-authority-data` (client-node refuses plain HTTP).
 *
 * @example
 * ```ts
 * const { cert, key } = await serverIdentity();
 * ```
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

export interface ServerIdentity {
  /** PEM certificate (also the CA clients trust). */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
}

let made: Promise<ServerIdentity> | null = null;

async function make(): Promise<ServerIdentity> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as KeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=keyturn-local-kube-apiserver',
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 30 * 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem'), key };
}

/** The server certificate and key (made on first use). */
export function serverIdentity(): Promise<ServerIdentity> {
  return (made ??= make());
}
