/**
 * The AWS Secrets Manager store's registry entry: its kind and how to load its module (the AWS
 * SDK is loaded only when a store file names `type: aws`).
 *
 * @example
 * ```ts
 * const module = await awsStoreEntry.load();
 * const store = module.create(module.configSchema.parse({ type: 'aws', region: 'eu-west-1' }), deps);
 * ```
 */
import type { OutsideStoreEntry } from '../registry.js';

/**
 * The entry the lead adds to OUTSIDE_STORES (src/stores/registry.ts).
 *
 * @example
 * ```ts
 * export const OUTSIDE_STORES: readonly OutsideStoreEntry[] = [awsStoreEntry];
 * ```
 */
export const awsStoreEntry: OutsideStoreEntry = { kind: 'aws', load: () => import('./module.js') };
