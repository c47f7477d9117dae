/**
 * Syslog messages (RFC 5424) for audit events, and their framing on TCP (RFC 6587 octet counting).
 *
 *     <PRI>1 TIMESTAMP HOSTNAME keyturn PROCID MSGID [keyturn@32473 id=… seq=… outcome=…] BOM{json}
 *
 * PRI is facility 13 (log audit) with severity 6 (informational) for success and intent, 4
 * (warning) for failure and denied. TIMESTAMP is the event's time, MSGID its action, the
 * structured data its id, seq, outcome and actor, and MSG the event's JSON line (`sinkLine`),
 * UTF-8 after a BOM. (32473 is the documentation enterprise number of RFC 5612.)
 *
 * @example
 * ```ts
 * formatSyslog(record, { hostname: 'vault-1', pid: 42 }); // '<110>1 2025-… vault-1 keyturn 42 secret.put [keyturn@32473 …] \uFEFF{…}'
 * ```
 */
import { decodeEvent, type AuditEvent } from '../../event.js';
import type { SinkRecord } from '../sink.js';
import { checkpointLine, sinkLine, type SinkCheckpoint } from '../sink.js';

const FACILITY_LOG_AUDIT = 13;
const SD_ID = 'keyturn@32473';

/** Printable US-ASCII without spaces, cut to `max` (`-` when empty). */
function header(text: string, max: number): string {
  const clean = text.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 §6.3.3). */
function param(text: string): string {
  return text.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** One RFC 5424 message for an event. */
export function formatSyslog(record: SinkRecord, host: { hostname: string; pid: number }): string {
  let event: AuditEvent | null;
  try {
    event = decodeEvent(Buffer.from(record.leaf, 'utf8'));
  } catch {
    event = null;
  }
  const severity = event === null || event.outcome === 'failure' || event.outcome === 'denied' ? 4 : 6;
  const pri = FACILITY_LOG_AUDIT * 8 + severity;
  const time = event?.time ?? '-';
  const msgid = header(event?.action ?? 'invalid', 32);
  const sd = `[${SD_ID} id="${param(record.id)}" seq="${record.seq}" outcome="${param(event?.outcome ?? 'invalid')}" actor="${param(event?.actor ?? '-')}"]`;
  return `<${pri}>1 ${time} ${header(host.hostname, 255)} keyturn ${header(String(host.pid), 128)} ${msgid} ${sd} \uFEFF${sinkLine(record)}`;
}

/** One RFC 5424 message for a signed checkpoint: MSGID `audit.checkpoint`, MSG its `checkpointLine`. */
export function formatCheckpointSyslog(checkpoint: SinkCheckpoint, host: { hostname: string; pid: number }, time: string): string {
  const pri = FACILITY_LOG_AUDIT * 8 + 6;
  const sd = `[${SD_ID} kind="checkpoint" size="${checkpoint.size}"]`;
  return `<${pri}>1 ${time} ${header(host.hostname, 255)} keyturn ${header(String(host.pid), 128)} audit.checkpoint ${sd} \uFEFF${checkpointLine(checkpoint)}`;
}

/** RFC 6587 octet-counted frame: `<byte length> <message>`. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
