/**
 * A real webhook receiver for the notification tests: a node:http server on 127.0.0.1 that keeps
 * every request (headers, raw body, parsed JSON) and checks its Keyturn-Signature exactly as
 * docs/notifications.md tells a receiver to (the snippet is repeated here on purpose, not
 * imported from src/: the test proves the docs, not the code against itself). Its answers are
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
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';

/** The docs' Node verification, as written there (docs/notifications.md, "Verifying a request"). */
export function verifyKeyturnSignature(secret: string, rawBody: string, header: string, toleranceSeconds = 300): boolean {
  const fields = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(fields.get('t'));
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

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
