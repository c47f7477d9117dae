/**
 * The Azure Key Vault store's registry entry: its kind, and how to load its module (and with it
 * the Azure SDK) only when it is used.
 *
 * @example
 * ```ts
 * const module = await azureStoreEntry.load();
 * ```
 */
import type { OutsideStoreEntry } from '../registry.js';

export const azureStoreEntry: OutsideStoreEntry = { kind: 'azure', load: () => import('./module.js') };
