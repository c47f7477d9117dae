/**
 * The kubernetes store's registry entry: its kind and how to load its module (the SDK comes with
 * it, only when the store is used). The lead adds it to OUTSIDE_STORES (src/stores/registry.ts).
 *
 * @example
 * ```ts
 * const module = await kubernetesStoreEntry.load();
 * ```
 */
import type { OutsideStoreEntry } from '../registry.js';

export const kubernetesStoreEntry: OutsideStoreEntry = { kind: 'kubernetes', load: () => import('./module.js') };
