/**
 * The audit group of the client over a server's /v1/audit routes, giving back what
 * ./local-audit.ts gives on a home, so `keyturn audit tail|export|verify|checkpoint|prove|pubkey`
 * print the same either way:
 *
 * - latest/from: `GET /v1/audit/events` (`?limit=N`, or `?after=SEQ-1&limit=N` to follow); more
 *   than 1000 latest events are read forward, 1000 at a time, from `size - N`. The server shows a
 *   token only the events about paths it may `audit` (all of them with `audit` on `**`).
 * - export: `GET /v1/audit/export`, streamed into the file (mode 0600), counted as it comes; a
 *   file left half-written by a broken answer is removed.
 * - verify: `GET /v1/audit/verify` (`?pubkey=`, `?trusted=` the checkpoint's note text).
 * - checkpoint: `POST /v1/audit/checkpoint`; prove: `GET /v1/audit/proof/:event`; the verifier
 *   key: `GET /v1/audit/checkpoint`.
 *
 * @example
 * ```ts
 * const audit = remoteAudit(connectServer(settings.remote!));
 * const { events, next } = await audit.latest(20);
 * ```
 */
import { open, rm } from 'node:fs/promises';
import type { ExportCounts } from '../audit/export.js';
import type { OutsideReport } from '../audit/sinks/outside-checkpoints.js';
import { KeyturnError } from '../core/errors.js';
import type { AuditProblem } from '../audit/problem.js';
import type { AuditClient, AuditEventView, AuditPage } from './client.js';
import { query, type Json, type ServerConnection } from './http.js';

/** The most events one request returns. */
const PAGE = 1000;

function pageOf(j: Json): AuditPage {
  return { events: j.events as AuditEventView[], next: j.next as number };
}

/** Counts the lines of an export as `writeExport` counts them: the header's first seq, events, checkpoints and the covering size. */
function countLine(line: string, counts: ExportCounts, addr: string, isFirst: boolean): void {
  if (isFirst) {
    let header: Json | null;
    try {
      header = JSON.parse(line) as Json;
    } catch {
      header = null;
    }
    if (header === null || header.type !== 'header' || typeof header.first !== 'number') throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered an export without its header line`);
    counts.first = header.first;
  } else if (line.startsWith('{"type":"event"')) counts.events += 1;
  else if (line.startsWith('{"type":"checkpoint"')) {
    counts.checkpoints += 1;
    counts.checkpointSize = Math.max(counts.checkpointSize, (JSON.parse(line) as { size: number }).size);
  }
}

export function remoteAudit(server: ServerConnection): AuditClient {
  const { addr, call } = server;
  const from = async (seq: number, limit: number): Promise<AuditPage> => pageOf(await call('GET', `/v1/audit/events${query({ after: seq - 1, limit: Math.min(limit, PAGE) })}`));
  return {
    latest: async (limit) => {
      const page = pageOf(await call('GET', `/v1/audit/events${query({ limit: Math.max(1, Math.min(limit, PAGE)) })}`));
      if (limit <= PAGE) return limit === 0 ? { events: [], next: page.next } : page;
      const size = page.next;
      const events: AuditEventView[] = [];
      for (let seq = Math.max(0, size - limit); seq < size;) {
        const p = await from(seq, PAGE);
        events.push(...p.events.filter((e) => e.seq < size));
        if (p.next <= seq) break;
        seq = p.next;
      }
      return { events, next: size };
    },
    from,
    export: async (range, file) => {
      const q = 'from' in range ? { from: range.from } : 'since' in range ? { since: new Date(range.since).toISOString() } : 'hours' in range ? { hours: range.hours } : { all: 'true' };
      const chunks = await server.stream(`/v1/audit/export${query(q)}`);
      const counts: ExportCounts = { first: 0, events: 0, checkpoints: 0, checkpointSize: 0 };
      const handle = await open(file, 'w', 0o600);
      const decoder = new TextDecoder();
      let rest = '';
      let lines = 0;
      try {
        for await (const chunk of chunks) {
          await handle.write(chunk);
          const parts = (rest + decoder.decode(chunk, { stream: true })).split('\n');
          rest = parts.pop() as string;
          for (const line of parts) countLine(line, counts, addr, lines++ === 0);
        }
        if (lines === 0 || rest !== '') throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered an export that does not end with a whole line`);
        await handle.sync();
      } catch (e) {
        await handle.close();
        await rm(file, { force: true });
        throw e;
      }
      await handle.close();
      return { file, ...counts };
    },
    verify: async (options) => {
      const j = await call('GET', `/v1/audit/verify${query({ pubkey: options.verifierKey, trusted: options.trusted?.note })}`);
      const outside = j.outside as OutsideReport;
      return {
        source: addr,
        ok: j.ok as boolean,
        size: j.size as number,
        verifiedSize: j.verifiedSize as number,
        validCheckpoints: j.validCheckpoints as number,
        latest: j.latest as { size: number; root: string } | null,
        verifierKey: j.verifierKey as string,
        problems: j.problems as AuditProblem[],
        latestNote: (j.latestNote as string | null | undefined) ?? null,
        // The server knows the checkpoint as a query parameter; the report names the file it came from.
        outside: options.trusted === undefined ? outside : { ...outside, trusted: options.trusted.file },
      };
    },
    checkpoint: async () => {
      const j = await call('POST', '/v1/audit/checkpoint');
      return { size: j.size as number, root: j.root as string, createdAt: j.createdAt as string, note: j.note as string };
    },
    prove: async (event) => {
      const j = await call('GET', `/v1/audit/proof/${encodeURIComponent(event)}`);
      return { id: j.id as string, seq: j.seq as number, leaf: j.leaf as string, leafHash: j.leafHash as string, checkpointSize: j.checkpointSize as number, proof: j.proof as string };
    },
    verifierKey: async () => {
      const j = await call('GET', '/v1/audit/checkpoint');
      return { verifierKey: j.verifierKey as string, origin: j.origin as string };
    },
  };
}
