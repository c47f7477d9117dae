/**
 * keyturn.yaml's `stores:` section: named outside stores that secrets name as replicas
 * (`replicas: [aws-eu, oci-fra]`). Each entry is one store's config (`type` and that store's keys,
 * docs/stores/); the file checks the names and types, `keyturn apply` checks each entry's keys by
 * its store's own schema (loading that store's module) and records the section as the `stores`
 * row of kt_settings.
 *
 * @example
 * ```yaml
 * stores:
 *   aws-eu: { type: aws, region: eu-west-1 }
 *   oci-fra: { type: oci, region: eu-frankfurt-1, compartmentId: ..., vaultId: ..., keyId: ... }
 * secrets:
 *   app/db: { type: database-credential, target: db, replicas: [aws-eu, oci-fra] }
 * ```
 */
import { z } from 'zod';
import type { StateDb } from '../state/db.js';

/** A store's name under `stores:`. */
export const storeName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'store names are 1 to 64 of [A-Za-z0-9_-]');

/** One replica store's config: its type and its store's own keys (checked by that store's schema at apply). */
export const replicaStoreSchema = z
  .looseObject({ type: z.string().min(1).describe('vault, aws, azure, gcp, oci or kubernetes (docs/stores/)') })
  .refine((s) => s.type !== 'embedded', { message: 'a replica is an outside store: the embedded store is the primary', path: ['type'] });

export const storesSchema = z.record(storeName, replicaStoreSchema).describe('named outside stores that secrets copy their current value into (replicas:); docs/stores/README.md');

export type StoresConfig = z.output<typeof storesSchema>;

/** The name of its `kt_settings` row (`keyturn apply` writes it). */
export const STORES_SETTING = 'stores';

/**
 * The applied `stores:` section ({} when none was applied).
 *
 * @example
 * ```ts
 * const stores = await storedStores(kt.state); // { 'aws-eu': { type: 'aws', region: 'eu-west-1' } }
 * ```
 */
export async function storedStores(state: StateDb): Promise<StoresConfig> {
  const row = await state.db.selectFrom('kt_settings').select('value').where('name', '=', STORES_SETTING).executeTakeFirst();
  return row === undefined ? {} : storesSchema.parse(JSON.parse(row.value));
}
