/**
 * The kubernetes store's module, loaded only when the store is used: its config schema and its
 * factory (limits, retention and purge protection from the store settings).
 *
 * @example
 * ```ts
 * const store = create(configSchema.parse({ type: 'kubernetes', namespace: 'keyturn' }), deps);
 * ```
 */
import { DAY_MS } from '../../core/clock.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { configSchema, type KubernetesStoreConfig } from './config.js';
import { KubernetesStore } from './kubernetes-store.js';

export { configSchema };

/** Makes the store; it opens no connection until first used. */
export function create(config: { type: string }, deps: Pick<StoreDeps, 'clock' | 'settings'>): SecretStore {
  const s = deps.settings;
  return new KubernetesStore(config as KubernetesStoreConfig, {
    clock: deps.clock,
    maxValueBytes: s.maxValueBytes,
    maxVersions: s.maxVersions,
    retentionMs: s.retentionDays * DAY_MS,
    purgeProtection: s.purgeProtection,
  });
}
