/**
 * The GCP Secret Manager store's module, loaded only when KEYTURN_STORE_FILE names `type: gcp`:
 * its config schema and its factory (limits, retention and purge protection from the store
 * settings; the clock for deletion windows, which Secret Manager does not keep).
 *
 * @example
 * ```ts
 * const store = create(configSchema.parse({ type: 'gcp', project: 'acme-prod' }), deps);
 * ```
 */
import { DAY_MS } from '../../core/clock.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { configSchema, type GcpStoreConfig } from './config.js';
import { GcpStore } from './gcp-store.js';

export { configSchema };

/** Makes the store from its parsed config; it opens no connection until first used. */
export function create(config: { type: string }, deps: StoreDeps): SecretStore {
  return new GcpStore(config as GcpStoreConfig, {
    clock: deps.clock,
    maxValueBytes: deps.settings.maxValueBytes,
    maxVersions: deps.settings.maxVersions,
    retentionMs: deps.settings.retentionDays * DAY_MS,
    purgeProtection: deps.settings.purgeProtection,
  });
}
