/**
 * A secret's lifecycle events, derived from the audit log (nothing of its own is stored): each
 * success event of the path maps to a kind, in log order.
 *
 * | audit action                          | lifecycle kind                                        |
 * | ------------------------------------- | ----------------------------------------------------- |
 * | `secret.put` while the path holds no secret | `created` (then `activated`, as below)          |
 * | `secret.put` of a version that no later `secret.stage.current` names, not a run's version | `activated` |
 * | `secret.stage.current` (a rotation's promotion, a rollback) | `activated`                     |
 * | `secret.rotate` success               | `rotated` (with the run id)                           |
 * | `secret.deprecate` / `secret.revoke`  | `deprecated` / `revoked`                              |
 * | `secret.activate`                     | `activated` (the status set back to active)           |
 * | `secret.delete` / `secret.restore` / `secret.purge` | `deleted` / `restored` / `purged`       |
 *
 * `expired` is not an event in the log: when the current value is past its schedule's maxAge, an
 * `expired` event at that time closes the list (no audit seq). A put with `--stage pending` that
 * is never promoted shows as `activated` (the put event does not say which stages it set).
 *
 * @example
 * ```ts
 * const events = await lifecycleEvents(kt, kt.store, 'prod/api/token', { limit: 50 });
 * events[0]; // { time, kind: 'created', version: 1, versionId, actor, source, runId, auditSeq, auditId, action }
 * ```
 */
import { sql } from 'kysely';
import { decodeEvent, type AuditEvent } from '../audit/event.js';
import { KeyturnError } from '../core/errors.js';
import { assertValidPath } from '../core/paths.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { SecretStore } from '../stores/store.js';
import { secretStatus } from './status.js';

export const LIFECYCLE_KINDS = ['created', 'activated', 'rotated', 'deprecated', 'expired', 'revoked', 'deleted', 'restored', 'purged'] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

export interface LifecycleEvent {
  /** ISO-8601. */
  time: string;
  kind: LifecycleKind;
  /** The version's number, when the event names a version the store still has. */
  version: number | null;
  versionId: string | null;
  actor: string | null;
  source: string | null;
  runId: string | null;
  /** The audit event it comes from (null for `expired`). */
  auditSeq: number | null;
  auditId: string | null;
  /** That event's action (`secret.put`, ...). */
  action: string | null;
}

/** A version id made by a rotation run (`run_<uuid>.g<n>`): put pending, promoted by a later event. */
const RUN_VERSION = /^run_[A-Za-z0-9-]+\.g\d+$/;

const SIMPLE: Readonly<Record<string, LifecycleKind>> = {
  'secret.stage.current': 'activated',
  'secret.rotate': 'rotated',
  'secret.deprecate': 'deprecated',
  'secret.revoke': 'revoked',
  'secret.activate': 'activated',
  'secret.delete': 'deleted',
  'secret.restore': 'restored',
  'secret.purge': 'purged',
};

/** The success events of `path`, in log order (a LIKE on the leaf's canonical JSON, then an exact check). */
async function pathEvents(kt: Keyturn, path: string): Promise<Array<AuditEvent & { id: string }>> {
  // The leaf is RFC 8785 JSON: "path" is always followed by "prev". A path has no quote, backslash, % or !.
  const pattern = `%"path":${JSON.stringify(path).replaceAll('_', '!_')},"prev"%`;
  const rows = await kt.state.db
    .selectFrom('audit_leaves')
    .select(['seq', 'id', 'leaf'])
    .where(sql<boolean>`leaf like ${pattern} escape '!'`)
    .orderBy('seq')
    .execute();
  const out: Array<AuditEvent & { id: string }> = [];
  for (const r of rows) {
    let e: AuditEvent;
    try {
      e = decodeEvent(Buffer.from(r.leaf, 'utf8'));
    } catch {
      continue; // a damaged leaf is `keyturn audit verify`'s business
    }
    if (e.path === path && e.outcome === 'success') out.push({ ...e, id: r.id });
  }
  return out;
}

/**
 * The lifecycle events of `path`, oldest first, the last `limit` of them; KT_SECRET_NOT_FOUND when
 * the log has none and there is no secret there.
 */
export async function lifecycleEvents(kt: Keyturn, store: SecretStore, path: string, options: { limit?: number } = {}): Promise<LifecycleEvent[]> {
  assertValidPath(path);
  const events = await pathEvents(kt, path);
  const info = await store.describe(path);
  if (events.length === 0 && !info) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}, and no lifecycle events of one`);
  const numbers = new Map<string, number>();
  if (info && info.deletedAt === null) for (const v of await store.versions(path)) numbers.set(v.id, v.number);
  // The last seq at which each version was made current.
  const promoted = new Map<string, number>();
  for (const e of events) if (e.action === 'secret.stage.current' && e.versionId !== null) promoted.set(e.versionId, e.seq);
  const promotedLater = (e: AuditEvent) => (promoted.get(e.versionId ?? '') ?? -1) > e.seq;
  const out: LifecycleEvent[] = [];
  const push = (kind: LifecycleKind, e: AuditEvent & { id: string }) =>
    out.push({
      time: e.time,
      kind,
      version: e.versionId === null ? null : (numbers.get(e.versionId) ?? null),
      versionId: e.versionId,
      actor: e.actor,
      source: e.source,
      runId: e.runId,
      auditSeq: e.seq,
      auditId: e.id,
      action: e.action,
    });
  let exists = false;
  for (const e of events) {
    if (e.action === 'secret.put') {
      if (!exists) push('created', e);
      exists = true;
      if (e.versionId !== null && !RUN_VERSION.test(e.versionId) && !promotedLater(e)) push('activated', e);
      continue;
    }
    const kind = SIMPLE[e.action];
    if (kind === undefined) continue;
    if (kind === 'purged') exists = false;
    push(kind, e);
  }
  if (info && info.deletedAt === null) {
    const s = await secretStatus(kt, store, path, kt.clock.now());
    const expired = s.expiresAt !== null && Date.parse(s.expiresAt) <= kt.clock.now();
    if (expired) {
      const current = info.currentVersion;
      const at = Date.parse(s.expiresAt!);
      const where = out.findIndex((x) => Date.parse(x.time) > at);
      out.splice(where === -1 ? out.length : where, 0, {
        time: s.expiresAt!,
        kind: 'expired',
        version: current?.number ?? null,
        versionId: current?.id ?? null,
        actor: null,
        source: null,
        runId: null,
        auditSeq: null,
        auditId: null,
        action: null,
      });
    }
  }
  const limit = options.limit ?? 100;
  return out.slice(Math.max(0, out.length - limit));
}
