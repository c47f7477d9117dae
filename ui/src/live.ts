/**
 * The change stream (`GET /v1/events`, Server-Sent Events) read with fetch, so the token goes in
 * the Authorization header (EventSource cannot send one). One stream for the whole page; each
 * subscriber gets every change (path, kind, run id), and refetches what it shows. It reconnects
 * after a drop with `Last-Event-ID`, so nothing is missed; there is no polling anywhere.
 *
 * @example
 * ```ts
 * const off = onChange((c) => { if (c.path === path) reload(); });
 * ```
 */
import { token } from './api.js';

export interface Change {
  seq: number;
  /** The SSE event name: version, stage, delete, restore, purge or rotation. */
  kind: string;
  action: string;
  path: string;
  versionId: string | null;
  stage?: string;
  stages: string[] | null;
  runId: string | null;
  outcome: string;
  time: string;
}

type Listener = (c: Change) => void;
const listeners = new Set<Listener>();
let started: AbortController | null = null;
let lastId: string | null = null;
let connected = false;
const stateListeners = new Set<(up: boolean) => void>();

function setConnected(up: boolean): void {
  connected = up;
  for (const l of stateListeners) l(up);
}

async function run(abort: AbortController): Promise<void> {
  while (!abort.signal.aborted) {
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${token.get() ?? ''}`, accept: 'text/event-stream' };
      if (lastId !== null) headers['last-event-id'] = lastId;
      const r = await fetch('/v1/events', { headers, signal: abort.signal });
      if (!r.ok || !r.body) throw new Error(`stream ${r.status}`);
      setConnected(true);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let data = '';
          let kind = 'message';
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) lastId = line.slice(3).trim();
            else if (line.startsWith('event:')) kind = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data !== '') {
            const change = { ...(JSON.parse(data) as Omit<Change, 'kind'>), kind };
            for (const l of listeners) l(change);
          }
        }
      }
    } catch {
      if (abort.signal.aborted) return;
    }
    setConnected(false);
    // The server asks for a 1 s retry; wait it out before reconnecting.
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** Subscribes to every change the caller may see; returns the unsubscribe. */
export function onChange(l: Listener): () => void {
  listeners.add(l);
  if (started === null) {
    started = new AbortController();
    void run(started);
  }
  return () => listeners.delete(l);
}

/** Whether the stream is open now, and changes of it. */
export function onStreamState(l: (up: boolean) => void): () => void {
  stateListeners.add(l);
  l(connected);
  return () => stateListeners.delete(l);
}

/** Ends the stream (logout). */
export function stopStream(): void {
  started?.abort();
  started = null;
  lastId = null;
  setConnected(false);
}
