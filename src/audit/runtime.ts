/**
 * The audit log as a Keyturn process runs it: opened with the settings' checkpoint policy and
 * the entry point's context, and its configured sinks fed (bounded) when the process is done.
 *
 * @example
 * ```ts
 * const audit = await openAudit(state, ring, settings.audit, { clock, context: cliContext() });
 * const reports = await deliverConfiguredSinks(audit, state, settings.audit);
 * ```
 */
import type { Clock } from '../core/clock.js';
import type { AuditSettings } from '../config/settings.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { StateDb } from '../state/db.js';
import type { AuditContext } from './context.js';
import { AuditLog } from './log.js';
import type { SinkReport } from './sinks/deliver.js';
import { sinksConfigured } from './sinks/configured.js';

/** Opens (initializing if needed) the audit log with the settings' checkpoint policy. */
export function openAudit(state: StateDb, ring: KeyRing, settings: AuditSettings, options: { clock?: Clock; context?: AuditContext }): Promise<AuditLog> {
  return AuditLog.open(state, ring, { ...options, checkpointEvery: settings.checkpointEvery, checkpointSeconds: settings.checkpointSeconds });
}

/** Pushes what each configured sink is behind by; each delivery bounded by the settings' timeout. */
export async function deliverConfiguredSinks(audit: AuditLog, state: StateDb, settings: AuditSettings, options: { clock?: Clock; maxBatches?: number } = {}): Promise<SinkReport[]> {
  if (!sinksConfigured(settings)) return [];
  // The sinks (and node:http, node:net, node:dgram under them) load only when one is configured.
  const [{ deliverSinks }, { sinksFromSettings }] = await Promise.all([import('./sinks/deliver.js'), import('./sinks/from-settings.js')]);
  return deliverSinks(audit, state, sinksFromSettings(settings), { timeoutMs: settings.sinkTimeoutMs, batch: settings.sinkBatch, ...options });
}
