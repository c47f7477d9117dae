/**
 * The OCI Vault store's module, loaded only when KEYTURN_STORE_FILE names `type: oci`: its config
 * schema and its factory. The store opens no connection until first used.
 *
 * @example
 * ```ts
 * const { configSchema, create } = await ociStoreEntry.load();
 * const store = create(configSchema.parse(yamlConfig), deps);
 * ```
 */
import { DAY_MS } from '../../core/clock.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { configSchema, type OciStoreConfig } from './config.js';
import { OciStore } from './oci-store.js';

export { configSchema };

/** Makes the store from its parsed config. */
export function create(config: { type: string }, deps: StoreDeps): SecretStore {
  return new OciStore(config as OciStoreConfig, {
    clock: deps.clock,
    maxValueBytes: deps.settings.maxValueBytes,
    maxVersions: deps.settings.maxVersions,
    retentionMs: deps.settings.retentionDays * DAY_MS,
    purgeProtection: deps.settings.purgeProtection,
  });
}
