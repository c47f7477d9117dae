/**
 * A local Kubernetes API server for tests: HTTPS on 127.0.0.1 (a self-signed certificate, ./tls.ts) speaking the real REST API
 * (JSON) that @kubernetes/client-node sends, for core/v1 Namespaces and Secrets and apps/v1
 * Deployments and StatefulSets (see ./README.md). It checks the bearer token (401 Unauthorized
 * Status otherwise; `forbiddenTokens` authenticate but get 403), and has fault switches:
 * throttling (429 with Retry-After), a Status for the next matching requests (a 409 Conflict
 * on the next Secret write, a 500, ...), and the rollout controller's mode.
 *
 * @example
 * ```ts
 * const k8s = await startKubernetesServer({ namespaces: ['apps'] });
 * await writeFile(kubeconfigPath, k8s.kubeconfig({ namespace: 'apps' }));
 * k8s.faults.failNext({ status: 409, resource: 'secrets', methods: ['PUT', 'PATCH'] });
 * await k8s.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Cluster, RESOURCES, type JsonObject, type Resource, type RolloutMode } from './cluster.js';
import type { Json } from './patch.js';
import { ApiFailure, badRequest, conflict, failure, type StatusBody } from './status.js';
import { serverIdentity } from './tls.js';

export type { Resource, RolloutMode } from './cluster.js';

export interface KubernetesServerOptions {
  /** Time for creationTimestamp (default the system clock). */
  clock?: { now(): number };
  /** The bearer token every request must carry (default: random). */
  token?: string;
  /** Tokens that authenticate but may do nothing (403 Forbidden). */
  forbiddenTokens?: string[];
  /** Namespaces that exist from the start (default: `default`). */
  namespaces?: string[];
  /** The simulated rollout controller (default: instant). */
  rollout?: RolloutMode;
}

/** A request as the server saw it (for assertions: methods, paths, patch types). */
export interface SeenRequest {
  method: string;
  path: string;
  query: string;
  contentType: string | null;
  status: number;
}

interface FaultRule {
  count: number;
  status: number;
  reason: string;
  message: string;
  methods: string[] | null;
  resource: string | null;
  retryAfter: number | null;
}

export interface KubernetesServer {
  /** `https://127.0.0.1:PORT`, the cluster's server URL. */
  readonly url: string;
  /** The server's certificate (PEM): the CA a client must trust. */
  readonly ca: string;
  readonly token: string;
  readonly cluster: Cluster;
  /** Every request so far. */
  readonly requests: SeenRequest[];
  readonly faults: {
    /** The next `count` requests get 429 TooManyRequests with `Retry-After: retryAfterSeconds`. */
    throttle(count: number, retryAfterSeconds?: number): void;
    /** The next `count` requests matching `methods`/`resource` get this Status (409 defaults to a Conflict). */
    failNext(rule: { status: number; count?: number; reason?: string; message?: string; methods?: string[]; resource?: Resource | 'namespaces' }): void;
    /** Drops every pending fault. */
    clear(): void;
  };
  /** A kubeconfig (YAML) for this server: one cluster, user and context (`keyturn-test`). */
  kubeconfig(options?: { namespace?: string; token?: string; context?: string }): string;
  close(): Promise<void>;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

async function readBody(req: IncomingMessage): Promise<Json | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new ApiFailure(badRequest('the request body is not valid JSON'));
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-cache, private', ...headers });
  res.end(text);
}

/** The URL's parts: `/api/v1/namespaces/NS/secrets/NAME` or `/apis/apps/v1/namespaces/NS/deployments/NAME`. */
function route(path: string): { resource: Resource | 'namespaces'; namespace: string | null; name: string | null } | null {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let rest: string[];
  let group: 'core' | 'apps';
  if (parts[0] === 'api' && parts[1] === 'v1') {
    rest = parts.slice(2);
    group = 'core';
  } else if (parts[0] === 'apis' && parts[1] === 'apps' && parts[2] === 'v1') {
    rest = parts.slice(3);
    group = 'apps';
  } else return null;
  if (rest[0] !== 'namespaces') return null;
  if (rest.length <= 2) return group === 'core' ? { resource: 'namespaces', namespace: null, name: rest[1] ?? null } : null;
  const resource = rest[2]!;
  const known = group === 'core' ? resource === 'secrets' : resource === 'deployments' || resource === 'statefulsets';
  if (!known || rest.length > 4) return null;
  return { resource: resource as Resource, namespace: rest[1]!, name: rest[3] ?? null };
}

/**
 * Starts the server on an ephemeral port.
 *
 * @example
 * ```ts
 * const k8s = await startKubernetesServer({ rollout: { mode: 'manual' } });
 * ```
 */
export async function startKubernetesServer(options: KubernetesServerOptions = {}): Promise<KubernetesServer> {
  const token = options.token ?? `kt-test-${randomBytes(12).toString('hex')}`;
  const forbidden = new Set(options.forbiddenTokens ?? []);
  const cluster = new Cluster(options.clock ?? { now: () => Date.now() }, options.rollout ?? { mode: 'instant' });
  for (const ns of options.namespaces ?? ['default']) cluster.addNamespace(ns);
  const requests: SeenRequest[] = [];
  let rules: FaultRule[] = [];

  function takeFault(method: string, resource: string | null): FaultRule | null {
    const rule = rules.find((r) => r.count > 0 && (r.methods === null || r.methods.includes(method)) && (r.resource === null || r.resource === resource));
    if (!rule) return null;
    rule.count -= 1;
    rules = rules.filter((r) => r.count > 0);
    return rule;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const auth = req.headers.authorization ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : null;
    if (presented === null || (presented !== token && !forbidden.has(presented))) throw new ApiFailure(failure(401, 'Unauthorized', 'Unauthorized'));
    if (url.pathname === '/version' && method === 'GET') {
      send(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-keyturn-local', platform: 'linux/amd64' });
      return;
    }
    const r = route(url.pathname);
    if (!r) throw new ApiFailure(failure(404, 'NotFound', 'the server could not find the requested resource'));
    const fault = takeFault(method, r.resource);
    if (fault) {
      const body = fault.status === 409 && fault.reason === 'Conflict' && r.name !== null ? conflict(r.resource, r.name) : failure(fault.status, fault.reason, fault.message);
      throw new ApiFailure(body, fault.retryAfter === null ? {} : { 'retry-after': String(fault.retryAfter) });
    }
    if (forbidden.has(presented)) {
      const verb = { GET: r.name === null ? 'list' : 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method.toLowerCase();
      const group = r.resource === 'deployments' || r.resource === 'statefulsets' ? 'apps' : '';
      const where = r.namespace === null ? 'at the cluster scope' : `in the namespace "${r.namespace}"`;
      throw new ApiFailure(
        failure(
          403,
          'Forbidden',
          `${r.resource}${r.name ? ` "${r.name}"` : ''} is forbidden: User "system:serviceaccount:default:limited" cannot ${verb} resource "${r.resource}" in API group "${group}" ${where}`,
          {
            ...(r.name ? { name: r.name } : {}),
            kind: r.resource,
          },
        ),
      );
    }
    if (r.resource === 'namespaces') {
      if (method === 'GET' && r.name === null)
        return send(res, 200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: cluster.currentRevision() }, items: cluster.namespaceList() });
      if (method === 'GET') return send(res, 200, cluster.namespace(r.name!));
      if (method === 'POST' && r.name === null) {
        const body = await readBody(req);
        const name = isObject(body) && isObject(body.metadata) && typeof body.metadata.name === 'string' ? body.metadata.name : '';
        if (name === '') throw new ApiFailure(failure(422, 'Invalid', 'Namespace "" is invalid: metadata.name: Required value'));
        return send(res, 201, cluster.addNamespace(name));
      }
      throw new ApiFailure(failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    }
    const { resource, namespace, name } = r as { resource: Resource; namespace: string; name: string | null };
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (name === null) {
      if (method === 'GET') {
        const limit = Number(url.searchParams.get('limit') ?? '0');
        const page = cluster.list(resource, namespace, url.searchParams.get('labelSelector'), Number.isInteger(limit) && limit > 0 ? limit : 0, url.searchParams.get('continue'));
        const metadata: JsonObject = { resourceVersion: page.resourceVersion };
        if (page.continue) {
          metadata.continue = page.continue;
          metadata.remainingItemCount = page.remainingItemCount ?? 0;
        }
        return send(res, 200, { kind: RESOURCES[resource].listKind, apiVersion: RESOURCES[resource].apiVersion, metadata, items: page.items });
      }
      if (method === 'POST') {
        if (contentType !== 'application/json')
          throw new ApiFailure(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`));
        return send(res, 201, cluster.create(resource, namespace, (await readBody(req)) ?? null));
      }
    } else {
      if (method === 'GET') return send(res, 200, cluster.get(resource, namespace, name));
      if (method === 'PUT') {
        if (contentType !== 'application/json')
          throw new ApiFailure(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`));
        return send(res, 200, cluster.replace(resource, namespace, name, (await readBody(req)) ?? null));
      }
      if (method === 'PATCH') return send(res, 200, cluster.patch(resource, namespace, name, contentType, (await readBody(req)) ?? null));
      if (method === 'DELETE') {
        const body = await readBody(req);
        const fromQuery = url.searchParams.get('preconditions.resourceVersion');
        cluster.remove(resource, namespace, name, fromQuery !== null ? { preconditions: { resourceVersion: fromQuery } } : (body ?? null));
        const group = RESOURCES[resource].apiVersion.includes('/') ? { group: 'apps' } : {};
        return send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...group, kind: resource } });
      }
    }
    throw new ApiFailure(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
  }

  const identity = await serverIdentity();
  const server = createServer({ cert: identity.cert, key: identity.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const seen: SeenRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.search, contentType: req.headers['content-type'] ?? null, status: 0 };
    requests.push(seen);
    const throttled = takeFault429();
    if (throttled !== null) {
      req.resume();
      seen.status = 429;
      send(res, 429, failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { causes: [] }), { 'retry-after': String(throttled) });
      return;
    }
    handle(req, res).then(
      () => {
        seen.status = res.statusCode;
      },
      (e: unknown) => {
        const body: StatusBody = e instanceof ApiFailure ? e.body : failure(500, 'InternalError', 'Internal error occurred: the local server failed');
        seen.status = body.code;
        if (!res.headersSent) send(res, body.code, body, e instanceof ApiFailure ? e.headers : {});
        else res.destroy();
      },
    );
  });

  let throttles: { count: number; retryAfter: number }[] = [];
  function takeFault429(): number | null {
    const t = throttles.find((x) => x.count > 0);
    if (!t) return null;
    t.count -= 1;
    throttles = throttles.filter((x) => x.count > 0);
    return t.retryAfter;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    ca: identity.cert,
    token,
    cluster,
    requests,
    faults: {
      throttle(count, retryAfterSeconds = 1) {
        throttles.push({ count, retryAfter: retryAfterSeconds });
      },
      failNext(rule) {
        const reasons: Record<number, string> = {
          400: 'BadRequest',
          401: 'Unauthorized',
          403: 'Forbidden',
          404: 'NotFound',
          409: 'Conflict',
          429: 'TooManyRequests',
          500: 'InternalError',
          503: 'ServiceUnavailable',
          504: 'Timeout',
        };
        rules.push({
          count: rule.count ?? 1,
          status: rule.status,
          reason: rule.reason ?? reasons[rule.status] ?? 'Unknown',
          message: rule.message ?? `the local server was told to fail this request with ${rule.status}`,
          methods: rule.methods ?? null,
          resource: rule.resource ?? null,
          retryAfter: rule.status === 429 ? 1 : null,
        });
      },
      clear() {
        rules = [];
        throttles = [];
      },
    },
    kubeconfig({ namespace = 'default', token: useToken = token, context = 'keyturn-test' } = {}) {
      return [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: local`,
        `  cluster:`,
        `    server: ${url}`,
        `    certificate-authority-data: ${Buffer.from(identity.cert).toString('base64')}`,
        'users:',
        `- name: keyturn`,
        `  user:`,
        `    token: ${useToken}`,
        'contexts:',
        `- name: ${context}`,
        `  context:`,
        `    cluster: local`,
        `    user: keyturn`,
        `    namespace: ${namespace}`,
        `current-context: ${context}`,
        '',
      ].join('\n');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
