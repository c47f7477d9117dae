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
import { KeyturnError } from '../../core/errors.js';
import { issueLines } from '../../core/issues.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { AzureStore, type AzureStoreOptions } from './azure-store.js';
import { configSchema, type AzureStoreConfig } from './config.js';

export { configSchema };

/**
 * Makes the store from its config (opens no connection until first used); KT_STORE_CONFIG_INVALID lists each problem.
 *
 * @example
 * ```ts
 * const store = create({ type: 'azure', vaultUrl: 'https://kv.vault.azure.net' } as { type: string }, deps);
 * ```
 */
export function create(config: { type: string }, deps: StoreDeps): SecretStore {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    const problems = issueLines(parsed.error.issues);
    throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the store configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
  }
  return createAzureStore(parsed.data, deps);
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
