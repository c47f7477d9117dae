/**
 * The agent's way to its servers: the list from agent.yaml, one of them current. A secret is read
 * from the current server; when it does not answer, the next one is tried, once round the list.
 * A 401 makes the token file be read again and the request be sent once more (a token rotated on
 * disk). With a JWT file, the token comes from the servers' OIDC login (./jwt-login.ts), which
 * this module sends without a token. The change stream is opened on the current server with
 * `Last-Event-ID`. Delivery reports (`POST /v1/deliveries`, ./report.ts) go to the first server
 * that answers, like reads, on a connection of their own.
 * The token goes only in `Authorization: Bearer`, never in a log or an error.
 *
 * @example
 * ```ts
 * const servers = agentServers({ servers: ['https://a:8787', 'https://b:8787'], token, caCert: undefined });
 * const secret = await servers.readSecret('app/db'); // { path, versionId, number, value }
 * ```
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import { errorFrom, pathPart, reasonOf } from '../client/http.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { SecretValue } from '../core/types.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import type { LoginSession } from './jwt-login.js';
import type { TokenSource } from './token.js';

/** How long a secret read may take. */
const READ_TIMEOUT_MS = 30_000;
/** How long a delivery report may take (the agent's stop waits for one under way). */
const REPORT_TIMEOUT_MS = 10_000;

export interface AgentServers {
  /** The server in use. */
  readonly current: string;
  /** Makes the next server of the list the current one. */
  advance(): void;
  /** Trades a JWT for a session through the OIDC login of the first server that answers (no token sent). */
  login(jwt: string, issuer: string | undefined): Promise<LoginSession>;
  /** The current version of a secret, from the first server that answers. */
  readSecret(path: string): Promise<DeliveredSecret>;
  /** Sends a JSON body to `POST url` on the first server that answers (each try bounded by 10 s); its KeyturnError when refused. */
  post(url: string, body: unknown): Promise<void>;
  /** Opens the change stream on the current server; the response body, or the KeyturnError of its answer. */
  events(lastEventId: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
  close(): Promise<void>;
}

export function agentServers(o: { servers: readonly string[]; token: TokenSource | ((servers: AgentServers) => TokenSource); caCert: string | undefined }): AgentServers {
  let ca: string | undefined;
  if (o.caCert !== undefined) {
    try {
      ca = readFileSync(o.caCert, 'utf8');
    } catch (e) {
      throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `caCert: cannot read ${o.caCert} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  // No body timeout: the change stream stays open; heartbeats keep it alive.
  const dispatcher = new Agent({ headersTimeout: READ_TIMEOUT_MS, bodyTimeout: 0, ...(ca === undefined ? {} : { connect: { ca } }) });
  // Reports on a connection of their own, kept open: a report waiting for its answer never makes a
  // read open a new connection (measured: with 200 agents sharing one, the next rotation's reads
  // opened hundreds of connections at once and some renders waited seconds).
  const reports = new Agent({ connections: 1, headersTimeout: REPORT_TIMEOUT_MS, bodyTimeout: REPORT_TIMEOUT_MS, ...(ca === undefined ? {} : { connect: { ca } }) });
  let at = 0;
  // eslint-disable-next-line prefer-const -- set once the servers exist (a JWT login goes through them)
  let token: TokenSource;

  /** Runs `attempt` on the current server, then the next ones while they do not answer, once round the list. */
  const onFirstAnswering = async <T>(attempt: (addr: string) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (let tried = 0; tried < o.servers.length; tried += 1) {
      const addr = o.servers[at]!;
      try {
        return await attempt(addr);
      } catch (e) {
        last = e;
        if (!isKeyturnError(e, 'KT_SERVER_UNREACHABLE')) throw e;
        at = (at + 1) % o.servers.length;
      }
    }
    throw last;
  };

  const send = async (addr: string, url: string, headers: Record<string, string>, signal?: AbortSignal, body?: string): Promise<Response> => {
    const bearer = await token.current();
    try {
      const method = body === undefined ? {} : { method: 'POST', body };
      return await fetch(`${addr}${url}`, {
        headers: { ...headers, authorization: `Bearer ${bearer}` },
        dispatcher: body === undefined ? dispatcher : reports,
        ...method,
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      throw new KeyturnError('KT_SERVER_UNREACHABLE', `no answer from ${addr} (${reasonOf(e)})`, { details: { addr } });
    }
  };
  /** One GET (or POST of `body`), sent again once with the token file read afresh after a 401. */
  const get = async (addr: string, url: string, headers: Record<string, string>, signal?: AbortSignal, body?: string): Promise<Response> => {
    let res = await send(addr, url, headers, signal, body);
    if (res.status === 401) {
      await res.body?.cancel().catch(() => undefined);
      token.invalidate();
      res = await send(addr, url, headers, signal, body);
    }
    return res;
  };
  const failure = async (addr: string, res: Response): Promise<KeyturnError> => errorFrom(addr, res.status, await res.json().catch(() => null));

  const servers: AgentServers = {
    get current() {
      return o.servers[at]!;
    },
    advance: () => {
      at = (at + 1) % o.servers.length;
    },
    login: (jwt, issuer) =>
      onFirstAnswering(async (addr) => {
        let res: Response;
        try {
          res = await fetch(`${addr}/v1/auth/oidc/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(issuer === undefined ? { jwt } : { jwt, issuer }),
            dispatcher,
            signal: AbortSignal.timeout(READ_TIMEOUT_MS),
          });
        } catch (e) {
          throw new KeyturnError('KT_SERVER_UNREACHABLE', `no answer from ${addr} (${reasonOf(e)})`, { details: { addr } });
        }
        if (!res.ok) throw await failure(addr, res);
        const j = (await res.json()) as { token?: unknown; expiresIn?: unknown };
        if (typeof j.token !== 'string' || typeof j.expiresIn !== 'number')
          throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered the OIDC login without token and expiresIn`, { details: { status: res.status } });
        return { token: j.token, expiresInMs: j.expiresIn * 1000 };
      }),
    readSecret: (path) =>
      onFirstAnswering(async (addr) => {
        const res = await get(addr, `/v1/secrets/${pathPart(path)}?stage=current`, { accept: 'application/json' }, AbortSignal.timeout(READ_TIMEOUT_MS));
        if (!res.ok) throw await failure(addr, res);
        const j = (await res.json()) as { path?: unknown; id?: unknown; number?: unknown; value?: unknown };
        if (typeof j.id !== 'string' || typeof j.number !== 'number' || j.value === undefined)
          throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered a secret read without id, number and value`, { details: { status: res.status } });
        return { path, versionId: j.id, number: j.number, value: j.value as SecretValue };
      }),
    post: (url, body) =>
      onFirstAnswering(async (addr) => {
        const res = await get(addr, url, { accept: 'application/json', 'content-type': 'application/json' }, AbortSignal.timeout(REPORT_TIMEOUT_MS), JSON.stringify(body));
        if (!res.ok) throw await failure(addr, res);
        // Read to its end, not cancelled: a cancelled body closes the connection.
        await res.arrayBuffer();
      }),
    events: async (lastEventId, signal) => {
      const addr = o.servers[at]!;
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== '') headers['last-event-id'] = lastEventId;
      const res = await get(addr, '/v1/events', headers, signal);
      if (!res.ok) throw await failure(addr, res);
      if (res.body === null) throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered the change stream without a body`);
      return res.body as AsyncIterable<Uint8Array>;
    },
    // A report under way is let finish (bounded by its timeout): aborting one while its connection
    // is being opened leaves that connection open on the server.
    close: async () => {
      await Promise.all([dispatcher.close(), reports.close()]);
    },
  };
  token = typeof o.token === 'function' ? o.token(servers) : o.token;
  return servers;
}
