/**
 * The long-running agent: keeps a change stream (`GET /v1/events`) open to one of its servers
 * and re-renders a template when an event names its secret. Nothing is missed: on every
 * (re)connection it renders every template once, after the stream is open; it keeps the last
 * event id and sends it back as `Last-Event-ID`. When the stream cannot be opened or breaks,
 * it waits (exponential backoff with full jitter, ./backoff.ts) and tries the next server of
 * the list. The token file is read again when it changes (./token.ts), so at least on every
 * reconnection, and after a 401. It returns when `signal` aborts.
 *
 * Events for other secrets, duplicate events and heartbeats never run a command: an event only
 * makes its templates render again, and a render that finds the file already holding the same
 * bytes is not a change (./render.ts).
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * await watchAgent({ set, servers, log, signal: stop.signal, backoff: backoff({ baseMs: 500, maxMs: 30_000, random: Math.random }) });
 * ```
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TemplateSet } from './agent.js';
import type { Backoff } from './backoff.js';
import type { AgentServers } from './servers.js';
import { SseParser } from './sse-parser.js';

export interface WatchOptions {
  readonly set: TemplateSet;
  readonly servers: AgentServers;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly backoff: Backoff;
  /** Told when the stream opens (true) or closes (false), for the health endpoint. */
  readonly onConnected?: (connected: boolean, server: string) => void;
}

export async function watchAgent(o: WatchOptions): Promise<void> {
  let lastEventId = '';
  while (!o.signal.aborted) {
    const server = o.servers.current;
    const connection = new AbortController();
    const stop = (): void => connection.abort();
    o.signal.addEventListener('abort', stop, { once: true });
    try {
      const body = await o.servers.events(lastEventId, connection.signal);
      o.backoff.reset();
      o.onConnected?.(true, server);
      o.log.info({ server, lastEventId: lastEventId === '' ? null : lastEventId }, 'agent: change stream open');
      const parser = new SseParser((m) => {
        let path: unknown;
        try {
          path = (JSON.parse(m.data) as { path?: unknown }).path;
        } catch {
          return;
        }
        if (typeof path === 'string' && o.set.renderSecret(path)) o.log.debug({ server, event: m.event, id: m.id, path }, 'agent: change event');
      }, lastEventId);
      // After the stream is open: whatever changed before it is read now, what changes after comes as an event.
      void o.set.renderAll();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of body) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          lastEventId = parser.lastEventId;
        }
      } finally {
        lastEventId = parser.lastEventId;
      }
      if (!o.signal.aborted) o.log.warn({ server }, 'agent: the change stream ended; reconnecting');
    } catch (e) {
      if (o.signal.aborted) break;
      const code = isKeyturnError(e) ? e.code : ((e as { name?: string }).name ?? 'error');
      // A Last-Event-ID this server's log does not have (another database, a restore): start afresh; the render on connect covers the gap.
      if (isKeyturnError(e, 'KT_USAGE')) lastEventId = '';
      o.log.warn({ server, code, message: isKeyturnError(e) ? e.message : undefined }, 'agent: change stream unavailable; trying the next server');
    } finally {
      o.signal.removeEventListener('abort', stop);
      connection.abort();
      o.onConnected?.(false, server);
    }
    if (o.signal.aborted) break;
    o.servers.advance();
    await sleep(o.backoff.next(), undefined, { signal: o.signal }).catch(() => undefined);
  }
}
