/**
 * The store registry: one entry per secret store (its kind, its config, its factory, whether it
 * audits itself), through the shared registry helper (src/core/registry.ts), and `openStore`, the
 * only way the runtime makes its store. A store that does not record its own audit events gets
 * them from the audit wrapper (./audited-store.ts). Adding a store adds a folder and one entry here.
 *
 * A store's config is its type plus KEYTURN_* settings checked in src/config/settings.ts, so its
 * entry has no zod schema: this module is on every command's path and loads no zod.
 *
 * @example
 * ```ts
 * const store = openStore({ type: 'embedded' }, { state, ring, clock, settings, audit: storeAuditHook(audit) });
 * await store.put('app/session-key', 'v1');
 * ```
 */
import { defineRegistry, type ConfigOf, type Registry } from '../core/registry.js';
import { auditedStore } from './audited-store.js';
import type { StoreDeps } from './deps.js';
import { embeddedStoreEntry } from './embedded/entry.js';
import type { SecretStore } from './store.js';

/** Every store, in the order they are documented. */
export const storeRegistry = defineRegistry({ noun: 'store', invalid: 'KT_STORE_CONFIG_INVALID' }, [embeddedStoreEntry]);

/** A store's config: its type (and, for a store that has them, its own keys). */
export type StoreConfig = typeof storeRegistry extends Registry<infer E> ? ConfigOf<E> : never;

/**
 * Makes the store `config` names, audited: by itself when its entry says so (the embedded
 * store, in its write transactions), else by the audit wrapper. Throws KT_STORE_CONFIG_INVALID
 * for a store no entry has.
 *
 * @example
 * ```ts
 * openStore({ type: 'embedded' }, deps).kind; // 'embedded'
 * ```
 */
export function openStore(config: StoreConfig, deps: StoreDeps): SecretStore {
  const store = storeRegistry.create(config, deps);
  const entry = storeRegistry.find(config.type)!;
  return entry.auditsItself || deps.audit === undefined ? store : auditedStore(store, deps.audit);
}
