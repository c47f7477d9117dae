/**
 * How `keyturn audit tail` and `audit hash --find` show an event: one readable line, or one JSON
 * line. It decodes events, so the commands import it inside their actions.
 *
 * @example
 * ```ts
 * const { eventText } = await import('./event-view.js');
 * for (const row of await kt.audit.tail(20)) io.stdout.write(`${eventText(row)}\n`);
 * ```
 */
import { decodeEvent } from '../../../audit/event.js';
import type { LeafRow } from '../../../audit/repo.js';
import { sinkLine } from '../../../audit/sinks/sink.js';

/** One event, human-readable: id, seq, time, action, outcome, who, what. */
export function eventText(row: LeafRow): string {
  try {
    const e = decodeEvent(Buffer.from(row.leaf, 'utf8'));
    const outcome = e.errorCode === null ? e.outcome : `${e.outcome} ${e.errorCode}`;
    const what = e.path === null ? '-' : `${e.path}${e.versionId === null ? '' : `@${e.versionId}`}`;
    const run = e.runId === null ? '' : `  run ${e.runId}`;
    return `${row.id}  #${row.seq}  ${e.time}  ${e.action}  ${outcome}  ${e.actor} via ${e.source}  ${what}${run}`;
  } catch {
    return `${row.id}  #${row.seq}  (not a readable event: run keyturn audit verify)`;
  }
}

/** One event as a JSON line: `{"id":"ev_…", …fields}`. */
export function eventJson(row: LeafRow): string {
  return sinkLine({ seq: row.seq, id: row.id, leaf: row.leaf });
}
