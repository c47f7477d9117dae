/**
 * One SSH connection for one target call (ssh2 client): public key login only (no agent, no
 * keyboard-interactive, no password), the host key checked against `hostKey` when configured,
 * bounded by the connect timeout (handshake and login included), a backstop on each command and
 * the context's AbortSignal; mapped errors only; always closed. The private key stays in memory.
 *
 * @example
 * ```ts
 * await withSsh(config, { username: 'app', password: privateKey }, ctx.signal, 'log in', (run) => run('true', '', 'run true'));
 * ```
 */
import { isKeyturnError } from '../../core/errors.js';
import { loadSsh2 } from '../../core/drivers.js';
import { abortable } from '../abortable.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Endpoint } from '../target-error.js';
import type { Credential } from '../target.js';
import type { SshTargetConfig } from './config.js';
import { sshError } from './errors.js';
import { BadKeyError, clientKey, fingerprintOf } from './keys.js';

export function endpointOf(config: SshTargetConfig): Endpoint {
  return { kind: 'ssh', host: config.host, port: config.port };
}

/** What a remote command did. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
}

/** Runs `command` with `stdin` written to it; resolves with its exit code (a failed start is a mapped error). */
export type SshRun = (command: string, stdin: string, what: string) => Promise<Ran>;

/** Connects and logs in as `login` (its `password` is the private key), runs `fn`, disconnects. Errors are KeyturnErrors. */
export async function withSsh<T>(config: SshTargetConfig, login: Credential, signal: AbortSignal, action: string, fn: (run: SshRun) => Promise<T>): Promise<T> {
  const at = endpointOf(config);
  const attempt = { username: login.username, action };
  let privateKey: string;
  try {
    privateKey = clientKey(login.password);
  } catch (e) {
    if (e instanceof BadKeyError) throw targetError('KT_TARGET_AUTH_FAILED', at, attempt, 'key', `the credential is ${e.message}`);
    throw e;
  }
  const { Client } = await loadSsh2();
  const client = new Client();
  const timeoutMs = config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const onAbort = (): Error => targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, signal.aborted ? 'aborted (time limit reached)' : 'timed out');
  const cancel = (): void => void client.destroy();
  // Errors after the login (a dropped connection) end the pending command; keep them handled.
  let late: unknown;
  const run: SshRun = (command, stdin, what) =>
    new Promise<Ran>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.destroy();
        reject(targetError('KT_TARGET_UNAVAILABLE', at, { username: login.username, action: what }, undefined, `no answer within ${STATEMENT_TIMEOUT_MS} ms`));
      }, STATEMENT_TIMEOUT_MS);
      client.exec(command, (err, stream) => {
        if (err) {
          clearTimeout(timer);
          reject(sshError(err, at, { username: login.username, action: what }, login.username));
          return;
        }
        let stdout = '';
        stream.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        stream.stderr.on('data', () => undefined);
        stream.on('close', (code: number | null) => {
          clearTimeout(timer);
          if (late !== undefined && code === undefined) reject(sshError(late, at, { username: login.username, action: what }, login.username));
          else resolve({ code: typeof code === 'number' ? code : null, stdout });
        });
        stream.end(stdin);
      });
    });
  try {
    const handshake = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs + 1000)]);
    await abortable(
      handshake,
      cancel,
      onAbort,
      () =>
        new Promise<void>((resolve, reject) => {
          let ready = false;
          client.once('ready', () => {
            ready = true;
            resolve();
          });
          client.on('error', (e: unknown) => {
            if (ready) late = e;
            else reject(sshError(e, at, attempt, login.username));
          });
          client.once('close', () => {
            if (!ready) reject(targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, 'the connection closed before the login'));
          });
          client.connect({
            host: config.host,
            port: config.port,
            username: login.username,
            privateKey,
            readyTimeout: timeoutMs,
            tryKeyboard: false,
            keepaliveInterval: 0,
            ...(config.hostKey === undefined ? {} : { hostVerifier: (key: Buffer) => fingerprintOf(key) === config.hostKey }),
          });
        }),
    );
    return await abortable(signal, cancel, onAbort, () => fn(run));
  } catch (e) {
    if (isKeyturnError(e)) throw e;
    throw targetError('KT_TARGET_FAILED', at, attempt, e instanceof Error ? e.name : undefined);
  } finally {
    client.end();
    client.destroy();
  }
}
