/**
 * @peculiar/x509, loaded with what it needs first: its dependency injection (tsyringe) needs the
 * Reflect metadata API, so `reflect-metadata` is imported before it (ES modules run their imports
 * in order), and its crypto provider is set to Node's Web Crypto. Import x509 from here only.
 *
 * @example
 * ```ts
 * import { x509 } from './x509.js';
 * new x509.BasicConstraintsExtension(true, 0, true);
 * ```
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The key pair and key types x509's signatures name (the DOM's CryptoKeyPair and CryptoKey, which node:crypto's webcrypto types are). */
export type X509KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
export type X509Key = X509KeyPair['privateKey'];

export { x509 };
