/**
 * How `keyturn audit tail` and `audit hash --find` show an event: one readable line, or one JSON
 * line. The same from a local home and through a server (src/client: an AuditEventView either
 * way). It decodes events, so the commands import it inside their actions.
 *
 * @example
 * ```ts
 * const { eventText } = await import('./event-view.js');
 * for (const e of (await client.audit.latest(20)).events) io.stdout.write(`${eventText(e)}\n`);
 * ```
 */
import type { LeafRow } from '../../../audit/repo.js';
import type { AuditEventView } from '../../../client/client.js';
import { eventView } from '../../../client/local-audit.js';

/** One event, human-readable: id, seq, time, action, outcome, who, what. */
export function eventText(event: AuditEventView): string {
  if ('invalid' in event) return `${event.id}  #${event.seq}  (not a readable event: run keyturn audit verify)`;
  const outcome = event.errorCode === null ? event.outcome : `${event.outcome} ${event.errorCode}`;
  const what = event.path === null ? '-' : `${event.path}${event.versionId === null ? '' : `@${event.versionId}`}`;
  const run = event.runId === null ? '' : `  run ${event.runId}`;
  return `${event.id}  #${event.seq}  ${event.time}  ${event.action}  ${outcome}  ${event.actor} via ${event.source}  ${what}${run}`;
}

/** One event as a JSON line: `{"id":"ev_…", …fields}` (as the audit sinks write it). */
export function eventJson(event: AuditEventView): string {
  return JSON.stringify(event);
}

/** A stored row, shown as above. */
export function rowText(row: LeafRow): string {
  return eventText(eventView(row));
}

export function rowJson(row: LeafRow): string {
  return eventJson(eventView(row));
}
