/**
 * The agent's local read API (`listen:` in agent.yaml), for programs that read their secrets
 * through the agent instead of a rendered file: `GET /v1/secret/PATH` answers the version the
 * agent holds of a secret its templates use, `{"path", "version", "versionId", "value"}`.
 *
 * - 404 KT_AGENT_SECRET_NOT_HELD: no template uses PATH (the agent holds only what it renders).
 * - 503 KT_AGENT_CACHE_STALE: the agent holds no version a server confirmed within cacheTtl (it
 *   has not read it yet, or no server has answered for that long): it fails closed.
 * - Anything else is 404 KT_API_ROUTE_NOT_FOUND (a method other than GET or HEAD: 400 KT_USAGE).
 *
 * Who may call it is who may connect: there is no token. On `unix:/path` the socket is created
 * mode 0600 (the file mode is the access control: the agent's user only; a folder others can
 * write is refused). On a loopback `HOST:PORT` every local process can read every secret the agent
 * holds; a request whose Host header is not the loopback address it listens on is refused, so a
 * web page cannot reach it through DNS rebinding. No value is ever logged (a request is logged at
 * debug level with its path and status).
 *
 * @example
 * ```ts
 * const api = await serveLocalApi('unix:/run/keyturn/agent.sock', cache, log);
 * // curl --unix-socket /run/keyturn/agent.sock http://agent/v1/secret/app/db
 * await api.close();
 * ```
 */
import { createConnection } from 'node:net';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { iso } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { unsafeDestination } from '../consumers/file/safe-path.js';
import { errorBody } from '../server/errors.js';
import type { AgentCache } from './cache.js';

const PREFIX = '/v1/secret/';

export interface LocalApi {
  /** `HOST:PORT` (the port chosen when 0 was given) or `unix:/path`. */
  readonly address: string;
  close(): Promise<void>;
}

export async function serveLocalApi(listen: string, cache: AgentCache, log: Logger): Promise<LocalApi> {
  const socket = listen.startsWith('unix:') ? listen.slice('unix:'.length) : null;
  let hosts: ReadonlySet<string> = new Set();
  const server: Server = createServer((req, res) => {
    const status = answer(req, res, cache, socket === null ? hosts : null);
    log.debug({ method: req.method, url: (req.url ?? '').split('?')[0], status }, 'agent: local read API');
  });
  if (socket !== null) {
    await listenUnix(server, socket);
  } else {
    const colon = listen.lastIndexOf(':');
    const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(listen.slice(colon + 1)), host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    hosts = new Set([addressOf(server), `localhost:${port}`, ...(host === 'localhost' ? [`127.0.0.1:${port}`, `[::1]:${port}`] : [])]);
  }
  return {
    address: socket !== null ? `unix:${socket}` : addressOf(server),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `HOST:PORT` a TCP server listens on. */
function addressOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Answers one request; returns the status sent. */
function answer(req: IncomingMessage, res: ServerResponse, cache: AgentCache, hosts: ReadonlySet<string> | null): number {
  const send = (status: number, body: unknown): number => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
    return status;
  };
  const fail = (e: KeyturnError): number => send(e.status, errorBody(e));
  if (hosts !== null && !hosts.has((req.headers.host ?? '').toLowerCase())) {
    return fail(new KeyturnError('KT_USAGE', 'the Host header must name the loopback address the local read API listens on'));
  }
  const url = (req.url ?? '/').split('?')[0]!;
  if (!url.startsWith(PREFIX)) return fail(new KeyturnError('KT_API_ROUTE_NOT_FOUND', 'the local read API answers GET /v1/secret/PATH only'));
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(new KeyturnError('KT_USAGE', `the local read API answers GET only, not ${req.method ?? '?'}`));
  let path: string;
  try {
    path = url
      .slice(PREFIX.length)
      .split('/')
      .map((p) => decodeURIComponent(p))
      .join('/');
  } catch {
    return fail(new KeyturnError('KT_USAGE', 'the secret path is not valid percent-encoding'));
  }
  if (!cache.holds(path)) return fail(new KeyturnError('KT_AGENT_SECRET_NOT_HELD', `no template of this agent uses ${path}`, { details: { path } }));
  const held = cache.freshVersion(path);
  if (held === undefined) {
    const at = cache.confirmedAt(path);
    const why =
      at === null
        ? `the agent holds no version of ${path} from a server (not read yet, or a server refused it: see the agent's log)`
        : `no server has confirmed ${path} since ${iso(at)}, longer than cacheTtl ago`;
    return fail(new KeyturnError('KT_AGENT_CACHE_STALE', `${why}; the agent fails closed`, { details: { path, confirmedAt: at === null ? null : iso(at) } }));
  }
  return send(200, { path: held.path, version: held.number, versionId: held.versionId, value: held.value });
}

/** Listens on a unix socket created mode 0600; a stale socket (no one answers on it) is replaced. */
async function listenUnix(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => undefined);
  const unsafe = await unsafeDestinationOfSocket(path);
  if (unsafe !== null) throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `listen: refusing ${path}: ${unsafe}`);
  const st = await lstat(path).catch(() => null);
  if (st !== null) {
    if (!st.isSocket()) throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `listen: ${path} exists and is not a socket`);
    if (await answers(path)) throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `listen: another process serves ${path}`);
    await rm(path, { force: true });
  }
  // The socket is made by bind() inside listen(), synchronously: a umask of 0177 around that call
  // creates it 0600 (no moment with a wider mode); the chmod after is for where umask cannot be set.
  let previous: number | null = null;
  try {
    previous = process.umask(0o177);
  } catch {
    previous = null;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      try {
        server.listen(path, () => resolve());
      } finally {
        if (previous !== null) process.umask(previous);
        previous = null;
      }
    });
  } finally {
    if (previous !== null) process.umask(previous);
  }
  await chmod(path, 0o600);
}

/** Why the socket's folder is unsafe (another user could swap it), or null; a socket at the path is fine. */
async function unsafeDestinationOfSocket(path: string): Promise<string | null> {
  const st = await lstat(path).catch(() => null);
  if (st?.isSocket() === true) return unsafeDestination(`${path}.keyturn-check`);
  return unsafeDestination(path);
}

/** Whether something accepts connections on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
