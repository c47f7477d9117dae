/**
 * One Redis connection for one target call: RESP2 (so an explicit AUTH works whatever the
 * default user requires), no retries, no offline queue, bounded by the connect timeout, a
 * command timeout and the context's AbortSignal, mapped errors only, and always closed.
 * `auth` null means the default user with no password.
 *
 * @example
 * ```ts
 * await withRedis(config, { username: 'app', password }, ctx.signal, 'log in', (call) => call(['PING'], 'app', 'run PING'));
 * ```
 */
import { loadRedis } from '../../core/drivers.js';
import { abortable } from '../abortable.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Endpoint } from '../target-error.js';
import type { Credential } from '../target.js';
import type { RedisTargetConfig } from './config.js';
import { redisError } from './errors.js';

export function endpointOf(config: RedisTargetConfig): Endpoint {
  return { kind: 'redis', host: config.host, port: config.port };
}

/** Sends one command; failures are mapped, naming `subject` and `action`. */
export type RedisCall = (args: readonly [string, ...string[]], subject: string, action: string) => Promise<unknown>;

/** Connects (and AUTHs as `auth` when given), runs `fn`, disconnects. Errors are KeyturnErrors. */
export async function withRedis<T>(config: RedisTargetConfig, auth: Credential | null, signal: AbortSignal, action: string, fn: (call: RedisCall) => Promise<T>): Promise<T> {
  const at = endpointOf(config);
  const login = auth?.username ?? 'default';
  const Redis = await loadRedis();
  const client = new Redis({
    host: config.host,
    port: config.port,
    tls: config.tls === true ? {} : undefined,
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    autoResubscribe: false,
    connectTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: STATEMENT_TIMEOUT_MS,
  });
  // The socket's own error (ECONNREFUSED, ...) arrives as an event; connect() only says "closed".
  let socketError: unknown;
  client.on('error', (e: unknown) => {
    socketError = e;
  });
  const call: RedisCall = async ([command, ...args], subject, what) => {
    try {
      return await client.call(command, ...args);
    } catch (e) {
      throw redisError(e, at, { username: subject, action: what }, login);
    }
  };
  const onAbort = (): Error => targetError('KT_TARGET_UNAVAILABLE', at, { username: login, action }, undefined, signal.aborted ? 'aborted (time limit reached)' : 'timed out');
  const cancel = (): void => client.disconnect();
  // ioredis's connectTimeout ends at the TCP connect: the deadline here also covers AUTH.
  const handshake = AbortSignal.any([signal, AbortSignal.timeout(config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS)]);
  try {
    await abortable(handshake, cancel, onAbort, async () => {
      try {
        await client.connect();
      } catch (e) {
        throw redisError(socketError ?? e, at, { username: login, action }, login, true);
      }
      if (auth) await call(['AUTH', auth.username, auth.password], auth.username, action);
    });
    return await abortable(signal, cancel, onAbort, () => fn(call));
  } finally {
    client.disconnect();
  }
}
