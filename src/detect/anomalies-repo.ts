/**
 * The anomalies found so far (table `anomalies`): recorded once each, with their
 * `anomaly.<type>` audit event in the same transaction, and listed for `keyturn anomalies ls`,
 * the notifications and the audit report. The event's actor is the identity concerned, its source
 * `detector`, its correlation id the anomaly's id (`an_…`), which a rotation it starts shares.
 *
 * Recording is idempotent by what set the anomaly off (type, triggering event, identity): several
 * servers on one database, or one server replaying events after a restart, record it once.
 *
 * @example
 * ```ts
 * const repo = new AnomaliesRepo(kt.state, kt.audit, kt.clock);
 * const id = await repo.record(anomaly); // 'an_…', or null when it was recorded already
 * for (const a of await repo.list({ since: Date.now() - 86_400_000 })) console.log(a.type, a.actor, a.reason);
 * ```
 */
import { randomBytes } from 'node:crypto';
import { eventSafeText } from '../audit/context.js';
import { EVENT_ADDRESS } from '../audit/event.js';
import type { AuditLog } from '../audit/log.js';
import type { Clock } from '../core/clock.js';
import type { StateDb } from '../state/db.js';
import type { AnomaliesTable } from '../state/schema.js';
import { transact } from '../state/tx.js';
import type { Anomaly, AnomalyType } from './detector.js';

/** One recorded anomaly, as listed: what the detector found, its id, the rotation it started, and the seq of the event that set it off. */
export interface AnomalyRecord extends Omit<Anomaly, 'seq'> {
  readonly id: string;
  /** The rotation it started (run id), `refused:<KT_code>`, or null when its secret's policy asks for none. */
  readonly rotation: string | null;
  /** The audit seq of the event that set it off. */
  readonly triggerSeq: number;
}

/** An anomaly as `--json` and the API show it (its time ISO-8601 UTC). */
export type AnomalyView = Omit<AnomalyRecord, 'time'> & { readonly time: string };

/**
 * {@link AnomalyRecord} as `keyturn anomalies ls --json` and `GET /v1/anomalies` show it.
 *
 * @example
 * ```ts
 * anomalyView(record).time; // '2026-12-05T03:00:00.000Z'
 * ```
 */
export function anomalyView(a: AnomalyRecord): AnomalyView {
  return { ...a, time: new Date(a.time).toISOString() };
}

export function newAnomalyId(): string {
  return `an_${randomBytes(10).toString('hex')}`;
}

export class AnomaliesRepo {
  constructor(
    private readonly state: StateDb,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Records `a` with its audit event; null when the same anomaly (type, trigger, identity) is recorded already. */
  async record(a: Anomaly): Promise<string | null> {
    const id = newAnomalyId();
    const actor = eventSafeText(a.actor, 256);
    return transact(this.state.db, async (trx) => {
      const inserted = await trx
        .insertInto('anomalies')
        .values({
          id,
          type: a.type,
          trigger_seq: a.seq,
          time: a.time,
          actor,
          path: a.path,
          address: a.address,
          score: a.score,
          reason: a.reason.slice(0, 1000),
          details: JSON.stringify(a.details),
          rotation: null,
          created_at: this.clock.now(),
        })
        .onConflict((oc) => oc.columns(['type', 'trigger_seq', 'actor']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted === undefined) return null;
      await this.audit.appendWithin(
        {
          actor,
          source: 'detector',
          action: `anomaly.${a.type}`,
          path: a.path !== null && a.path.length <= 512 ? a.path : null,
          outcome: 'success',
          correlationId: id,
          // An address an event cannot take stays in the row only.
          ...(a.address !== null && EVENT_ADDRESS.test(a.address) ? { address: a.address } : {}),
        },
        trx,
      );
      return id;
    });
  }

  /** Notes the rotation an anomaly started (run id) or why none could start (`refused:<code>`). */
  async setRotation(id: string, rotation: string): Promise<void> {
    await this.state.db.updateTable('anomalies').set({ rotation }).where('id', '=', id).execute();
  }

  /** Anomalies at or after `since` (ms), newest first, at most `limit` (default 1000); of `type` only when given. */
  async list(options: { since?: number; limit?: number; type?: AnomalyType } = {}): Promise<AnomalyRecord[]> {
    let q = this.state.db
      .selectFrom('anomalies')
      .selectAll()
      .where('time', '>=', options.since ?? 0);
    if (options.type !== undefined) q = q.where('type', '=', options.type);
    const rows = await q
      .orderBy('time', 'desc')
      .orderBy('id')
      .limit(options.limit ?? 1000)
      .execute();
    return rows.map(recordOf);
  }

  /** One anomaly by id (the correlation id of its audit event), or undefined. */
  async get(id: string): Promise<AnomalyRecord | undefined> {
    const row = await this.state.db.selectFrom('anomalies').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : recordOf(row);
  }
}

function recordOf(r: AnomaliesTable): AnomalyRecord {
  return {
    id: r.id,
    type: r.type as AnomalyType,
    time: Number(r.time),
    actor: r.actor,
    path: r.path,
    address: r.address,
    score: Number(r.score),
    reason: r.reason,
    details: JSON.parse(r.details) as Record<string, string | number>,
    rotation: r.rotation,
    triggerSeq: Number(r.trigger_seq),
  };
}
