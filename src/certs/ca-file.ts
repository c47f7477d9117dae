/**
 * The `--ca-file` of `keyturn cert watch`: PEM CA certificates to verify endpoints' chains
 * against instead of the system's. Read and checked before any connection, so a wrong file is a
 * usage error (KT_CONFIG_INVALID, exit 2), not a row of untrusted certificates.
 *
 * @example
 * ```ts
 * const ca = await readCaFile('internal-ca.pem', process.cwd()); // the PEM text
 * ```
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KeyturnError } from '../core/errors.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The PEM text of `file` (relative to `cwd`); KT_CONFIG_INVALID when it cannot be read or one of
 * its certificates cannot be parsed, or it holds none.
 *
 * @example
 * ```ts
 * await readCaFile('missing.pem', '/tmp'); // throws KT_CONFIG_INVALID: --ca-file missing.pem cannot be read (ENOENT)
 * ```
 */
export async function readCaFile(file: string, cwd: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_CONFIG_INVALID', `--ca-file ${file} cannot be read (${(e as { code?: string }).code ?? 'unknown reason'})`, { details: { file } });
  }
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new KeyturnError('KT_CONFIG_INVALID', `--ca-file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, { details: { file } });
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch {
      throw new KeyturnError('KT_CONFIG_INVALID', `--ca-file ${file}: certificate ${i + 1} cannot be parsed`, { details: { file } });
    }
  });
  return text;
}
