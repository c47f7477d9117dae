/**
 * The agent's health endpoint (`health: HOST:PORT` in agent.yaml): `GET /` (or any path) answers
 * 200 `{"status":"ok", ...}` when the agent is healthy and 503 `{"status":"unavailable", ...}`
 * otherwise, with the connection and each template's state (paths, versions, times, error
 * codes; never a value).
 *
 * Healthy ("fresh") means every template has been rendered successfully, and either the change
 * stream is open (a change would arrive) or the last successful render of every template is
 * younger than `cacheTtl` (the files were current that recently). A command that failed does not
 * make the agent unhealthy (the file is current); its error is shown.
 *
 * @example
 * ```ts
 * const h = await serveHealth('127.0.0.1:8788', () => agentHealth(set.results(), state, clock.now(), ttl));
 * await h.close();
 * ```
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { iso } from '../core/clock.js';
import { fileIsCurrent, type TemplateResult } from './agent.js';

export interface Connection {
  connected: boolean;
  server: string | null;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly body: Record<string, unknown>;
}

/** Whether the agent is fresh, and the body to answer with. */
export function agentHealth(results: readonly TemplateResult[], connection: Connection, now: number, cacheTtlMs: number): HealthReport {
  const rendered = results.every((r) => r.renderedAt !== null && fileIsCurrent(r.error));
  const recent = results.every((r) => r.renderedAt !== null && now - r.renderedAt < cacheTtlMs);
  const ok = rendered && (connection.connected || recent);
  return {
    ok,
    body: {
      status: ok ? 'ok' : 'unavailable',
      connected: connection.connected,
      server: connection.server,
      templates: results.map((r) => ({
        secret: r.secret,
        destination: r.destination,
        version: r.version,
        renderedAt: r.renderedAt === null ? null : iso(r.renderedAt),
        error: r.error === null ? null : r.error.code,
      })),
    },
  };
}

export interface HealthServer {
  /** `HOST:PORT` it listens on (the port chosen when 0 was given). */
  readonly address: string;
  close(): Promise<void>;
}

export async function serveHealth(listen: string, report: () => HealthReport): Promise<HealthServer> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  const server: Server = createServer((req, res) => {
    const r = report();
    res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(r.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
