/**
 * A Server-Sent Events client for the tests: fetch, then the WHATWG event-stream parser (an
 * event is dispatched at a blank line when it has data; its `id:` sets the last event id even
 * when it has none; `:` lines are comments), keeping everything received for assertions. Each
 * stream has a connection pool of its own, destroyed by `close()`: the shared one of the global
 * fetch would open a new connection when the aborted one closes, and an idle connection that never
 * sent a request holds a closing server open.
 *
 * @example
 * ```ts
 * const s = await sse(`${base}/v1/events`, token);
 * const e = await s.waitFor((e) => e.event === 'version');
 * s.close();
 * ```
 */
import { Agent, fetch } from 'undici';
import { expect, vi } from 'vitest';

export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  /** Dispatched events, in order. */
  events: SseEvent[];
  comments: string[];
  /** The last event id, as an EventSource would send back in Last-Event-ID. */
  lastId(): string;
  /** Everything received, as text. */
  raw(): string;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  /** Waits (bounded) for the first event from `from` on that matches. */
  waitFor(match: (e: SseEvent) => boolean, from?: number): Promise<SseEvent>;
  close(): void;
}

export async function sse(url: string, token: string, lastEventId?: string): Promise<SseStream> {
  const abort = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  const dispatcher = new Agent();
  const res = await fetch(url, { headers, signal: abort.signal, dispatcher });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let raw = '';
  let lastId = '';
  let buffer = '';
  let data: string[] = [];
  let type = '';
  let idBuffer = '';
  const line = (l: string): void => {
    if (l === '') {
      lastId = idBuffer;
      if (data.length > 0) events.push({ id: lastId, event: type === '' ? 'message' : type, data: data.join('\n') });
      data = [];
      type = '';
      return;
    }
    if (l.startsWith(':')) {
      comments.push(l.slice(1).trim());
      return;
    }
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id') idBuffer = value;
  };
  const ended = (async () => {
    if (res.body === null) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        raw += text;
        buffer += text;
        let i: number;
        while ((i = buffer.indexOf('\n')) >= 0) {
          line(buffer.slice(0, i).replace(/\r$/, ''));
          buffer = buffer.slice(i + 1);
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    status: res.status,
    events,
    comments,
    lastId: () => lastId,
    raw: () => raw,
    ended,
    waitFor: async (match, from = 0) => {
      let found: SseEvent | undefined;
      await vi.waitFor(
        () => {
          found = events.slice(from).find(match);
          expect(found, `no matching event among ${JSON.stringify(events.slice(from))}`).toBeDefined();
        },
        { timeout: 10_000, interval: 10 },
      );
      return found!;
    },
    close: () => {
      abort.abort();
      void dispatcher.destroy();
    },
  };
}
