/**
 * One open change stream (`GET /v1/events`), written as Server-Sent Events on the raw response:
 * it reads the audit log from the event after `after`, a page at a time, and sends each change
 * (./project.ts) under the prefix that the caller may `read` or `list`, with the stages its
 * version holds when it is sent; when it has read everything it waits for the feed (./feed.ts).
 *
 * - Each message: `id: <audit seq>`, `event: <kind>`, `data: <JSON>`; the id is what a client
 *   sends back as `Last-Event-ID` to resume right after it.
 * - Every `heartbeatMs` (default 15 s): `: heartbeat` and `id: <position>`, a message that is not
 *   dispatched but moves the client's resume point past the events it was not shown. The token is
 *   authenticated again then: a revoked or expired one ends the stream; changed policies apply.
 * - Bounded memory: at most one page is read ahead; while the socket is not writable the stream
 *   reads nothing more (the log is the buffer), so a slow client falls behind, never the server.
 * - It ends when the client goes away or the server closes (the feed ends every stream).
 *
 * @example
 * ```ts
 * await serveChanges({ request, reply, kt, feed, who, reauthenticate, prefix: 'app', after: 41, heartbeatMs: 15_000 });
 * ```
 */
import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../access/access-repo.js';
import { decodeEvent } from '../../audit/event.js';
import { pathHasPrefix } from '../../core/paths.js';
import { isKeyturnError } from '../../core/errors.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import { may } from '../auth.js';
import type { EventFeed } from './feed.js';
import { changeOf, type Change } from './project.js';

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Audit events read at a time. */
const PAGE = 200;

export interface StreamParams {
  request: FastifyRequest;
  reply: FastifyReply;
  kt: Keyturn;
  feed: EventFeed;
  who: Identity;
  /** The caller again (at each heartbeat); throws when its token no longer holds. */
  reauthenticate(): Promise<Identity>;
  /** Only paths under it ('' for every path). */
  prefix: string;
  /** The seq of the last event the client has: it gets those after it. */
  after: number;
  heartbeatMs: number;
}

/** Takes over the response and streams changes until the client goes or the server closes. */
export function serveChanges(p: StreamParams): void {
  const { request, reply, kt, feed } = p;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-store',
    'x-accel-buffering': 'no',
    'x-correlation-id': request.id,
    // The response lasts as long as the connection: when it ends, so does the connection.
    connection: 'close',
  });
  res.write('retry: 1000\n\n');
  let who = p.who;
  let cursor = p.after;
  const gone = new AbortController();
  const end = (): void => {
    if (gone.signal.aborted) return;
    gone.abort();
    clearInterval(beat);
    unregister();
    res.end();
  };
  const unregister = feed.open(end);
  res.on('close', end);
  const beat = setInterval(() => {
    if (gone.signal.aborted || res.writableNeedDrain) return;
    res.write(`: heartbeat\nid: ${cursor}\n\n`);
    p.reauthenticate().then((fresh) => {
      who = fresh;
    }, end);
  }, p.heartbeatMs);
  beat.unref();

  const visible = (c: Change): boolean => pathHasPrefix(c.path, p.prefix) && (may(who, c.path, 'read') || may(who, c.path, 'list'));

  const pump = async (): Promise<void> => {
    while (!gone.signal.aborted) {
      const g = feed.generation;
      const rows = await kt.audit.between(cursor + 1, undefined, PAGE);
      if (rows.length === 0) {
        await feed.changedSince(g, gone.signal);
        continue;
      }
      const changes: Change[] = [];
      for (const row of rows) {
        const change = changeOf(decodeEvent(Buffer.from(row.leaf, 'utf8')));
        if (change !== null && visible(change)) changes.push(change);
      }
      const stages = await stagesOf(kt, changes);
      for (const c of changes) {
        if (gone.signal.aborted) return;
        const data = {
          seq: c.seq,
          path: c.path,
          versionId: c.versionId,
          stages: c.versionId === null ? null : (stages.get(c.path)?.get(c.versionId) ?? []),
          ...(c.stage === null ? {} : { stage: c.stage }),
          runId: c.runId,
          action: c.action,
          outcome: c.outcome,
          time: c.time,
        };
        const ok = res.write(`id: ${c.seq}\nevent: ${c.kind}\ndata: ${JSON.stringify(data)}\n\n`);
        cursor = c.seq;
        if (!ok) await once(res, 'drain', { signal: gone.signal }).catch(() => undefined);
      }
      cursor = Math.max(cursor, rows[rows.length - 1]!.seq);
    }
  };
  pump().catch((e: unknown) => {
    kt.log.warn({ correlationId: request.id, code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'change stream ended by an error; the client resumes with Last-Event-ID');
    end();
  });
}

/** The stages each version named by `changes` holds now, by path and version id (no value is read). */
async function stagesOf(kt: Keyturn, changes: readonly Change[]): Promise<Map<string, Map<string, string[]>>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const c of changes) {
    if (c.versionId === null || out.has(c.path)) continue;
    // A secret deleted or purged since: its versions hold no stage a reader could use.
    const versions = await kt.store.versions(c.path).catch((e: unknown) => {
      if (isKeyturnError(e, 'KT_SECRET_NOT_FOUND') || isKeyturnError(e, 'KT_SECRET_DELETED')) return [];
      throw e;
    });
    out.set(c.path, new Map(versions.map((v) => [v.id, [...v.stages]])));
  }
  return out;
}
