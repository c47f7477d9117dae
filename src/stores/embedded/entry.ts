/**
 * The embedded store's registry entry: its config (only its type; its limits are KEYTURN_*
 * settings) and its factory. It records its own audit events, in each write's transaction, so the
 * registry does not wrap it.
 *
 * @example
 * ```ts
 * embeddedStoreEntry.create({ type: 'embedded' }, { state, ring, clock, settings, audit });
 * ```
 */
import { DAY_MS } from '../../core/clock.js';
import type { StoreDeps } from '../deps.js';
import type { SecretStore } from '../store.js';
import { EmbeddedStore } from './embedded-store.js';

export interface EmbeddedStoreConfig {
  readonly type: 'embedded';
}

export const embeddedStoreEntry = {
  kind: 'embedded',
  auditsItself: true,
  create: (_config: EmbeddedStoreConfig, d: StoreDeps): SecretStore =>
    new EmbeddedStore(d.state, d.ring, {
      clock: d.clock,
      ...(d.audit ? { audit: d.audit } : {}),
      maxValueBytes: d.settings.maxValueBytes,
      maxVersions: d.settings.maxVersions,
      retentionMs: d.settings.retentionDays * DAY_MS,
      purgeProtection: d.settings.purgeProtection,
      valueCacheMs: d.settings.valueCacheMs,
    }),
} as const;
