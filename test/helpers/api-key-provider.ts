/**
 * A local API-key provider for the http-api-key target's tests: a real node:http (or, given a
 * certificate, node:https) server on 127.0.0.1 that behaves like a SaaS admin API. Accounts hold
 * keys; at most `maxActiveKeys` (2) are active per account, and creating one more is refused
 * with 409. Admin requests need `Authorization: Bearer <adminToken>`; the read-only token may
 * list, not create or revoke (403). The API:
 *
 * - `POST /v1/accounts/:account/keys` `{ name, key }` → 201 `{ id, name, hint }`: the key of the
 *   caller's choosing (at least 16 characters); without `key` the provider makes one and answers
 *   it (`key`), as providers that choose keys themselves do. 404 for an unknown account, 409
 *   `key_limit` or `duplicate_key`, 400 `invalid_key`.
 * - `GET /v1/accounts/:account/keys` → 200 `{ data: [{ id, name, hint, created }] }`, the active keys.
 * - `DELETE /v1/accounts/:account/keys/:id` → 204; 404 for a key unknown or revoked already.
 * - `GET /v1/whoami` with `Authorization: Bearer <key>` → 200 `{ account }` for an active key, else 401.
 *
 * A test can make the next calls fail: `rateLimitNext` (429 with Retry-After), `failNext` (500),
 * `dropNext` (the request is carried out, then the connection is cut without an answer, as when an
 * answer is lost), each for every route or one. `requests` records each call (route, status),
 * never a key or token. State is read directly (`activeKeys`, `isActive`): the tests' own login
 * check, independent of the target's `test`.
 *
 * @example
 * ```ts
 * const provider = await apiKeyProvider();
 * provider.addAccount('acct_1');
 * provider.addKey('acct_1', 'first-key-value-123456', 'first');
 * provider.rateLimitNext(1, 0, 'create');
 * provider.isActive('acct_1', 'first-key-value-123456'); // true
 * await provider.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';

export type ProviderRoute = 'create' | 'list' | 'revoke' | 'test';

export interface ProviderKey {
  readonly id: string;
  readonly account: string;
  readonly name: string;
  readonly key: string;
  active: boolean;
}

export interface ApiKeyProviderOptions {
  /** Active keys an account may hold (default 2). */
  maxActiveKeys?: number;
  /** Serve HTTPS with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
}

export interface ApiKeyProvider {
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly readOnlyToken: string;
  maxActiveKeys: number;
  addAccount(account: string): void;
  removeAccount(account: string): void;
  /** Adds an active key directly (as an operator would by hand), over the limit if need be. */
  addKey(account: string, key: string, name: string): ProviderKey;
  /** The account's active keys (empty for an unknown account). */
  activeKeys(account: string): ProviderKey[];
  /** True when `key` is an active key of `account` (an existing one). */
  isActive(account: string, key: string): boolean;
  /** The next `n` calls (of `route`, or any) answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(n: number, retryAfterSeconds: number | null, route?: ProviderRoute): void;
  /** The next `n` calls (of `route`, or any) answer `status` (500) without doing anything. */
  failNext(n: number, route?: ProviderRoute, status?: number): void;
  /** The next `n` calls (of `route`, or any) are carried out, then their connection is cut without an answer. */
  dropNext(n: number, route?: ProviderRoute): void;
  /** Every call so far: its route (null: no route matched) and the status answered (null: dropped). */
  readonly requests: Array<{ route: ProviderRoute | null; method: string; status: number | null }>;
  close(): Promise<void>;
}

type Fault = { kind: 'rate'; retryAfter: number | null } | { kind: 'fail'; status: number } | { kind: 'drop' };

export async function apiKeyProvider(options: ApiKeyProviderOptions = {}): Promise<ApiKeyProvider> {
  const adminToken = `adm_${randomBytes(16).toString('hex')}`;
  const readOnlyToken = `ro_${randomBytes(16).toString('hex')}`;
  const accounts = new Map<string, ProviderKey[]>();
  const faults: Array<{ fault: Fault; route: ProviderRoute | undefined; left: number }> = [];
  const requests: ApiKeyProvider['requests'] = [];
  let counter = 0;
  const sockets = new Set<Socket>();

  const hintOf = (key: string) => `${key.slice(0, 4)}...${key.slice(-4)}`;
  const active = (account: string) => (accounts.get(account) ?? []).filter((k) => k.active);
  const listed = (k: ProviderKey) => ({ id: k.id, name: k.name, hint: hintOf(k.key), created: k.id });

  function takeFault(route: ProviderRoute | null): Fault | null {
    const i = faults.findIndex((f) => f.left > 0 && (f.route === undefined || f.route === route));
    if (i < 0) return null;
    const f = faults[i]!;
    f.left -= 1;
    if (f.left === 0) faults.splice(i, 1);
    return f.fault;
  }

  function bearer(req: IncomingMessage): string | null {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? m[1]! : null;
  }

  async function bodyOf(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  }

  function route(method: string, path: string): { route: ProviderRoute; account?: string; id?: string } | null {
    if (method === 'GET' && path === '/v1/whoami') return { route: 'test' };
    let m = /^\/v1\/accounts\/([^/]+)\/keys$/.exec(path);
    if (m && method === 'POST') return { route: 'create', account: decodeURIComponent(m[1]!) };
    if (m && method === 'GET') return { route: 'list', account: decodeURIComponent(m[1]!) };
    m = /^\/v1\/accounts\/([^/]+)\/keys\/([^/]+)$/.exec(path);
    if (m && method === 'DELETE') return { route: 'revoke', account: decodeURIComponent(m[1]!), id: decodeURIComponent(m[2]!) };
    return null;
  }

  /** Carries out a call: the status and JSON answer. */
  async function handle(req: IncomingMessage, r: NonNullable<ReturnType<typeof route>>): Promise<{ status: number; json?: unknown }> {
    if (r.route === 'test') {
      const key = bearer(req);
      for (const [account, keys] of accounts) if (key !== null && keys.some((k) => k.active && k.key === key)) return { status: 200, json: { account } };
      return { status: 401, json: { error: 'invalid_api_key' } };
    }
    const token = bearer(req);
    if (token !== adminToken && token !== readOnlyToken) return { status: 401, json: { error: 'unauthorized' } };
    if (r.route !== 'list' && token !== adminToken) return { status: 403, json: { error: 'forbidden' } };
    const keys = accounts.get(r.account!);
    if (!keys) return { status: 404, json: { error: 'account_not_found' } };
    switch (r.route) {
      case 'list':
        return { status: 200, json: { data: keys.filter((k) => k.active).map(listed) } };
      case 'revoke': {
        const k = keys.find((x) => x.id === r.id && x.active);
        if (!k) return { status: 404, json: { error: 'key_not_found' } };
        k.active = false;
        return { status: 204 };
      }
      case 'create': {
        const body = (await bodyOf(req)) as { name?: unknown; key?: unknown } | null;
        if (body === null || typeof body !== 'object') return { status: 400, json: { error: 'invalid_json' } };
        const key = body.key === undefined ? `pk_${randomBytes(24).toString('base64url')}` : body.key;
        if (typeof key !== 'string' || key.length < 16) return { status: 400, json: { error: 'invalid_key' } };
        const live = keys.filter((k) => k.active);
        if (live.some((k) => k.key === key)) return { status: 409, json: { error: 'duplicate_key' } };
        if (live.length >= provider.maxActiveKeys) return { status: 409, json: { error: 'key_limit', limit: provider.maxActiveKeys } };
        const made: ProviderKey = { id: `key_${++counter}`, account: r.account!, name: typeof body.name === 'string' ? body.name : '', key, active: true };
        keys.push(made);
        return { status: 201, json: { ...listed(made), ...(body.key === undefined ? { key } : {}) } };
      }
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
    const record = { route: r?.route ?? null, method: req.method ?? 'GET', status: null as number | null };
    requests.push(record);
    const fault = takeFault(r?.route ?? null);
    if (fault?.kind === 'rate') {
      record.status = 429;
      res.writeHead(429, { 'content-type': 'application/json', ...(fault.retryAfter === null ? {} : { 'retry-after': String(fault.retryAfter) }) });
      res.end(JSON.stringify({ error: 'rate_limited' }));
      return;
    }
    if (fault?.kind === 'fail') {
      record.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal' }));
      return;
    }
    const answer = r ? await handle(req, r) : { status: 404, json: { error: 'no_route' } };
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    record.status = answer.status;
    if (answer.json === undefined) {
      res.writeHead(answer.status);
      res.end();
    } else {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.json));
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  const provider: ApiKeyProvider = {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    adminToken,
    readOnlyToken,
    maxActiveKeys: options.maxActiveKeys ?? 2,
    addAccount: (account) => void (accounts.has(account) || accounts.set(account, [])),
    removeAccount: (account) => void accounts.delete(account),
    addKey(account, key, name) {
      const made: ProviderKey = { id: `key_${++counter}`, account, name, key, active: true };
      const keys = accounts.get(account);
      if (!keys) throw new Error(`no account ${account}`);
      keys.push(made);
      return made;
    },
    activeKeys: active,
    isActive: (account, key) => active(account).some((k) => k.key === key),
    rateLimitNext: (n, retryAfter, r) => void faults.push({ fault: { kind: 'rate', retryAfter }, route: r, left: n }),
    failNext: (n, r, status = 500) => void faults.push({ fault: { kind: 'fail', status }, route: r, left: n }),
    dropNext: (n, r) => void faults.push({ fault: { kind: 'drop' }, route: r, left: n }),
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return provider;
}
