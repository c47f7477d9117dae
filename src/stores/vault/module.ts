/**
 * The Vault store's module, loaded only when KEYTURN_STORE_FILE names `type: vault`: its config
 * schema and its factory. The store's limits, retention and purge protection are the runtime's
 * KEYTURN_* settings; the token variable is read through the settings' environment.
 *
 * @example
 * ```ts
 * const store = create(configSchema.parse({ type: 'vault', address: 'https://vault:8200' }), deps);
 * ```
 */
import { DAY_MS } from '../../core/clock.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { configSchema, type VaultStoreConfig } from './config.js';
import { VaultStore } from './vault-store.js';

export { configSchema };

/** The settings' environment reader when the runtime gives one (its full Settings), else nothing is set. */
function envVarOf(settings: StoreDeps['settings']): (name: string) => string | undefined {
  const reader = (settings as { envVar?: unknown }).envVar;
  return typeof reader === 'function' ? (name) => (reader as (n: string) => string | undefined)(name) : () => undefined;
}

/**
 * Makes the store; it opens no connection until first used.
 *
 * @example
 * ```ts
 * const store = create({ type: 'vault', address: 'http://127.0.0.1:8200', mount: 'secret', ... }, deps);
 * await store.put('app/key', 'v1');
 * ```
 */
export function create(config: { type: string }, deps: StoreDeps): SecretStore {
  const parsed = config as VaultStoreConfig;
  return new VaultStore(parsed, {
    clock: deps.clock,
    envVar: envVarOf(deps.settings),
    maxValueBytes: deps.settings.maxValueBytes,
    maxVersions: deps.settings.maxVersions,
    retentionMs: deps.settings.retentionDays * DAY_MS,
    purgeProtection: deps.settings.purgeProtection,
  });
}
