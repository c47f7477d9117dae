/**
 * The OCI Vault store's registry entry: its kind, and how to load its module (and with it the
 * OCI SDK) only when it is used.
 *
 * @example
 * ```ts
 * const module = await ociStoreEntry.load();
 * ```
 */
import type { OutsideStoreEntry } from '../registry.js';

export const ociStoreEntry: OutsideStoreEntry = { kind: 'oci', load: () => import('./module.js') };
