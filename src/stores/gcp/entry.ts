/**
 * The GCP Secret Manager store's registry entry: its kind, and its module loaded on first use
 * (so that only a GCP deployment loads the Google SDK).
 *
 * @example
 * ```ts
 * const module = await gcpStoreEntry.load();
 * module.create(module.configSchema.parse({ type: 'gcp', project: 'acme-prod' }), deps);
 * ```
 */
import type { OutsideStoreEntry } from '../registry.js';

export const gcpStoreEntry: OutsideStoreEntry = { kind: 'gcp', load: () => import('./module.js') };
