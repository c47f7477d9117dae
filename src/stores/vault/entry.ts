/**
 * The Vault store's registry entry: its kind and how to load its module (lazily, so that no
 * command pays for it unless KEYTURN_STORE_FILE names `type: vault`).
 *
 * @example
 * ```ts
 * const module = await vaultStoreEntry.load(); // { configSchema, create }
 * ```
 */
import type { OutsideStoreEntry } from '../registry.js';

export const vaultStoreEntry: OutsideStoreEntry = { kind: 'vault', load: () => import('./module.js') };
