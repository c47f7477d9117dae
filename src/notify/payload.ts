/**
 * What a notification says, as the JSON body of a `format: json` channel (and what the Slack
 * body is rendered from, ./format.ts). Built only from what the audit log, the runs table and the
 * schedule know: the event type, the secret's path, the run, the outcome, an error's code and
 * message, times. Never a value, never who acted.
 *
 * Every body has the same keys, null where they do not apply; `details` holds what a type adds.
 *
 * @example
 * ```ts
 * const body = notificationBody({ id: 'ntf_1', channel: 'ops', type: 'failure', time: '2026-01-01T00:00:00.000Z',
 *   path: 'prod/db/app', runId: 'run_1', outcome: 'failure', error: { code: 'KT_TARGET_UNAVAILABLE', message: '...', step: 'set' } });
 * JSON.stringify(body); // {"id":"ntf_1","type":"failure",...}
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { NotifyEvent } from './schema.js';

export type NotificationType = NotifyEvent | 'test';

/**
 * `failure` / `success` (a rotation run ended), `warning` / `overdue` (an expiry warning: the
 * secret's age status), `failing` (an escalation), `test` (`keyturn notify test`).
 */
export type NotificationOutcome = 'failure' | 'success' | 'warning' | 'overdue' | 'failing' | 'anomaly' | 'test';

export interface NotificationError {
  readonly code: string;
  /** The run's error message (messages never carry values); null when unknown. */
  readonly message: string | null;
  /** The step that failed, when a run's. */
  readonly step: string | null;
}

export interface NotificationBody {
  /** The delivery id (`ntf_…`), the same on every try: receivers drop duplicates by it. Also the Keyturn-Delivery header. */
  readonly id: string;
  readonly type: NotificationType;
  /** The channel it was sent to. */
  readonly channel: string;
  /** When it happened (the audit event's time; for an expiry warning or escalation, when it was found), ISO-8601 UTC. */
  readonly time: string;
  readonly path: string | null;
  readonly runId: string | null;
  readonly outcome: NotificationOutcome;
  readonly error: NotificationError | null;
  /** The audit event it comes from (`ev_…`), for a run's outcome. */
  readonly auditEventId: string | null;
  /** What the type adds (see docs/notifications.md); null for failure and success. */
  readonly details: Readonly<Record<string, string | number | null>> | null;
}

/** A fresh delivery id. */
export function newDeliveryId(): string {
  return `ntf_${randomUUID().replaceAll('-', '')}`;
}

/** A body with every key, the optional ones null. */
export function notificationBody(b: Pick<NotificationBody, 'id' | 'channel' | 'type' | 'time' | 'outcome'> & Partial<NotificationBody>): NotificationBody {
  return {
    id: b.id,
    type: b.type,
    channel: b.channel,
    time: b.time,
    path: b.path ?? null,
    runId: b.runId ?? null,
    outcome: b.outcome,
    error: b.error ?? null,
    auditEventId: b.auditEventId ?? null,
    details: b.details ?? null,
  };
}

/** An ISO time from epoch ms (null stays null). */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
