/**
 * Turns the audit log into queued notifications: the log is the source, so a notification is
 * never lost if a process dies (docs/notifications.md). One pass reads the events after the
 * cursor (`notify_cursor`), a batch at a time, and for each rotation outcome (`secret.rotate`
 * with outcome `failure` or `success`):
 *
 * - queues a `failure` or `success` notification for each channel that asked for it, covers the
 *   path and existed when the event was written (`fromSeq`), deduplicated by the event's id;
 * - keeps `notify_failing` (what escalations come from): a failure opens a failing period for
 *   the secret unless one is open, a success closes it.
 *
 * A superseded run (KT_RUN_SUPERSEDED: a newer value was stored while it ran) is neither.
 *
 * An access anomaly (`anomaly.<type>` from the detectors, src/detect/) queues an `anomaly`
 * notification for each channel that asked for them and covers its path (a channel limited to
 * paths hears only of anomalies on a secret path under them).
 *
 * Each batch is one transaction that first locks the cursor row (`FOR UPDATE` on PostgreSQL; the
 * SQLite transaction holds the write lock), reads the cursor again, queues and moves the cursor:
 * with several instances each batch is turned into notifications exactly once. With no channel
 * applied nothing is read at all; the cursor never goes below the oldest channel's `fromSeq`.
 *
 * @example
 * ```ts
 * const queued = await fillFromAudit(kt.state, { now: kt.clock.now() });
 * ```
 */
import type { Transaction } from 'kysely';
import { decodeEvent, type AuditEvent } from '../audit/event.js';
import type { StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';
import { appliedChannels, type AppliedChannel } from './channels.js';
import { enqueue } from './outbox.js';
import { newDeliveryId, notificationBody, type NotificationError } from './payload.js';
import { channelCovers } from './schema.js';

const CURSOR = 'audit';
/** Events read per transaction. */
export const FILL_BATCH = 500;

export interface FillOptions {
  readonly now: number;
  /** Batches in this pass (default: until caught up, at most 100). */
  readonly maxBatches?: number;
  /** The channels, when the caller has read them already. */
  readonly channels?: readonly AppliedChannel[];
}

export interface FillReport {
  /** Audit events read. */
  readonly read: number;
  /** Notifications queued (one per channel). */
  readonly queued: number;
  readonly nextSeq: number;
}

/** The rotation outcome an event records, or null. */
function outcomeOf(e: AuditEvent): 'failure' | 'success' | null {
  if (e.action !== 'secret.rotate' || e.path === null) return null;
  if (e.outcome === 'success') return 'success';
  if (e.outcome === 'failure' && e.errorCode !== 'KT_RUN_SUPERSEDED') return 'failure';
  return null;
}

async function lockedCursor(trx: Transaction<Schema>, state: StateDb, now: number): Promise<number> {
  await trx
    .insertInto('notify_cursor')
    .values({ name: CURSOR, next_seq: 0, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  let q = trx.selectFrom('notify_cursor').select('next_seq').where('name', '=', CURSOR);
  if (state.dialect === 'postgres') q = q.forUpdate();
  return Number((await q.executeTakeFirstOrThrow()).next_seq);
}

/** Whether `e` is a failed cleanup after grace (src/engine/cleanup.ts): the previous credential still works past its grace period. */
function cleanupFailed(e: AuditEvent): boolean {
  return e.action === 'secret.cleanup' && e.outcome === 'failure' && e.path !== null;
}

/** A failed cleanup's error as a notification carries it: its code and the message its journal row holds. */
async function cleanupError(trx: Transaction<Schema>, e: AuditEvent): Promise<NotificationError> {
  const row =
    e.runId === null
      ? undefined
      : await trx
          .selectFrom('run_steps')
          .select('detail')
          .where('run_id', '=', e.runId)
          .where('step', '=', 'cleanup')
          .where('outcome', '=', 'failed')
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
  return { code: e.errorCode ?? 'KT_INTERNAL', message: row?.detail ?? null, step: 'cleanup' };
}

/** What an anomaly notification says (src/detect/anomalies-repo.ts): its id, type, identity, address, reason and score, from its row. */
async function anomalyDetails(trx: Transaction<Schema>, e: AuditEvent): Promise<Record<string, string | number | null>> {
  const row =
    e.correlationId === null
      ? undefined
      : await trx.selectFrom('anomalies').select(['id', 'type', 'actor', 'address', 'reason', 'score', 'rotation']).where('id', '=', e.correlationId).executeTakeFirst();
  return {
    anomalyId: row?.id ?? e.correlationId,
    type: row?.type ?? e.action.slice('anomaly.'.length),
    actor: row?.actor ?? e.actor,
    address: row?.address ?? e.address ?? null,
    reason: row?.reason ?? null,
    score: row === undefined ? null : Number(row.score),
  };
}

/** The run's error as a notification carries it (its message and the step that failed), from the runs table. */
async function runError(trx: Transaction<Schema>, e: AuditEvent): Promise<NotificationError> {
  const run = e.runId === null ? undefined : await trx.selectFrom('runs').select(['error_code', 'error_message', 'failed_step', 'step']).where('id', '=', e.runId).executeTakeFirst();
  return { code: e.errorCode ?? run?.error_code ?? 'KT_INTERNAL', message: run?.error_message ?? null, step: run?.failed_step ?? null };
}

/** One batch (see the module header); null when there was nothing to read. */
async function fillBatch(state: StateDb, channels: readonly AppliedChannel[], now: number): Promise<{ read: number; queued: number; nextSeq: number } | null> {
  const floor = Math.min(...channels.map((c) => c.fromSeq));
  return state.db.transaction().execute(async (trx) => {
    const cursor = Math.max(await lockedCursor(trx, state, now), floor);
    const rows = await trx.selectFrom('audit_leaves').select(['seq', 'id', 'leaf']).where('seq', '>=', cursor).orderBy('seq').limit(FILL_BATCH).execute();
    if (rows.length === 0) return null;
    let queued = 0;
    for (const row of rows) {
      const seq = Number(row.seq);
      let e: AuditEvent;
      try {
        e = decodeEvent(Buffer.from(row.leaf, 'utf8'));
      } catch {
        continue; // `audit verify` reports an unreadable leaf; it is no rotation outcome
      }
      if (cleanupFailed(e)) {
        // A failure notification of its own: the rotation stands, so the secret is not marked failing.
        const path = e.path!;
        const targets = channels.filter((c) => c.config.events.includes('failure') && seq >= c.fromSeq && channelCovers(c.config, path));
        if (targets.length === 0) continue;
        const error = await cleanupError(trx, e);
        for (const c of targets) {
          const body = notificationBody({
            id: newDeliveryId(),
            channel: c.name,
            type: 'failure',
            time: e.time,
            path,
            runId: e.runId,
            outcome: 'failure',
            error,
            auditEventId: row.id,
            details: { action: 'cleanup', versionId: e.versionId },
          });
          if (await enqueue(trx, { channel: c.name, dedupe: `cleanup-failure:${row.id}`, body, now })) queued++;
        }
        continue;
      }
      if (e.action.startsWith('anomaly.') && e.source === 'detector') {
        const targets = channels.filter((c) => c.config.events.includes('anomaly') && seq >= c.fromSeq && channelCovers(c.config, e.path));
        if (targets.length === 0) continue;
        const details = await anomalyDetails(trx, e);
        for (const c of targets) {
          const body = notificationBody({ id: newDeliveryId(), channel: c.name, type: 'anomaly', time: e.time, path: e.path, outcome: 'anomaly', auditEventId: row.id, details });
          if (await enqueue(trx, { channel: c.name, dedupe: `anomaly:${row.id}`, body, now })) queued++;
        }
        continue;
      }
      const outcome = outcomeOf(e);
      if (outcome === null) continue;
      const path = e.path!;
      const time = Date.parse(e.time);
      if (outcome === 'failure') {
        await trx
          .insertInto('notify_failing')
          .values({ path, since: time, since_seq: seq, run_id: e.runId, error_code: e.errorCode, updated_at: now })
          .onConflict((oc) => oc.column('path').doUpdateSet({ run_id: e.runId, error_code: e.errorCode, updated_at: now }))
          .execute();
      } else {
        await trx.deleteFrom('notify_failing').where('path', '=', path).execute();
      }
      const targets = channels.filter((c) => c.config.events.includes(outcome) && seq >= c.fromSeq && channelCovers(c.config, path));
      if (targets.length === 0) continue;
      const error = outcome === 'failure' ? await runError(trx, e) : null;
      for (const c of targets) {
        const body = notificationBody({ id: newDeliveryId(), channel: c.name, type: outcome, time: e.time, path, runId: e.runId, outcome, error, auditEventId: row.id });
        if (await enqueue(trx, { channel: c.name, dedupe: `${outcome}:${row.id}`, body, now })) queued++;
      }
    }
    const nextSeq = Number(rows[rows.length - 1]!.seq) + 1;
    await trx.updateTable('notify_cursor').set({ next_seq: nextSeq, updated_at: now }).where('name', '=', CURSOR).execute();
    return { read: rows.length, queued, nextSeq };
  });
}

/** Reads what the log gained since the last pass and queues its notifications (see the module header). */
export async function fillFromAudit(state: StateDb, options: FillOptions): Promise<FillReport> {
  const channels = options.channels ?? (await appliedChannels(state));
  if (channels.length === 0) return { read: 0, queued: 0, nextSeq: -1 };
  let read = 0;
  let queued = 0;
  let nextSeq = -1;
  for (let n = 0; n < (options.maxBatches ?? 100); n++) {
    const batch = await fillBatch(state, channels, options.now);
    if (batch === null) break;
    read += batch.read;
    queued += batch.queued;
    nextSeq = batch.nextSeq;
    if (batch.read < FILL_BATCH) break;
  }
  return { read, queued, nextSeq };
}
