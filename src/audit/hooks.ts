/**
 * The audit log plugged into the parts that act: the embedded store (every write in its own
 * transaction, every value read), the rotation engine (intent before touching the target, the
 * outcome after), and `keyturn apply` (one event per applied change, in its transaction).
 *
 * Each hook takes the {@link AuditContext} of the entry point (who, through what, which request);
 * engine events say source `engine` and keep the run's own correlation id.
 *
 * @example
 * ```ts
 * const store = new EmbeddedStore(state, ring, { audit: storeAuditHook(audit) });
 * const engine = new Engine({ ..., audit: engineAuditPort(audit) });
 * ```
 */
import type { AccessAudit } from '../access/access-repo.js';
import type { OidcAudit } from '../access/oidc-repo.js';
import type { Transaction } from 'kysely';
import type { SecretValue } from '../core/types.js';
import type { AuditPort } from '../engine/engine.js';
import type { ReplicaAuditEvent } from '../replicas/sync.js';
import type { Schema } from '../state/schema.js';
import type { StoreAuditHook } from '../stores/audit-hook.js';
import { canonicalJson } from './canonical.js';
import { eventSafeId, type AuditContext } from './context.js';
import type { AuditEventInput } from './event.js';
import type { AuditInput, AuditLog } from './log.js';

const ERROR_CODE = /^KT_[A-Z0-9_]+$/;
const settled = (): void => undefined;
const ACTION_WORD = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;

/**
 * The bytes a value's HMAC is computed over: a string's UTF-8, or a fields object's RFC 8785
 * canonical JSON (so `audit hash` finds it whatever order the fields were given in).
 *
 * @example
 * ```ts
 * valueBytes({ b: '2', a: '1' }).toString(); // '{"a":"1","b":"2"}'
 * ```
 */
export function valueBytes(value: SecretValue): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : canonicalJson(value);
}

/**
 * The event fields a context gives: who, through what, which request, and for an API request the
 * client's address and user agent.
 *
 * @example
 * ```ts
 * await log.append({ ...contextFields(ctx), action: 'audit.export', outcome: 'success' });
 * ```
 */
export function contextFields(ctx: AuditContext | undefined): Pick<AuditEventInput, 'actor' | 'source' | 'correlationId' | 'address' | 'userAgent'> | Record<string, never> {
  if (ctx === undefined) return {};
  return {
    actor: ctx.actor,
    source: ctx.source,
    correlationId: ctx.correlationId,
    ...(ctx.address ? { address: ctx.address } : {}),
    ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
  };
}

/**
 * The embedded store's audit hook over a log.
 *
 * @example
 * ```ts
 * new EmbeddedStore(state, ring, { audit: storeAuditHook(audit, cliContext()) });
 * ```
 */
export function storeAuditHook(log: AuditLog, ctx?: AuditContext): StoreAuditHook {
  const who = contextFields(ctx);
  return {
    // Not async: a read's event goes straight to the log's group commit, without a promise of its own.
    record: (trx, event) => {
      const input: { -readonly [K in keyof AuditInput]: AuditInput[K] } = {
        ...who,
        action: event.action,
        path: event.path,
        outcome: event.outcome,
        versionId: event.versionId ?? null,
        errorCode: event.errorCode ?? null,
        valueHmac: event.valueHmac ?? null,
      };
      if (event.servedBy !== undefined) input.source = `${ctx?.source ?? log.context.source} via ${event.servedBy}`;
      return trx ? log.appendWithin(input, trx) : log.append(input).then(settled);
    },
    hashValue: (value) => log.hash(valueBytes(value)),
  };
}

/**
 * The engine's audit port: `secret.rotate` events with outcome `intent`, `success` or `failure`,
 * source `engine`, the run id and the run's correlation id.
 *
 * @example
 * ```ts
 * new Engine({ state, store, applied, clock, log, audit: engineAuditPort(audit, ctx) });
 * ```
 */
export function engineAuditPort(log: AuditLog, ctx?: AuditContext): AuditPort {
  const actor = ctx?.actor ?? log.context.actor;
  return {
    record: async (e, trx) => {
      const word = ACTION_WORD.test(e.action) ? e.action : 'step';
      const input = {
        actor,
        source: 'engine',
        action: `secret.${word}`,
        path: e.path,
        outcome: e.outcome,
        versionId: eventSafeId(e.versionId),
        errorCode: e.outcome === 'failure' ? (e.errorCode && ERROR_CODE.test(e.errorCode) ? e.errorCode : 'KT_INTERNAL') : null,
        runId: eventSafeId(e.runId),
        correlationId: eventSafeId(e.correlationId),
      };
      if (trx) await log.appendWithin(input, trx);
      else await log.append(input);
    },
  };
}

/**
 * The access repository's audit hook: `access.policy.put`, `access.policy.delete`,
 * `access.token.create` and `access.token.revoke` events, committed with the change they record.
 *
 * @example
 * ```ts
 * new AccessRepo(state, clock, accessAuditHook(audit, cliContext()));
 * ```
 */
export function accessAuditHook(log: AuditLog, ctx?: AuditContext): AccessAudit {
  const who = contextFields(ctx);
  return { record: (e, trx) => log.appendWithin({ ...who, action: e.action, path: e.path, outcome: 'success' }, trx) };
}

/** A configuration change as `keyturn apply` makes it. */
export interface AppliedChange {
  readonly kind: string;
  readonly name: string;
  readonly action: string;
}

/**
 * The hook `applyPlan` calls inside its transaction with the changes it applied: one
 * `config.<kind>.<action>` event each (e.g. `config.policy.change`), committed with them.
 *
 * @example
 * ```ts
 * await applyPlan(state, store, config, plan, clock, configAuditHook(audit, ctx));
 * ```
 */
export function configAuditHook(log: AuditLog, ctx?: AuditContext): (trx: Transaction<Schema>, changes: readonly AppliedChange[]) => Promise<void> {
  const who = contextFields(ctx);
  return async (trx, changes) => {
    await log.appendBatch(
      changes.map((c) => ({ ...who, action: `config.${ACTION_WORD.test(c.kind) ? c.kind : 'item'}.${ACTION_WORD.test(c.action) ? c.action : 'change'}`, path: c.name, outcome: 'success' as const })),
      trx,
    );
  };
}

/**
 * The OIDC issuers' audit hook: `access.oidc.put` and `access.oidc.remove` events naming the
 * issuer, committed with the change they record.
 *
 * @example
 * ```ts
 * new OidcRepo(state, clock, access, oidcAuditHook(audit, cliContext()));
 * ```
 */
export function oidcAuditHook(log: AuditLog, ctx?: AuditContext): OidcAudit {
  const who = contextFields(ctx);
  return { record: (e, trx) => log.appendWithin({ ...who, action: e.action, path: e.path, outcome: 'success' }, trx) };
}

/**
 * The replica sync's audit port: one `secret.replicate` event per copy to a replica, its `source`
 * naming the replica store (`replica:aws-eu`), with the primary's version id; never a value.
 *
 * @example
 * ```ts
 * new ReplicaSync({ ..., audit: replicaAuditPort(audit, ctx) });
 * ```
 */
export function replicaAuditPort(log: AuditLog, ctx?: AuditContext): (e: ReplicaAuditEvent) => Promise<void> {
  const actor = ctx?.actor ?? log.context.actor;
  return async (e) => {
    await log.append({
      actor,
      source: `replica:${e.replica}`,
      action: 'secret.replicate',
      path: e.path,
      outcome: e.outcome,
      versionId: eventSafeId(e.versionId),
      errorCode: e.outcome === 'failure' ? (e.errorCode && ERROR_CODE.test(e.errorCode) ? e.errorCode : 'KT_INTERNAL') : null,
      runId: eventSafeId(e.runId),
      correlationId: eventSafeId(e.correlationId ?? ctx?.correlationId),
    });
  };
}
