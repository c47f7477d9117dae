/**
 * `GET /metrics`: the server's metrics in the Prometheus text format (src/metrics/). Who may scrape
 * is the operator's choice (`keyturn server --metrics`): `open` (the default, what Prometheus
 * expects: no token), `loopback` (only a caller on this host, by the connection's address; a proxy
 * on the same host makes every caller local), `token` (a bearer token whose policies allow `audit`
 * on the path `metrics`), or `off` (not mounted). The output holds no value; secret paths appear
 * only as labels of `keyturn_secret_age_seconds` and `keyturn_agent_deliveries_missing` (see
 * docs/operations.md).
 *
 * @example
 * ```ts
 * mountRoutes(app, metricsRoutes('token'), deps);
 * // GET /metrics   Authorization: Bearer kt_...
 * ```
 */
import { z } from 'zod';
import { KeyturnError } from '../../core/errors.js';
import { allow } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

export const METRICS_ACCESS = ['open', 'loopback', 'token', 'off'] as const;
export type MetricsAccess = (typeof METRICS_ACCESS)[number];

/** The path a token's policies must allow `audit` on to scrape with `--metrics token`. */
export const METRICS_PATH = 'metrics';

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function metricsRoutes(access: MetricsAccess): AnyRoute[] {
  if (access === 'off') return [];
  return [
    defineRoute({
      method: 'GET',
      url: '/metrics',
      tag: 'meta',
      summary: `Metrics in the Prometheus text format (${access === 'token' ? `a token allowed audit on ${METRICS_PATH}` : access === 'loopback' ? 'callers on this host only' : 'no token'})`,
      auth: access === 'token',
      produces: 'text/plain; version=0.0.4',
      response: z.string(),
      handler: async ({ request, reply, deps, who }) => {
        if (access === 'loopback' && !isLoopback(request.socket.remoteAddress)) throw new KeyturnError('KT_METRICS_LOOPBACK_ONLY', `/metrics is served only to callers on this host`);
        if (access === 'token') allow(who, METRICS_PATH, 'audit');
        if (deps.metrics === null) throw new KeyturnError('KT_API_ROUTE_NOT_FOUND', 'no route GET /metrics: metrics are off');
        void reply.type(deps.metrics.contentType);
        return deps.metrics.scrape();
      },
    }),
  ];
}
