/**
 * A real webhook receiver for the notification tests: a node:http server on 127.0.0.1 that keeps
 * every request (headers, raw body, parsed JSON) and checks its Keyturn-Signature with the Node
 * snippet of docs/notifications.md, read from the docs and run as written (not src/notify/sign.ts:
 * the tests prove the docs, not the code against itself). Its answers are
 * programmable: a queue of statuses (then 204), or hanging without an answer. `waitFor` waits
 * for a condition on what arrived, with a generous overall limit (never a fixed sleep).
 *
 * @example
 * ```ts
 * const hook = await webhookReceiver({ secret: 'whsec_test' });
 * hook.answer(500);                          // the first request gets a 500, later ones 204
 * await hook.waitFor((r) => r.length >= 2);
 * expect(hook.received[1]!.verified).toBe(true);
 * await hook.close();
 * ```
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';

const DOCS = new URL('../../docs/notifications.md', import.meta.url);

/** The fenced code block of docs/notifications.md that follows the line starting with `after`. */
export function docsSnippet(after: string): string {
  const text = readFileSync(DOCS, 'utf8');
  const start = text.indexOf(`\n${after}`);
  if (start < 0) throw new Error(`docs/notifications.md has no line starting with "${after}"`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(start));
  if (!m) throw new Error(`docs/notifications.md has no code block after "${after}"`);
  return m[1]!;
}

/**
 * The Node verification exactly as docs/notifications.md writes it ("Verifying a request"): the
 * snippet is read from the docs and run, its one import given as the real node:crypto functions.
 */
export const verifyKeyturnSignature = ((): ((secret: string, rawBody: string, header: string) => boolean) => {
  const code = docsSnippet('Node (any framework');
  const body = code.replace(/^import \{ createHmac, timingSafeEqual \} from 'node:crypto';\n/, '');
  if (body === code) throw new Error('the docs snippet no longer starts with the node:crypto import this helper provides');
  return new Function('createHmac', 'timingSafeEqual', 'Buffer', `${body}\nreturn verifyKeyturnSignature;`)(createHmac, timingSafeEqual, Buffer) as (
    secret: string,
    rawBody: string,
    header: string,
  ) => boolean;
})();

export interface Received {
  /** The request's path (and query). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: Record<string, unknown>;
  /** The signature checked with the receiver's secret; null when it has none or the request carries none. */
  readonly verified: boolean | null;
  /** The status it was answered with (null: it was left hanging). */
  readonly answered: number | null;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** The next requests get these statuses, in order; after them, 204. */
  answer(...statuses: number[]): void;
  /** While on, requests are kept open without an answer (until the server closes or the client gives up). */
  hang(on: boolean): void;
  waitFor(condition: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function webhookReceiver(options: { secret?: string; path?: string; port?: number } = {}): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const queue: number[] = [];
  let hanging = false;
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['keyturn-signature'];
      const verified = options.secret === undefined || typeof header !== 'string' ? null : verifyKeyturnSignature(options.secret, body, header);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // kept as text
      }
      if (hanging) {
        received.push({ path: req.url ?? '', headers: req.headers, body, json, verified, answered: null });
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      const status = queue.shift() ?? 204;
      received.push({ path: req.url ?? '', headers: req.headers, body, json, verified, answered: status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'receiver says no (a body the sender must not store)' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? '/hook'}`,
    port,
    received,
    answer: (...statuses) => queue.push(...statuses),
    hang: (on) => {
      hanging = on;
    },
    waitFor: (condition, timeoutMs = 60_000) =>
      vi.waitFor(
        () => {
          if (!condition(received)) throw new Error(`the receiver has ${received.length} request(s); still waiting`);
        },
        { timeout: timeoutMs, interval: 25 },
      ),
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * keyturn.yaml for a secret whose rotation fails at once (the notification tests' failure): a
 * PostgreSQL target on a closed port, one attempt, and `channels` (YAML indented under
 * `notifications.channels:`); `secrets` are more secret blocks (indented two spaces).
 */
export function failingConfig(o: { password: string; channels: string; secrets?: string }): string {
  return `version: 1
targets:
  dead-pg: { type: postgres, host: 127.0.0.1, port: 1, database: app }
secrets:
  db/dead:
    type: database-credential
    target: dead-pg
    rotation: { attempts: 1 }
    initial: { username: app, password: "${o.password}" }
${o.secrets ?? ''}notifications:
  channels:
${o.channels}`;
}
