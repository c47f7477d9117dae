/**
 * The http-api-key target's HTTP client, opened for one target call and always closed: its own
 * undici connection pool (trusting `caFile` when given), each request bounded by `timeoutMs`, the
 * connect by `connectTimeoutMs`, and all by the context's signal. Redirects are never followed
 * (the request holds the admin credential or the key). A 429 answer whose Retry-After is at most
 * `maxRetryAfterMs` is waited out and the request sent again, twice at most. Answers are read up
 * to 1 MiB; their body is parsed only when a caller asks (`json()`), and never logged.
 *
 * @example
 * ```ts
 * await withProvider(config, ctx.signal, async (send) => {
 *   const answer = await send(renderRequest(config, config.test, values), 'test', { username: 'app', action: 'test a key' });
 *   answer.status; // 200
 * });
 * ```
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyturnError } from '../../core/errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../config-fields.js';
import { targetError, type Attempt } from '../target-error.js';
import { DEFAULT_MAX_RETRY_AFTER_MS, DEFAULT_TIMEOUT_MS, type HttpApiKeyTargetConfig, type RequestConfig } from './config.js';
import { endpointOf, requestError } from './errors.js';
import { renderJson, renderString, type RequestName, type TemplateValues } from './template.js';

/** The largest answer read; a provider's key list is far smaller. */
const MAX_ANSWER_BYTES = 1024 * 1024;
/** How many times a rate-limited request is sent again after waiting. */
const RATE_LIMIT_RETRIES = 2;

/** A request with its templates rendered: what goes on the wire. */
export interface RenderedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** An answer: its status, the Retry-After it gave (ms, null without one) and its body, parsed on demand. */
export interface Answer {
  readonly status: number;
  readonly retryAfterMs: number | null;
  /** The body as JSON; undefined when it is empty or not JSON. */
  json(): unknown;
}

/** A header value that would hold a line break once rendered (from the key or an admin field). */
export class UnsafeHeader extends Error {
  constructor(readonly header: string) {
    super(`the value of header ${header} would hold a line break`);
    this.name = 'UnsafeHeader';
  }
}

/** Sends one rendered request; failures without an answer are KeyturnErrors naming `attempt`. */
export type Send = (request: RenderedRequest, name: RequestName, attempt: Attempt) => Promise<Answer>;

/**
 * Renders one request: throws MissingValue (./template.ts) for a value that is not there,
 * UnsafeHeader for a header value that would hold a line break.
 *
 * @example
 * ```ts
 * renderRequest(config, config.revoke, { username: 'app', keyId: 'k_7', admin }).url; // 'https://api.example.com/v1/accounts/app/keys/k_7'
 * ```
 */
export function renderRequest(config: HttpApiKeyTargetConfig, request: RequestConfig, values: TemplateValues): RenderedRequest {
  const base = config.baseUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, template] of Object.entries(request.headers ?? {})) {
    const value = renderString(template, values);
    // eslint-disable-next-line no-control-regex
    if (/[\r\n\u0000]/.test(value)) throw new UnsafeHeader(name);
    headers[name.toLowerCase()] = value;
  }
  let body: string | undefined;
  if (request.body !== undefined) {
    body = JSON.stringify(renderJson(request.body, values));
    headers['content-type'] ??= 'application/json';
  }
  return { method: request.method, url: `${base}${renderString(request.path, values, encodeURIComponent)}`, headers, body };
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Opens a pool for one target call, runs `fn` with its `send`, and closes the pool. */
export async function withProvider<T>(config: HttpApiKeyTargetConfig, signal: AbortSignal, fn: (send: Send) => Promise<T>): Promise<T> {
  const at = endpointOf(config.baseUrl);
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxWait = config.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  let ca: Buffer | undefined;
  if (config.caFile !== undefined) {
    try {
      ca = await readFile(config.caFile);
    } catch {
      throw new KeyturnError('KT_TARGET_CONFIG_INVALID', `the http-api-key target at ${at.host}:${at.port} cannot read its caFile ${config.caFile}`, {
        details: { target: at.kind, host: at.host, port: at.port },
      });
    }
  }
  const { Agent, fetch } = await import('undici');
  const agent = new Agent({
    connect: { timeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  async function once(request: RenderedRequest, attempt: Attempt): Promise<Answer> {
    let status: number;
    let retryAfter: string | null;
    let text = '';
    try {
      const res = await fetch(request.url, {
        method: request.method,
        dispatcher: agent,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headers: request.headers,
        body: request.body,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      let size = 0;
      const chunks: Uint8Array[] = [];
      for await (const chunk of res.body ?? []) {
        size += chunk.byteLength;
        if (size > MAX_ANSWER_BYTES) throw targetError('KT_TARGET_FAILED', at, attempt, status, 'the answer is larger than 1 MiB');
        chunks.push(chunk);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } catch (e) {
      if (e instanceof KeyturnError) throw e;
      throw requestError(e, at, attempt, signal.aborted);
    }
    let parsed: { value: unknown } | null = null;
    return {
      status,
      retryAfterMs: retryAfterMs(retryAfter),
      json: () => {
        if (parsed === null) {
          try {
            parsed = { value: text === '' ? undefined : (JSON.parse(text) as unknown) };
          } catch {
            parsed = { value: undefined };
          }
        }
        return parsed.value;
      },
    };
  }

  const send: Send = async (request, _name, attempt) => {
    for (let retry = 0; ; retry += 1) {
      const answer = await once(request, attempt);
      const wait = answer.retryAfterMs;
      if (answer.status !== 429 || retry >= RATE_LIMIT_RETRIES || wait === null || maxWait === 0 || wait > maxWait) return answer;
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        throw targetError('KT_TARGET_UNAVAILABLE', at, attempt, 429, 'aborted (time limit reached) while waiting out a rate limit');
      }
    }
  };

  try {
    return await fn(send);
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}
