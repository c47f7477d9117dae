/**
 * Reads the primary store's config file (KEYTURN_STORE_FILE): YAML (or JSON) holding one store's
 * config, `type` and that store's keys. The file holds where the store is and how to reach it;
 * credentials come from the provider's own chain (environment, profile, workload identity) or a
 * file the config names, never from this file in plaintext (each store's schema has no field for one).
 * The runtime loads this module (and the YAML parser) only when KEYTURN_STORE_FILE is set.
 *
 * @example
 * ```ts
 * // /etc/keyturn/store.yaml:  type: vault / address: https://vault.internal:8200 / mount: secret
 * const config = readStoreFile('/etc/keyturn/store.yaml'); // { type: 'vault', address: ..., mount: 'secret' }
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KeyturnError } from '../core/errors.js';

/** The config in `file`, parsed but not yet checked (prepareStore checks it); KT_STORE_CONFIG_INVALID when it cannot be read. */
export function readStoreFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'an error';
    throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the store file ${file} (KEYTURN_STORE_FILE) cannot be read (${code})`, {
      details: { file },
    });
  }
  try {
    return parse(text) as unknown;
  } catch (e) {
    throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the store file ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, { details: { file } });
  }
}
