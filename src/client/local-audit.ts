/**
 * The audit group of the client over an open home: what `keyturn audit tail|export|verify|
 * checkpoint|prove|pubkey` do on the local log, written once (./remote-audit.ts does the same
 * through the server's /v1/audit routes).
 *
 * @example
 * ```ts
 * const { events, next } = await localAudit(kt).latest(20);
 * const later = await localAudit(kt).from(next, 1000);
 * ```
 */
import { decodeEvent } from '../audit/event.js';
import type { LeafRow } from '../audit/repo.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { AuditClient, AuditEventView } from './client.js';

const HOUR_MS = 3_600_000;

/** A stored event as the client shows it (as `GET /v1/audit/events` and the audit sinks do). */
export function eventView(row: Pick<LeafRow, 'id' | 'seq' | 'leaf'>): AuditEventView {
  try {
    return { id: row.id, ...decodeEvent(Buffer.from(row.leaf, 'utf8')) };
  } catch {
    return { id: row.id, seq: row.seq, invalid: true };
  }
}

export function localAudit(kt: Keyturn): AuditClient {
  const { audit } = kt;
  return {
    latest: async (limit) => {
      const rows = limit === 0 ? [] : await audit.tail(limit);
      const last = rows[rows.length - 1];
      return { events: rows.map(eventView), next: last === undefined ? (await audit.head()).size : last.seq + 1 };
    },
    from: async (seq, limit) => {
      const rows = await audit.between(seq, undefined, limit);
      const last = rows[rows.length - 1];
      return { events: rows.map(eventView), next: last === undefined ? seq : last.seq + 1 };
    },
    export: async (range, file) => {
      const { writeExport } = await import('../audit/export.js');
      let from = 0;
      if ('from' in range) from = range.from;
      else if (!('all' in range)) {
        const since = 'since' in range ? range.since : kt.clock.now() - range.hours * HOUR_MS;
        from = (await audit.firstSeqSince(since)) ?? (await audit.head()).size;
      }
      const summary = await writeExport(audit, { from }, file);
      // Recorded after the fact and best effort: a damaged log must still be exportable for forensics.
      await audit.append({ action: 'audit.export', outcome: 'success' }).catch((e: unknown) => kt.log.warn({ code: (e as { code?: string }).code }, 'the export was not recorded in the audit log'));
      return summary;
    },
    verify: async (options) => {
      const [{ verifyStoredLog }, { readOutsideCheckpoints }] = await Promise.all([import('../audit/stored-verify.js'), import('../audit/sinks/outside-checkpoints.js')]);
      const outside = await readOutsideCheckpoints(kt.settings.audit, options.trusted?.file);
      const r = await verifyStoredLog(audit, {
        ...(options.verifierKey === undefined ? {} : { verifierKey: options.verifierKey }),
        ...(options.trusted === undefined ? {} : { trusted: options.trusted.note }),
        outside: outside.checkpoints,
      });
      return {
        source: kt.state.location,
        ok: r.ok,
        size: r.size,
        verifiedSize: r.verifiedSize,
        validCheckpoints: r.validCheckpoints,
        latest: r.latest === null ? null : { size: r.latest.size, root: r.latest.root.toString('base64') },
        verifierKey: r.verifierKey,
        problems: [...r.problems],
        latestNote: r.latestNote,
        outside: outside.report,
      };
    },
    checkpoint: async () => {
      const cp = await audit.checkpoint();
      return { size: cp.size, root: cp.root, createdAt: new Date(Number(cp.created_at)).toISOString(), note: cp.note };
    },
    prove: async (event) => {
      const { proveEvent } = await import('../audit/prove.js');
      const { row, proof, checkpoint } = await proveEvent(audit, event);
      return { id: row.id, seq: row.seq, leaf: row.leaf, leafHash: row.leaf_hash, checkpointSize: checkpoint.size, proof };
    },
    verifierKey: async () => ({ verifierKey: audit.verifierKey, origin: audit.origin }),
  };
}
