/**
 * A local HashiCorp Vault server for tests: Vault's HTTP API (`/v1/...`, JSON in Vault's response
 * envelope, errors as `{"errors": [...]}`) for what Keyturn's Vault store uses: KV version 2
 * mounts (./kv.ts), token authentication (`X-Vault-Token`; a missing, unknown or expired token
 * gets 403 `permission denied`), `auth/token/lookup-self`, AppRole and Kubernetes logins (the
 * service-account JWT's signature checked with the key the test gives), namespaces
 * (`X-Vault-Namespace`: each namespace its own mounts), and fault switches: throttling (429 with
 * Retry-After) and a sealed Vault (503). Any HTTP client can use it (a child `keyturn` process too).
 *
 * @example
 * ```ts
 * const vault = await startVaultServer({ clock });
 * await fetch(`${vault.url}/v1/secret/data/app`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken }, body: JSON.stringify({ data: { a: '1' } }) });
 * await vault.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { jwtVerify, type CryptoKey, type JWTPayload, type KeyObject } from 'jose';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { KvEngine, KvError } from './kv.js';

export interface VaultServerOptions {
  clock?: Clock;
  /** The root token (default: a random one). */
  rootToken?: string;
  /** KV v2 mounts in every namespace (default ['secret']). */
  mounts?: string[];
  /** AppRole roles at auth/<mount>/login (default mount `approle`). */
  approle?: { mount?: string; roles: Record<string, { roleId: string; secretId: string }> };
  /** Kubernetes auth at auth/<mount>/login (default mount `kubernetes`): the key that signs service-account tokens, and roles. */
  kubernetes?: {
    mount?: string;
    key: CryptoKey | KeyObject | Uint8Array;
    roles: Record<string, { serviceAccountNames: string[]; namespaces: string[] }>;
  };
  /** Lifetime of tokens that logins issue (default 3600 s). */
  tokenTtlSeconds?: number;
  /** Serve HTTPS with this key and certificate chain (PEM). */
  tls?: { key: string; cert: string };
}

export interface VaultRequestRecord {
  method: string;
  path: string;
  namespace: string | null;
  /** The status answered (undefined while the request is being served). */
  status?: number;
}

/** A request held before it is served (see `hold`). */
export interface HeldRequest {
  /** Resolves when a matching request has arrived (and is being held). */
  readonly arrived: Promise<VaultRequestRecord>;
  /** Lets the held request go on (and stops holding). */
  release(): void;
}

export interface VaultServer {
  url: string;
  rootToken: string;
  /** Every request received, in order (method, path without query, namespace header). */
  readonly requests: VaultRequestRecord[];
  /** The next `count` requests get 429 with `Retry-After: retryAfterSeconds`. */
  throttle(count: number, retryAfterSeconds?: number): void;
  /** Sealed: every request gets 503 until unsealed. */
  seal(sealed: boolean): void;
  /** Revokes a token (the next request with it gets 403). */
  revokeToken(token: string): void;
  /** Ends every token a login issued (as if their TTL ran out). */
  expireLoginTokens(): void;
  /** The KV engine of a mount in a namespace (`''`: the root namespace), for tests to look inside. */
  kv(mount?: string, namespace?: string): KvEngine;
  /** Holds the next request matching `match` before it is served, until released: for exact interleavings of racing writers. */
  hold(match: (r: VaultRequestRecord) => boolean): HeldRequest;
  /** How many logins each method served. */
  readonly logins: { approle: number; kubernetes: number };
  close(): Promise<void>;
}

interface TokenEntry {
  expiresAt: number | null;
  policies: string[];
  displayName: string;
  issued: number;
  ttl: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the server on 127.0.0.1, a free port.
 *
 * @example
 * ```ts
 * const vault = await startVaultServer({ approle: { roles: { keyturn: { roleId: 'r', secretId: 's' } } } });
 * ```
 */
export async function startVaultServer(options: VaultServerOptions = {}): Promise<VaultServer> {
  const clock = options.clock ?? systemClock;
  const rootToken = options.rootToken ?? `hvs.${randomUUID().replace(/-/g, '')}`;
  const mounts = options.mounts ?? ['secret'];
  const ttl = options.tokenTtlSeconds ?? 3600;
  const tokens = new Map<string, TokenEntry>([[rootToken, { expiresAt: null, policies: ['root'], displayName: 'root', issued: clock.now(), ttl: 0 }]]);
  const engines = new Map<string, KvEngine>();
  const requests: VaultRequestRecord[] = [];
  const logins = { approle: 0, kubernetes: 0 };
  let throttled = 0;
  let retryAfter = 1;
  let sealed = false;
  const holds: Array<{ match: (r: VaultRequestRecord) => boolean; arrive: (r: VaultRequestRecord) => void; gate: Promise<void> }> = [];

  const engine = (namespace: string, mount: string): KvEngine => {
    const key = `${namespace}\u0000${mount}`;
    let e = engines.get(key);
    if (!e) {
      e = new KvEngine(clock);
      engines.set(key, e);
    }
    return e;
  };

  const issue = (displayName: string, policies: string[]): Record<string, unknown> => {
    const token = `hvs.${randomUUID().replace(/-/g, '')}`;
    tokens.set(token, { expiresAt: clock.now() + ttl * 1000, policies, displayName, issued: clock.now(), ttl });
    return {
      client_token: token,
      accessor: randomUUID(),
      policies: ['default', ...policies],
      token_policies: ['default', ...policies],
      metadata: { role_name: displayName },
      lease_duration: ttl,
      renewable: true,
      entity_id: randomUUID(),
      token_type: 'service',
      orphan: true,
    };
  };

  const authenticate = (req: IncomingMessage): [string, TokenEntry] => {
    const header = req.headers['x-vault-token'];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = (typeof header === 'string' ? header : undefined) ?? bearer;
    const entry = token === undefined ? undefined : tokens.get(token);
    if (token === undefined || !entry || (entry.expiresAt !== null && entry.expiresAt <= clock.now())) throw new HttpError(403, 'permission denied');
    return [token, entry];
  };

  async function approleLogin(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const roles = options.approle?.roles ?? {};
    const found = Object.entries(roles).find(([, r]) => r.roleId === body.role_id);
    if (typeof body.role_id !== 'string' || body.role_id === '') throw new HttpError(400, 'missing role_id');
    if (!found) throw new HttpError(400, 'invalid role or secret ID');
    if (found[1].secretId !== body.secret_id) throw new HttpError(400, 'invalid role or secret ID');
    logins.approle += 1;
    return issue(found[0], [found[0]]);
  }

  async function kubernetesLogin(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const k8s = options.kubernetes;
    if (!k8s) throw new HttpError(404, 'no handler for route');
    if (typeof body.role !== 'string' || body.role === '') throw new HttpError(400, 'missing role');
    if (typeof body.jwt !== 'string' || body.jwt === '') throw new HttpError(400, 'missing jwt');
    const role = k8s.roles[body.role];
    if (!role) throw new HttpError(400, `invalid role name "${body.role}"`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(body.jwt, k8s.key, { currentDate: new Date(clock.now()) }));
    } catch {
      throw new HttpError(403, 'permission denied');
    }
    const projected = payload['kubernetes.io'] as { namespace?: string; serviceaccount?: { name?: string } } | undefined;
    const name = projected?.serviceaccount?.name ?? (payload['kubernetes.io/serviceaccount/service-account.name'] as string | undefined);
    const namespace = projected?.namespace ?? (payload['kubernetes.io/serviceaccount/namespace'] as string | undefined);
    const allowed = (list: string[], v: string | undefined) => v !== undefined && (list.includes('*') || list.includes(v));
    if (!allowed(role.serviceAccountNames, name)) throw new HttpError(403, 'service account name not authorized');
    if (!allowed(role.namespaces, namespace)) throw new HttpError(403, 'namespace not authorized');
    logins.kubernetes += 1;
    return issue(body.role, [body.role]);
  }

  /** Routes one request; returns [status, body] (body null: 204). */
  async function route(req: IncomingMessage, url: URL, body: Record<string, unknown>, namespace: string): Promise<[number, unknown]> {
    const method = req.method ?? 'GET';
    const rest = url.pathname.replace(/^\/v1\//, '');
    if (rest === 'sys/health') return [sealed ? 503 : 200, { initialized: true, sealed, standby: false }];
    if (sealed) throw new HttpError(503, 'Vault is sealed');
    if (throttled > 0) {
      throttled -= 1;
      throw new HttpError(429, `request path "${rest}": rate limit quota exceeded`);
    }
    const approleMount = options.approle?.mount ?? 'approle';
    const k8sMount = options.kubernetes?.mount ?? 'kubernetes';
    if (method === 'POST' && rest === `auth/${approleMount}/login`) return [200, envelope(null, await approleLogin(body))];
    if (method === 'POST' && rest === `auth/${k8sMount}/login`) return [200, envelope(null, await kubernetesLogin(body))];

    const [token, entry] = authenticate(req);
    if (rest === 'auth/token/lookup-self' && method === 'GET') {
      const remaining = entry.expiresAt === null ? 0 : Math.max(0, Math.round((entry.expiresAt - clock.now()) / 1000));
      return [
        200,
        envelope({
          accessor: 'accessor',
          creation_time: Math.floor(entry.issued / 1000),
          creation_ttl: entry.ttl,
          display_name: entry.displayName,
          expire_time: entry.expiresAt === null ? null : new Date(entry.expiresAt).toISOString(),
          id: token,
          policies: entry.policies,
          renewable: entry.expiresAt !== null,
          ttl: remaining,
          type: 'service',
          namespace_path: namespace === '' ? '' : `${namespace}/`,
        }),
      ];
    }
    if (rest === 'auth/token/renew-self' && (method === 'POST' || method === 'PUT')) {
      if (entry.expiresAt !== null) entry.expiresAt = clock.now() + entry.ttl * 1000;
      return [200, envelope(null, { client_token: token, lease_duration: entry.ttl, renewable: entry.expiresAt !== null, policies: entry.policies })];
    }

    const mount = mounts.find((m) => rest === m || rest.startsWith(`${m}/`));
    if (!mount) throw new HttpError(404, `no handler for route "${rest}". route entry not found.`);
    const kv = engine(namespace, mount);
    const sub = rest.slice(mount.length + 1);
    const slash = sub.indexOf('/');
    const op = slash === -1 ? sub : sub.slice(0, slash);
    const path = slash === -1 ? '' : decodeURIComponent(sub.slice(slash + 1));
    const list = method === 'GET' && url.searchParams.get('list') === 'true';
    const write = method === 'POST' || method === 'PUT';

    if (op === 'config') {
      if (method === 'GET') return [200, envelope({ max_versions: kv.config.maxVersions, cas_required: kv.config.casRequired, delete_version_after: kv.config.deleteVersionAfter })];
      if (write) {
        if (typeof body.max_versions === 'number') kv.config.maxVersions = body.max_versions;
        if (typeof body.cas_required === 'boolean') kv.config.casRequired = body.cas_required;
        return [204, null];
      }
    }
    if (op === 'metadata' && list) return [200, envelope({ keys: kv.list(path) })];
    if (path === '') throw new HttpError(404, `no handler for route "${rest}". route entry not found.`);
    if (op === 'data') {
      if (method === 'GET') return [200, envelope(kv.readData(path, Number(url.searchParams.get('version') ?? '0')))];
      if (write) {
        const cas = (body.options as { cas?: unknown } | undefined)?.cas;
        if (cas !== undefined && (typeof cas !== 'number' || !Number.isInteger(cas) || cas < 0)) throw new HttpError(400, 'invalid cas parameter');
        return [200, envelope(kv.writeData(path, body.data, cas as number | undefined))];
      }
      if (method === 'DELETE') return [204, kv.deleteVersions(path, 'current') ?? null];
    }
    const versions = (): number[] => {
      const v = body.versions;
      if (!Array.isArray(v) || v.length === 0 || !v.every((n) => Number.isInteger(n))) throw new HttpError(400, 'no version number provided');
      return v as number[];
    };
    if (op === 'delete' && write) return [204, kv.deleteVersions(path, versions()) ?? null];
    if (op === 'undelete' && write) return [204, kv.undeleteVersions(path, versions()) ?? null];
    if (op === 'destroy' && write) return [204, kv.destroyVersions(path, versions()) ?? null];
    if (op === 'metadata') {
      if (method === 'GET') return [200, envelope(kv.readMetadata(path))];
      if (write || method === 'PATCH') {
        kv.writeMetadata(path, body, method === 'PATCH');
        return [204, null];
      }
      if (method === 'DELETE') return [204, kv.deleteMetadata(path) ?? null];
    }
    throw new HttpError(405, 'unsupported operation');
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : createServer(onRequest);

  async function handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vault.local');
    const nsHeader = req.headers['x-vault-namespace'];
    const namespace = typeof nsHeader === 'string' ? nsHeader.replace(/^\/+|\/+$/g, '') : '';
    const record: VaultRequestRecord = { method: req.method ?? 'GET', path: url.pathname, namespace: namespace === '' ? null : namespace };
    requests.push(record);
    const held = holds.findIndex((h) => h.match(record));
    if (held !== -1) {
      const [h] = holds.splice(held, 1);
      h!.arrive(record);
      await h!.gate;
    }
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    try {
      let body: Record<string, unknown> = {};
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          throw new HttpError(400, 'failed to parse JSON input');
        }
      }
      const [status, out] = await route(req, url, body, namespace);
      if (status === 204 || out === null) {
        res.writeHead(204).end();
        return;
      }
      send(res, status, out);
    } catch (e) {
      if (e instanceof KvError) {
        if (e.data !== undefined) send(res, e.status, envelope(e.data));
        else send(res, e.status, { errors: e.message === '' ? [] : [e.message] });
      } else if (e instanceof HttpError) {
        const headers: Record<string, string> = e.status === 429 ? { 'Retry-After': String(retryAfter) } : {};
        send(res, e.status, { errors: [e.message] }, headers);
      } else {
        send(res, 500, { errors: ['1 error occurred:\n\t* internal error\n\n'] });
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    rootToken,
    requests,
    logins,
    throttle(count, seconds = 1) {
      throttled = count;
      retryAfter = seconds;
    },
    seal(value) {
      sealed = value;
    },
    revokeToken(token) {
      tokens.delete(token);
    },
    expireLoginTokens() {
      for (const entry of tokens.values()) if (entry.expiresAt !== null) entry.expiresAt = clock.now();
    },
    kv: (mount = 'secret', namespace = '') => engine(namespace, mount),
    hold(match) {
      let arrive!: (r: VaultRequestRecord) => void;
      let release!: () => void;
      const arrived = new Promise<VaultRequestRecord>((resolve) => (arrive = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      const entry = { match, arrive, gate };
      holds.push(entry);
      return {
        arrived,
        release: () => {
          const i = holds.indexOf(entry);
          if (i !== -1) holds.splice(i, 1);
          release();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function envelope(data: unknown, auth: unknown = null): Record<string, unknown> {
  return { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }).end(JSON.stringify(body));
}
