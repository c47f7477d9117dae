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
 *   vault-dr: { type: vault, address: https://vault.dr:8200, fallback: true } # reads fall back to it while the primary is unreachable
 * secrets:
 *   app/db: { type: database-credential, target: db, replicas: [aws-eu, oci-fra] }
 * ```
 *
 * `fallback: true` is Keyturn's own key, not the store's: it is taken off before the store's own
 * schema checks the rest (`storeConfigOf`), and it makes the store a read-only fallback
 * (./fallback-store.ts, docs/replicas.md).
 */
import { z } from 'zod';
import type { StateDb } from '../state/db.js';

/** A store's name under `stores:`. */
export const storeName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'store names are 1 to 64 of [A-Za-z0-9_-]');

/** One replica store's config: its type and its store's own keys (checked by that store's schema at apply). */
export const replicaStoreSchema = z
  .looseObject({
    type: z.string().min(1).describe('vault, aws, azure, gcp, oci or kubernetes (docs/stores/)'),
    fallback: z
      .boolean({ message: 'fallback is true or false' })
      .optional()
      .describe('a read-only fallback: reads fall back to it while the primary store is unreachable, and a new value waits until it holds the current one (docs/replicas.md)'),
  })
  .refine((s) => s.type !== 'embedded', { message: 'a replica is an outside store: the embedded store is the primary', path: ['type'] });

export const storesSchema = z.record(storeName, replicaStoreSchema).describe('named outside stores that secrets copy their current value into (replicas:); docs/stores/README.md');

export type StoresConfig = z.output<typeof storesSchema>;

/**
 * The store's own config: the entry without Keyturn's `fallback` key, for the store's schema.
 *
 * @example
 * ```ts
 * storeConfigOf({ type: 'vault', address: 'https://v:8200', fallback: true }); // { type: 'vault', address: 'https://v:8200' }
 * ```
 */
export function storeConfigOf(entry: Record<string, unknown>): Record<string, unknown> {
  const { fallback: _fallback, ...config } = entry;
  return config;
}

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

/**
 * The names of the stores marked `fallback: true` in the applied `stores:` section.
 *
 * @example
 * ```ts
 * (await fallbackStores(kt.state)).has('vault-dr'); // true
 * ```
 */
export async function fallbackStores(state: StateDb): Promise<Set<string>> {
  return new Set(
    Object.entries(await storedStores(state))
      .filter(([, s]) => s.fallback === true)
      .map(([name]) => name),
  );
}
