/**
 * One MySQL/MariaDB connection for one target call: opened with the given credential, bounded
 * by the connect timeout, a per-statement timeout and the context's AbortSignal (which destroys
 * the socket), mapped errors only, and always closed. Sessions that build statements with
 * literals add NO_BACKSLASH_ESCAPES to their sql_mode first (see ./quote.ts).
 *
 * @example
 * ```ts
 * await withMysql(config, cred, ctx.signal, { action: 'log in' }, (run) => run('SELECT 1', 'app', 'run SELECT 1'));
 * ```
 */
import { loadMysql } from '../../core/drivers.js';
import { abortable } from '../abortable.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Endpoint } from '../target-error.js';
import type { Credential } from '../target.js';
import type { MysqlTargetConfig } from './config.js';
import { mysqlError } from './errors.js';

export function endpointOf(config: MysqlTargetConfig): Endpoint {
  return { kind: 'mysql', host: config.host, port: config.port };
}

/** Runs one statement (no placeholders); failures are mapped, naming `subject` and `action`. */
export type MysqlRun = (sql: string, subject: string, action: string) => Promise<Record<string, unknown>[]>;

export interface SessionOptions {
  /** What the session is for, in messages. */
  action: string;
  /** Add NO_BACKSLASH_ESCAPES to sql_mode so ./quote.ts literals are exact. */
  literals?: boolean;
}

/** Connects as `cred`, runs `fn`, closes. Errors are KeyturnErrors; the driver's never escape. */
export async function withMysql<T>(config: MysqlTargetConfig, cred: Credential, signal: AbortSignal, options: SessionOptions, fn: (run: MysqlRun) => Promise<T>): Promise<T> {
  const at = endpointOf(config);
  const mysql = await loadMysql();
  const conn = mysql.createConnection({
    host: config.host,
    port: config.port,
    user: cred.username,
    password: cred.password,
    database: config.database,
    connectTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    multipleStatements: false,
    charset: 'utf8mb4_general_ci',
  });
  // Errors between statements are emitted; the pending statement rejects on its own.
  conn.on('error', () => undefined);
  const run: MysqlRun = (sql, subject, action) =>
    new Promise((resolve, reject) => {
      conn.query({ sql, timeout: STATEMENT_TIMEOUT_MS }, (err, rows) => {
        if (err) reject(mysqlError(err, at, { username: subject, action }, cred.username));
        else resolve(Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []);
      });
    });
  const onAbort = (): Error => targetError('KT_TARGET_UNAVAILABLE', at, { username: cred.username, action: options.action }, undefined, 'aborted (time limit reached)');
  let connected = false;
  try {
    return await abortable(
      signal,
      () => conn.destroy(),
      onAbort,
      async () => {
        await new Promise<void>((resolve, reject) => {
          conn.connect((err) => (err ? reject(mysqlError(err, at, { username: cred.username, action: options.action }, cred.username, true)) : resolve()));
        });
        connected = true;
        if (options.literals) await run("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_BACKSLASH_ESCAPES')", cred.username, 'prepare the session');
        return fn(run);
      },
    );
  } finally {
    if (connected && !signal.aborted) await new Promise<void>((resolve) => conn.end(() => resolve()));
    else conn.destroy();
  }
}
