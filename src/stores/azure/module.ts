/**
 * The Azure Key Vault store's module, loaded only when a store file names `type: azure`: its
 * config schema and its factory. The product path takes its credential from
 * DefaultAzureCredential; `createAzureStore` lets a test hand a credential and a CA for its
 * local server.
 *
 * @example
 * ```ts
 * const module = await azureStoreEntry.load();
 * const store = module.create(module.configSchema.parse({ type: 'azure', vaultUrl: 'https://kv.vault.azure.net' }) as { type: string }, deps);
 * ```
 */
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { AzureStore, type AzureStoreOptions } from './azure-store.js';
import { configSchema, type AzureStoreConfig } from './config.js';

export { configSchema };

/** Makes the store from its parsed config (opens no connection until first used). */
export function create(config: { type: string }, deps: StoreDeps): SecretStore {
  return createAzureStore(configSchema.parse(config), deps);
}

/**
 * The store with options beyond the config (a test's credential and CA).
 *
 * @example
 * ```ts
 * const store = createAzureStore(configSchema.parse(raw), deps, { credential, ca: server.ca });
 * ```
 */
export function createAzureStore(config: AzureStoreConfig, deps: StoreDeps, options: AzureStoreOptions = {}): AzureStore {
  return new AzureStore(config, deps, options);
}
