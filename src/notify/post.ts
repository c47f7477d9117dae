/**
 * One try of a webhook: a POST of the body with the headers, bounded by `timeoutMs` (the request
 * is destroyed then), its answer's status read and its body thrown away (never stored, never
 * logged). Redirects are not followed. The result says whether a later try may help: network
 * errors, timeouts, 408, 429 and 5xx may; any other status (a 3xx, a 4xx) will not.
 *
 * @example
 * ```ts
 * const r = await postWebhook('https://hooks.example.com/x', body, { 'content-type': 'application/json' }, 10_000);
 * if (!r.ok && r.retryable) scheduleRetry();
 * ```
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostResult {
  readonly ok: boolean;
  /** The answer's status; null when there was none (network error, timeout). */
  readonly status: number | null;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;
  /** Why it failed (`HTTP 500`, `ECONNREFUSED`, `timeout after 10000 ms`); null when ok. */
  readonly error: string | null;
  readonly ms: number;
}

export function postWebhook(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'ms'>): PostResult => ({ ...r, ms: Math.round(performance.now() - started) });
  return new Promise<PostResult>((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve(done({ ok: false, status: null, retryable: false, error: 'not a URL' }));
      return;
    }
    const bytes = Buffer.from(body, 'utf8');
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const settle = (r: Omit<PostResult, 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = send(target, { method: 'POST', headers: { ...headers, 'content-length': String(bytes.length), connection: 'close' }, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      res.on('error', () => undefined);
      res.resume();
      res.on('end', () => {
        if (status >= 200 && status < 300) settle({ ok: true, status, retryable: false, error: null });
        else
          settle({ ok: false, status, retryable: status === 408 || status === 429 || status >= 500, error: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}` });
      });
    });
    const timer = setTimeout(() => {
      settle({ ok: false, status: null, retryable: true, error: `timeout after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => settle({ ok: false, status: null, retryable: true, error: e.code ?? 'network error' }));
    req.end(bytes);
  });
}
