/**
 * HTTP metrics: the duration of every response by method, route and status code. The route is
 * fastify's pattern (`/v1/secrets/*`), never the URL: a URL holds secret paths and anything a
 * caller types, which would make unbounded series (and publish paths). A request that matched no
 * route (a 404, a URL fastify could not parse) is `unmatched`.
 *
 * @example
 * ```ts
 * const observe = httpMetrics(registry);
 * app.addHook('onResponse', async (request, reply) => observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000));
 * ```
 */
import { Histogram, type Registry } from 'prom-client';

export type HttpObserve = (method: string, route: string | undefined, status: number, seconds: number) => void;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function httpMetrics(registry: Registry): HttpObserve {
  const duration = new Histogram({
    name: 'keyturn_http_request_duration_seconds',
    help: 'Duration of HTTP requests, by method, route pattern (unmatched when none) and status code',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // The labelled child per method, status and route, kept: prom-client hashes the labels on every `labels()`.
  // Bounded: methods are a fixed set, routes the mounted patterns, statuses the few the API answers.
  const children = new Map<string, { observe(v: number): void }>();
  return (method, route, status, seconds) => {
    // A method fastify does not route is a caller's word: one label value for all of them.
    const m = METHODS.has(method) ? method : 'OTHER';
    const r = route ?? 'unmatched';
    const key = `${m} ${status} ${r}`;
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = duration.labels(m, r, String(status))));
    child.observe(seconds);
  };
}
