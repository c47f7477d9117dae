/**
 * The HTTP sink, for a SIEM: each batch is one POST of JSON Lines (`application/x-ndjson`, one
 * `sinkLine` per event), with headers `X-Keyturn-First-Seq` / `X-Keyturn-Last-Seq` and, when a
 * token is set, `Authorization: Bearer <token>`. A 2xx answer acknowledges the batch. Network
 * errors, 408, 429 and 5xx are retried (up to `attempts`, with doubling backoff) inside the
 * delivery's time bound; any other status fails the delivery at once. Connections are not kept
 * alive, and an aborted delivery destroys its request. Signed checkpoints are POSTed the same
 * way as `checkpointLine`s, with `X-Keyturn-Kind: checkpoint` and `X-Keyturn-First-Size` /
 * `X-Keyturn-Last-Size`. An HTTP sink cannot be read back (it is write-only by design: a SIEM
 * ingest endpoint has no standard read API), so `audit verify` cannot use its copies: keep the
 * receiver's checkpoints and pass the newest as `--trusted`.
 *
 * @example
 * ```ts
 * const sink = new HttpSink({ url: 'https://siem.example/ingest', token: process.env.SIEM_TOKEN });
 * ```
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyturnError } from '../../../core/errors.js';
import { redactUrl } from '../../../core/redact-url.js';
import type { AuditSink, SinkCheckpoint, SinkRecord } from '../sink.js';
import { checkpointLine, sinkLine } from '../sink.js';

export interface HttpSinkOptions {
  readonly url: string;
  readonly token?: string | undefined;
  /** Tries per delivery (default 3). */
  readonly attempts?: number;
  /** First retry delay in ms, doubled each time (default 200). */
  readonly backoffMs?: number;
}

class Permanent extends Error {}

export class HttpSink implements AuditSink {
  readonly name: string;
  readonly formerNames: readonly string[];
  readonly #url: URL;
  readonly #token: string | undefined;
  readonly #attempts: number;
  readonly #backoffMs: number;

  constructor(options: HttpSinkOptions) {
    this.#url = new URL(options.url);
    this.#token = options.token;
    this.#attempts = options.attempts ?? 3;
    this.#backoffMs = options.backoffMs ?? 200;
    this.name = `http:${redactUrl(options.url)}`;
    // Earlier versions hid only a userinfo password: a cursor named with a ?token= in clear is renamed.
    const legacy = new URL(options.url);
    if (legacy.password) legacy.password = '***';
    this.formerNames = `http:${legacy.toString()}` === this.name ? [] : [`http:${legacy.toString()}`];
  }

  async deliver(records: readonly SinkRecord[], signal: AbortSignal): Promise<void> {
    await this.#send(
      records.map((r) => `${sinkLine(r)}\n`),
      { 'x-keyturn-first-seq': String(records[0]?.seq ?? ''), 'x-keyturn-last-seq': String(records[records.length - 1]?.seq ?? '') },
      signal,
    );
  }

  async deliverCheckpoints(checkpoints: readonly SinkCheckpoint[], signal: AbortSignal): Promise<void> {
    await this.#send(
      checkpoints.map((c) => `${checkpointLine(c)}\n`),
      { 'x-keyturn-kind': 'checkpoint', 'x-keyturn-first-size': String(checkpoints[0]?.size ?? ''), 'x-keyturn-last-size': String(checkpoints[checkpoints.length - 1]?.size ?? '') },
      signal,
    );
  }

  async #send(lines: readonly string[], extra: Record<string, string>, signal: AbortSignal): Promise<void> {
    const body = Buffer.from(lines.join(''), 'utf8');
    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      'content-length': String(body.length),
      ...extra,
      connection: 'close',
    };
    if (this.#token !== undefined && this.#token !== '') headers.authorization = `Bearer ${this.#token}`;
    let last = '';
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      signal.throwIfAborted();
      try {
        await this.#post(body, headers, signal);
        return;
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        last = (e as Error).message;
        if (e instanceof Permanent) break;
      }
      if (attempt < this.#attempts) await sleep(this.#backoffMs * 2 ** (attempt - 1), undefined, { signal });
    }
    throw new KeyturnError('KT_AUDIT_SINK_FAILED', `${this.name}: ${last}`);
  }

  #post(body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
    const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const req = send(this.#url, { method: 'POST', headers, agent: false, signal }, (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else if (status === 408 || status === 429 || status >= 500) reject(new Error(`HTTP ${status}`));
          else reject(new Permanent(`HTTP ${status} (not retried)`));
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code ?? e.message)));
      req.end(body);
    });
  }
}
