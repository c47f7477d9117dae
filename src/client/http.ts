/**
 * The CLI's one HTTP connection to a `keyturn server` (KEYTURN_ADDR, KEYTURN_TOKEN, KEYTURN_CACERT):
 * a JSON request, or a streamed answer (an audit export), with an error body turned back into the
 * same KeyturnError the server raised, so the CLI prints the same text, JSON and exit code as
 * locally. A server that does not answer (or whose certificate is not trusted) is
 * KT_SERVER_UNREACHABLE naming the address and the reason (an errno or TLS code); an answer that
 * is not the API's is KT_SERVER_ANSWER_INVALID. The token is sent only as `Authorization: Bearer`
 * and never printed. Used by ./remote.ts (secrets, runs, audit) and `keyturn breakglass`.
 *
 * @example
 * ```ts
 * const server = connectServer(settings.remote!, { correlationId: 'cli-42' });
 * try {
 *   const { requests } = await server.call('GET', '/v1/breakglass');
 * } finally {
 *   await server.close();
 * }
 * ```
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import type { RemoteSettings } from '../config/settings.js';
import { ERRORS, KeyturnError, type ErrorCode } from '../core/errors.js';

export type Json = Record<string, unknown>;

/** How long one answer may take: a rotation's attempt (or, with wait, its retries) is one request. */
const ANSWER_TIMEOUT_MS = 15 * 60_000;

export interface ServerConnection {
  /** The server's origin (KEYTURN_ADDR). */
  readonly addr: string;
  /** One request with an optional JSON body; the answer's JSON object, or the KeyturnError of its error body. */
  call(method: string, url: string, body?: Json): Promise<Json>;
  /** A GET whose answer is streamed (not JSON); an error answer is the KeyturnError of its body, before any chunk. */
  stream(url: string): Promise<AsyncIterable<Uint8Array>>;
  close(): Promise<void>;
}

/** A secret path in a URL: each segment escaped, the slashes kept. */
export function pathPart(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** `?k=v&...` of the defined parameters, or ''. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

function caOf(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_CONFIG_INVALID', `KEYTURN_CACERT: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The reason a request did not get an answer, for the message (an errno or TLS code, never the token). */
export function reasonOf(e: unknown): string {
  // Duck-typed, not instanceof: the errors of node:net and undici may come from another realm.
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && typeof cause === 'object' && cause !== null; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  const message = (e as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : 'no answer';
}

/** The KeyturnError an error body stands for. */
export function errorFrom(addr: string, status: number, body: unknown): KeyturnError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string' && Object.hasOwn(ERRORS, error.code)) {
    const details = error.details !== null && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
    return new KeyturnError(error.code as ErrorCode, typeof error.message === 'string' ? error.message : undefined, details ? { details } : {});
  }
  return new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered ${status} without a keyturn error body`, { details: { status } });
}

/** A connection to the server of `settings`; KT_SERVER_TOKEN_MISSING without a token, KT_CONFIG_INVALID for an unreadable CA file. */
export function connectServer(settings: RemoteSettings, options: { correlationId?: string } = {}): ServerConnection {
  const { addr } = settings;
  if (settings.token === undefined || settings.token === '') throw new KeyturnError('KT_SERVER_TOKEN_MISSING', `KEYTURN_ADDR is ${addr} but KEYTURN_TOKEN is not set`);
  const ca = caOf(settings.caCertFile);
  const agent = new Agent({ headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS, ...(ca === undefined ? {} : { connect: { ca } }) });
  const headers: Record<string, string> = { authorization: `Bearer ${settings.token}`, accept: 'application/json' };
  if (options.correlationId) headers['x-correlation-id'] = options.correlationId;

  const send = async (method: string, url: string, body?: Json) => {
    try {
      return await fetch(`${addr}${url}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        dispatcher: agent,
      });
    } catch (e) {
      throw new KeyturnError('KT_SERVER_UNREACHABLE', `no answer from ${addr} (${reasonOf(e)})`, { details: { addr } });
    }
  };
  const jsonOf = async (res: Awaited<ReturnType<typeof send>>): Promise<unknown> => {
    try {
      return await res.json();
    } catch {
      return null;
    }
  };

  return {
    addr,
    call: async (method, url, body) => {
      const res = await send(method, url, body);
      const parsed = await jsonOf(res);
      if (!res.ok) throw errorFrom(addr, res.status, parsed);
      if (parsed === null || typeof parsed !== 'object')
        throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered ${res.status} without a JSON object`, { details: { status: res.status } });
      return parsed as Json;
    },
    stream: async (url) => {
      const res = await send('GET', url);
      if (!res.ok) throw errorFrom(addr, res.status, await jsonOf(res));
      const body = res.body;
      if (body === null) throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered ${res.status} without a body`, { details: { status: res.status } });
      return (async function* () {
        try {
          for await (const chunk of body) yield chunk;
        } catch (e) {
          throw new KeyturnError('KT_SERVER_UNREACHABLE', `the answer from ${addr} broke off (${reasonOf(e)})`, { details: { addr } });
        }
      })();
    },
    close: () => agent.close(),
  };
}
