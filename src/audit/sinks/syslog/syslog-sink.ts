/**
 * The syslog sink: RFC 5424 messages (./format.ts) to `udp://host:port` (one datagram per event)
 * or `tcp://host:port` (octet-counted frames on one connection per delivery, RFC 6587).
 *
 * TCP is acknowledged only as far as TCP goes: a delivery succeeds once the frames are written
 * and the connection is closed cleanly; a receiver that is down refuses the connection, the
 * delivery fails, the cursor stays, nothing is lost. UDP has no acknowledgement at all: a
 * delivery succeeds once the datagrams are sent, so events sent while a UDP receiver is down are
 * lost to it (use TCP when that matters). An aborted delivery destroys its socket. Signed
 * checkpoints go as messages with MSGID `audit.checkpoint`. Syslog cannot be read back (the
 * protocol is send-only; where the collector stores messages is its business), so `audit verify`
 * cannot use its copies: pass the newest one the collector kept as `--trusted`.
 *
 * @example
 * ```ts
 * const sink = new SyslogSink('tcp://127.0.0.1:6514');
 * ```
 */
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { KeyturnError } from '../../../core/errors.js';
import type { AuditSink, SinkCheckpoint, SinkRecord } from '../sink.js';
import { formatCheckpointSyslog, formatSyslog, octetCounted } from './format.js';

export class SyslogSink implements AuditSink {
  readonly name: string;
  readonly #protocol: 'udp' | 'tcp';
  readonly #host: string;
  readonly #port: number;
  readonly #self = { hostname: hostname(), pid: process.pid };

  constructor(url: string) {
    const m = /^(udp|tcp):\/\/([^\s/:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(url);
    if (m === null || Number(m[3]) > 65535) throw new KeyturnError('KT_CONFIG_INVALID', 'the syslog sink needs udp://host:port or tcp://host:port');
    this.#protocol = m[1] as 'udp' | 'tcp';
    this.#host = (m[2] as string).replace(/^\[|\]$/g, '');
    this.#port = Number(m[3]);
    this.name = `syslog:${url}`;
  }

  async deliver(records: readonly SinkRecord[], signal: AbortSignal): Promise<void> {
    await this.#send(
      records.map((r) => formatSyslog(r, this.#self)),
      signal,
    );
  }

  async deliverCheckpoints(checkpoints: readonly SinkCheckpoint[], signal: AbortSignal): Promise<void> {
    const time = new Date().toISOString();
    await this.#send(
      checkpoints.map((c) => formatCheckpointSyslog(c, this.#self, time)),
      signal,
    );
  }

  async #send(messages: readonly string[], signal: AbortSignal): Promise<void> {
    try {
      if (this.#protocol === 'udp') await this.#udp(messages, signal);
      else await this.#tcp(messages, signal);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      throw new KeyturnError('KT_AUDIT_SINK_FAILED', `${this.name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }

  async #udp(messages: readonly string[], signal: AbortSignal): Promise<void> {
    const socket = createSocket(isIPv6(this.#host) ? 'udp6' : 'udp4');
    const abort = (): void => {
      socket.close();
    };
    signal.addEventListener('abort', abort, { once: true });
    try {
      for (const message of messages) {
        signal.throwIfAborted();
        await new Promise<void>((resolve, reject) => socket.send(Buffer.from(message, 'utf8'), this.#port, this.#host, (e) => (e ? reject(e) : resolve())));
      }
    } finally {
      signal.removeEventListener('abort', abort);
      if (!signal.aborted) socket.close();
    }
  }

  #tcp(messages: readonly string[], signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host: this.#host, port: this.#port });
      const abort = (): void => {
        socket.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', abort, { once: true });
      const done = (e?: Error): void => {
        signal.removeEventListener('abort', abort);
        if (e) reject(e);
        else resolve();
      };
      socket.on('error', (e) => {
        socket.destroy();
        done(e);
      });
      socket.on('connect', () => {
        socket.end(Buffer.concat(messages.map(octetCounted)));
      });
      socket.on('close', (hadError) => {
        if (!hadError) done();
      });
    });
  }
}
