/**
 * The server's TLS files: a certificate chain and its private key (PEM), read at start and again
 * on SIGHUP, so a renewed certificate is served to new connections without a restart (connections
 * already open keep theirs). A file that cannot be read, or a key that does not match the
 * certificate, is KT_TLS_INVALID naming the file, never its content.
 *
 * @example
 * ```ts
 * const tls = loadTls({ cert: '/etc/keyturn/tls.crt', key: '/etc/keyturn/tls.key' });
 * const app = await buildServer(kt, { https: tls });
 * process.on('SIGHUP', () => app.server.setSecureContext(loadTls(files)));
 * ```
 */
import { createSecureContext } from 'node:tls';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KeyturnError } from '../core/errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's serial (hex) and expiry, for the start-up line and the reload log. */
  serial: string;
  notAfter: string;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new KeyturnError('KT_TLS_INVALID', `cannot read the TLS ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** Reads and checks the pair (the key must be the certificate's). */
export function loadTls(files: TlsFiles): TlsMaterial {
  const cert = read(files.cert, 'certificate');
  const key = read(files.key, 'key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new KeyturnError('KT_TLS_INVALID', `the TLS certificate ${files.cert} is not a PEM certificate`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error('mismatch');
    createSecureContext({ cert, key });
  } catch {
    throw new KeyturnError('KT_TLS_INVALID', `the TLS key ${files.key} is not a PEM private key of the certificate ${files.cert}`);
  }
  return { cert, key, serial: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString() };
}
