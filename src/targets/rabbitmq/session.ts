/**
 * The rabbitmq target's two ways in, each opened for one target call and always closed:
 *
 * - `amqpLogin`: an AMQP connection (amqplib) as a credential at the configured virtual host,
 *   closed at once: the login probe `test` runs. Bounded by the connect timeout (an idle socket
 *   timeout during the handshake, and a deadline on the whole of it) and the context's signal,
 *   which destroys the socket.
 * - `withManagement`: a session on the management HTTP API as the admin (HTTP Basic, its own
 *   connection pool, destroyed at the end). It starts with `GET /api/whoami`, bounded by the
 *   connect timeout: a refused login or a user without the `administrator` tag fails there,
 *   before anything changes. Each later request is bounded by STATEMENT_TIMEOUT_MS and the signal.
 *
 * Errors are KeyturnErrors from ./errors.ts; request bodies (which hold the password) and
 * answers are never logged or put in an error, and redirects are not followed (a 3xx fails).
 *
 * @example
 * ```ts
 * await amqpLogin(config, { username: 'app', password }, ctx.signal);
 * await withManagement(config, admin, ctx.signal, 'set the password of "app"', async (api) => {
 *   const user = await api.get(`/users/${encodeURIComponent('app')}`, 'app', 'read the user "app"');
 * });
 * ```
 */
import type { SocketOptions } from 'amqplib';
import { loadAmqp } from '../../core/drivers.js';
import { KeyturnError } from '../../core/errors.js';
import { abortable } from '../abortable.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Endpoint } from '../target-error.js';
import type { Credential } from '../target.js';
import { managementUrlOf, type RabbitmqTargetConfig } from './config.js';
import { amqpError, apiError, requestError, type ApiExpectation } from './errors.js';

/** The AMQP listener, for messages about logins. */
export function endpointOf(config: RabbitmqTargetConfig): Endpoint {
  return { kind: 'rabbitmq', host: config.host, port: config.port };
}

/** The management API's host and port, for messages about its requests. */
export function managementEndpointOf(config: RabbitmqTargetConfig): Endpoint {
  const url = new URL(managementUrlOf(config));
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { kind: 'rabbitmq', host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

function connectTimeoutOf(config: RabbitmqTargetConfig): number {
  return config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
}

/**
 * Opens an AMQP connection as `cred` to the configured virtual host and closes it. Throws
 * KT_TARGET_AUTH_FAILED (refused), KT_TARGET_PERMISSION_DENIED (logged in, but the virtual host
 * was refused) or KT_TARGET_UNAVAILABLE.
 */
export async function amqpLogin(config: RabbitmqTargetConfig, cred: Credential, signal: AbortSignal): Promise<void> {
  const at = endpointOf(config);
  const attempt = { username: cred.username, action: 'log in' };
  const amqp = await loadAmqp();
  const timeout = connectTimeoutOf(config);
  // The socket is destroyed when this fires: by the rotation's signal, or once the handshake overruns.
  const handshake = AbortSignal.any([signal, AbortSignal.timeout(timeout)]);
  const onAbort = (): Error => targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, signal.aborted ? 'aborted (time limit reached)' : 'timed out');
  // `signal` reaches net/tls.connect through amqplib's socket options (its types leave it out).
  const socketOptions: SocketOptions & { signal: AbortSignal } = { timeout, signal: handshake };
  const open = async () => {
    try {
      return await amqp.connect(
        { protocol: config.tls === true ? 'amqps' : 'amqp', hostname: config.host, port: config.port, username: cred.username, password: cred.password, vhost: config.vhost, heartbeat: 0 },
        socketOptions,
      );
    } catch (e) {
      throw amqpError(e, at, attempt);
    }
  };
  const connection = await abortable(handshake, () => undefined, onAbort, open);
  connection.on('error', () => undefined);
  await connection.close().catch(() => undefined);
}

/** One management API session: JSON requests as the session's user, failures mapped. */
export interface ManagementApi {
  /** GET `path` (under /api); the parsed JSON, or null for a 404. */
  get(path: string, subject: string, action: string): Promise<unknown>;
  /** PUT or DELETE `path` (under /api) with an optional JSON body; a 404 on DELETE counts as done. */
  send(method: 'PUT' | 'DELETE', path: string, body: Record<string, unknown> | null, subject: string, action: string, expect?: ApiExpectation): Promise<void>;
}

/** The tag RabbitMQ requires to set passwords, permissions and tags through the management API. */
const ADMINISTRATOR = 'administrator';

/**
 * Runs `fn` on a management API session as `auth`, which must log in and hold the
 * `administrator` tag (checked first, with `GET /api/whoami`).
 */
export async function withManagement<T>(config: RabbitmqTargetConfig, auth: Credential, signal: AbortSignal, action: string, fn: (api: ManagementApi) => Promise<T>): Promise<T> {
  const at = managementEndpointOf(config);
  if (auth.username.includes(':')) {
    throw new KeyturnError('KT_TARGET_USERNAME_INVALID', `the rabbitmq user name "${auth.username}" contains ":", which HTTP Basic authentication to the management API cannot carry`, {
      details: { target: 'rabbitmq', username: auth.username },
    });
  }
  const base = `${managementUrlOf(config)}/api`;
  const authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
  const { Agent, fetch } = await import('undici');
  const agent = new Agent({ connect: { timeout: connectTimeoutOf(config) }, headersTimeout: STATEMENT_TIMEOUT_MS, bodyTimeout: STATEMENT_TIMEOUT_MS });

  async function request(
    method: string,
    path: string,
    body: Record<string, unknown> | null,
    subject: string,
    what: string,
    timeoutMs: number,
    expect: ApiExpectation = {},
  ): Promise<{ status: number; json: unknown }> {
    const attempt = { username: subject, action: what };
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        dispatcher: agent,
        // A redirect would re-send the body, password included, wherever it points: never followed.
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headers: { authorization, accept: 'application/json', ...(body === null ? {} : { 'content-type': 'application/json' }) },
        body: body === null ? undefined : JSON.stringify(body),
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      throw requestError(e, at, attempt, signal.aborted);
    }
    let json: unknown = null;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw targetError('KT_TARGET_FAILED', at, attempt, status, 'the answer is not JSON: is managementUrl the management API?');
      }
    }
    if (status >= 200 && status < 300) return { status, json };
    if (status === 404 && (method === 'GET' || method === 'DELETE')) return { status, json: null };
    throw apiError(status, json, at, attempt, auth.username, expect);
  }

  const api: ManagementApi = {
    get: async (path, subject, what) => {
      const { status, json } = await request('GET', path, null, subject, what, STATEMENT_TIMEOUT_MS);
      return status === 404 ? null : json;
    },
    send: async (method, path, body, subject, what, expect) => void (await request(method, path, body, subject, what, STATEMENT_TIMEOUT_MS, expect)),
  };

  try {
    // The first answer proves the login: it must come within the connect timeout.
    const { json } = await request('GET', '/whoami', null, auth.username, action, connectTimeoutOf(config));
    const tags = json !== null && typeof json === 'object' ? (json as { tags?: unknown }).tags : undefined;
    const tagList = Array.isArray(tags) ? tags.map(String) : typeof tags === 'string' ? tags.split(',') : [];
    if (!tagList.includes(ADMINISTRATOR)) throw targetError('KT_TARGET_PERMISSION_DENIED', at, { username: auth.username, action: `${action} (the management API needs the ${ADMINISTRATOR} tag)` });
    return await fn(api);
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}
