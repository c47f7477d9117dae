/**
 * PostgreSQL connections for target calls: opened with the given credential, bounded by the
 * connect timeout, a statement timeout and the context's AbortSignal (which destroys the socket),
 * with mapped errors only. `withPgClient` opens a fresh connection per call (a login test must
 * prove the credential); admin connections are reused through ./admin-sessions.ts.
 *
 * @example
 * ```ts
 * await withPgClient(config, cred, ctx.signal, 'log in', (_client, run) => run('SELECT 1', [], 'app', 'run SELECT 1'));
 * ```
 */
import type pg from 'pg';
import { loadPg } from '../../core/drivers.js';
import { abortable } from '../abortable.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Endpoint } from '../target-error.js';
import type { Credential } from '../target.js';
import type { PostgresTargetConfig } from './config.js';
import { pgError } from './errors.js';

export function endpointOf(config: PostgresTargetConfig): Endpoint {
  return { kind: 'postgres', host: config.host, port: config.port };
}

/**
 * A statement runner whose failures are already mapped: `subject` names the user the statement
 * is about (for "does not exist" messages), `action` what it does.
 */
export type PgRun = <R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[], subject: string, action: string) => Promise<pg.QueryResult<R>>;

/** One open connection. */
export interface PgSession {
  readonly client: pg.Client;
  readonly run: PgRun;
  /** True once the connection failed or was closed by the server. */
  readonly dead: boolean;
  /** Closes politely. */
  close(): Promise<void>;
  /** Tears the socket down at once (end() alone waits for a hung connect to time out). */
  destroy(): void;
  /** Lets the process exit while the connection sits idle (ref: holds it again). */
  unref(): void;
  ref(): void;
}

/** The error a call ends with when its signal fires. */
export function abortError(config: PostgresTargetConfig, username: string, action: string): Error {
  return targetError('KT_TARGET_UNAVAILABLE', endpointOf(config), { username, action }, undefined, 'aborted (time limit reached)');
}

/** Connects as `cred`. Errors are KeyturnErrors; the driver's never escape. */
export async function openPgSession(config: PostgresTargetConfig, cred: Credential, signal: AbortSignal, action: string): Promise<PgSession> {
  const at = endpointOf(config);
  const pg = await loadPg();
  const client = new pg.Client({
    host: config.host,
    port: config.port,
    database: config.database,
    user: cred.username,
    password: cred.password,
    ssl: config.ssl === true ? true : false,
    connectionTimeoutMillis: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'keyturn',
  });
  let dead = false;
  // A connection that dies between statements emits 'error'; a pending call rejects on its own.
  client.on('error', () => void (dead = true));
  client.on('end', () => void (dead = true));
  const socket = () => (client as unknown as { connection?: { stream?: { destroy(): void; ref?(): void; unref?(): void } } }).connection?.stream;
  const session: PgSession = {
    client,
    get dead() {
      return dead;
    },
    run: async (sql, params, subject, what) => {
      try {
        // Without parameters, the simple query protocol: one message and one round trip instead of five.
        return params.length === 0 ? await client.query(sql) : await client.query(sql, params);
      } catch (e) {
        throw pgError(e, at, { username: subject, action: what }, cred.username);
      }
    },
    close: () => client.end().catch(() => undefined),
    destroy: () => {
      dead = true;
      socket()?.destroy();
      void client.end().catch(() => undefined);
    },
    unref: () => socket()?.unref?.(),
    ref: () => socket()?.ref?.(),
  };
  await abortable(
    signal,
    session.destroy,
    () => abortError(config, cred.username, action),
    async () => {
      try {
        await client.connect();
      } catch (e) {
        throw pgError(e, at, { username: cred.username, action }, cred.username, true);
      }
    },
  );
  return session;
}

/** Connects as `cred`, runs `fn`, closes. */
export async function withPgClient<T>(config: PostgresTargetConfig, cred: Credential, signal: AbortSignal, action: string, fn: (client: pg.Client, run: PgRun) => Promise<T>): Promise<T> {
  const session = await openPgSession(config, cred, signal, action);
  try {
    return await abortable(
      signal,
      session.destroy,
      () => abortError(config, cred.username, action),
      () => fn(session.client, session.run),
    );
  } finally {
    if (signal.aborted) session.destroy();
    else await session.close();
  }
}
