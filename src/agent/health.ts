/**
 * The agent's health endpoint (`health: HOST:PORT` in agent.yaml): `GET /` (or any path) answers
 * 200 `{"status":"ok", ...}` when the agent is healthy and 503 otherwise, `"status":"stale"`
 * (with `"code":"KT_AGENT_CACHE_STALE"`) or `"status":"unavailable"`, with a `reason`, the
 * connection and each template's state (paths, versions, times, error codes; never a value).
 *
 * Healthy ("fresh") means every template has been rendered successfully (from a server, or from
 * the cache while no server answers), and every template's secret was confirmed by a server less
 * than `cacheTtl` ago (./cache.ts: a secret read on the open change stream stays confirmed while
 * it is open). Stale: no server connected and a secret held longer than that without a
 * confirmation: the agent fails closed (the local read API refuses too; the files stay as they
 * are). A command that failed does not make the agent unhealthy (the file is current); its error
 * is shown.
 *
 * @example
 * ```ts
 * const h = await serveHealth('127.0.0.1:8788', () => agentHealth(set.results(), state, ttl, cache));
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

/** What the health endpoint needs of the cache (./cache.ts). */
export interface Freshness {
  /** Whether a server confirmed the version held of `path` less than cacheTtl ago. */
  fresh(path: string): boolean;
  /** When a server last confirmed it, or null when none is held. */
  confirmedAt(path: string): number | null;
  readonly lastContactAt: number | null;
  /** Why the cache is not written to disk, or null. */
  readonly problem: string | null;
}

/** Whether the agent is fresh, and the body to answer with. */
export function agentHealth(results: readonly TemplateResult[], connection: Connection, cacheTtlMs: number, cache: Freshness): HealthReport {
  const failed = results.find((r) => r.renderedAt === null || !fileIsCurrent(r.error));
  const old = results.filter((r) => !cache.fresh(r.secret));
  const ok = failed === undefined && old.length === 0;
  const stale = !ok && !connection.connected && old.some((r) => cache.confirmedAt(r.secret) !== null);
  const ttl = `${cacheTtlMs / 1000} s`;
  const reason = ok
    ? null
    : stale
      ? `no server has confirmed ${old.map((r) => r.secret).join(', ')} for longer than cacheTtl (${ttl}): the agent fails closed (the local read API refuses; the rendered files stay as they are) until a server answers again`
      : failed !== undefined
        ? failed.error !== null
          ? `${failed.secret}: ${failed.error.code}`
          : `${failed.secret} is not rendered yet`
        : `no server has confirmed ${old.map((r) => r.secret).join(', ')} within cacheTtl (${ttl})`;
  const lastContact = cache.lastContactAt;
  return {
    ok,
    body: {
      status: ok ? 'ok' : stale ? 'stale' : 'unavailable',
      ...(ok ? {} : { reason }),
      ...(stale ? { code: 'KT_AGENT_CACHE_STALE' } : {}),
      connected: connection.connected,
      server: connection.server,
      lastContact: lastContact === null ? null : iso(lastContact),
      cacheTtlMs,
      cacheOnDisk: cache.problem === null,
      ...(cache.problem === null ? {} : { cacheProblem: cache.problem }),
      templates: results.map((r) => {
        const confirmedAt = cache.confirmedAt(r.secret);
        return {
          secret: r.secret,
          destination: r.destination,
          version: r.version,
          renderedAt: r.renderedAt === null ? null : iso(r.renderedAt),
          confirmedAt: confirmedAt === null ? null : iso(confirmedAt),
          error: r.error === null ? null : r.error.code,
        };
      }),
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
