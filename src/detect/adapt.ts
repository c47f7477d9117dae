/**
 * An audit event as the detectors see it ({@link AccessEvent}): the capability its action used, its
 * time in ms. Events the detectors do not learn from give null: Keyturn's own components
 * (`system:*` actors: the scheduler, the engine, the server's sweeps), the detector's own
 * `anomaly.*` events, and intents (the outcome event of the same action follows).
 *
 * @example
 * ```ts
 * toAccessEvent(decodeEvent(leaf)); // { actor: 'token:tk_1', capability: 'read', path: 'prod/db', ... } or null
 * ```
 */
import type { Capability } from '../access/capabilities.js';
import type { AuditEvent } from '../audit/event.js';
import type { AccessEvent, Widening } from './detector.js';

/** The capability an audit action uses on its path (null: not an access to a path, or unknown). */
export function capabilityOf(action: string): Capability | null {
  if (action === 'secret.read' || action === 'agent.delivery') return 'read';
  if (action === 'secret.put' || action === 'secret.metadata' || action.startsWith('secret.stage.') || action === 'secret.deprecate' || action === 'secret.revoke' || action === 'secret.activate')
    return 'write';
  if (action === 'secret.delete' || action === 'secret.restore' || action === 'secret.purge') return 'delete';
  if (action === 'secret.rotate' || action === 'breakglass.rotate') return 'rotate';
  if (action.startsWith('access.policy.') || action.startsWith('access.token.') || action.startsWith('access.oidc.') || action.startsWith('config.')) return 'admin';
  if (action.startsWith('audit.')) return 'audit';
  if (action === 'breakglass.approve') return 'approve';
  return null;
}

/** The event as the detectors see it, or null when they do not learn from it (see the module header). */
export function toAccessEvent(e: AuditEvent, widening?: Widening): AccessEvent | null {
  if (e.actor.startsWith('system:') || e.source === 'detector' || e.action.startsWith('anomaly.') || e.outcome === 'intent') return null;
  return {
    seq: e.seq,
    time: Date.parse(e.time),
    actor: e.actor,
    source: e.source,
    action: e.action,
    capability: capabilityOf(e.action),
    path: e.path,
    outcome: e.outcome,
    errorCode: e.errorCode,
    address: e.address ?? null,
    userAgent: e.userAgent ?? null,
    ...(widening ? { widening } : {}),
  };
}
