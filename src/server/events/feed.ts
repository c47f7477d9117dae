/**
 * The change stream's wake-up signal, one per server: each open stream reads the audit log from
 * its own position and, when it has read everything, waits here for "the log may have grown".
 * That comes at once when this process appends (AuditLog.onAppended, after the commit), and from
 * a poll of the audit head every `pollMs` (default 100 ms) for what other processes (another
 * `keyturn server` on the same PostgreSQL, the CLI) append. The poll runs only while a stream is
 * open: one cheap read per interval per server, whatever the number of streams.
 *
 * A generation number makes the wait race-free: a stream takes it before reading, and waits for
 * it to change, so a wake-up between its read and its wait is not lost.
 *
 * It also knows the open streams, so closing the server (SIGTERM) ends them all at once.
 *
 * @example
 * ```ts
 * const feed = new EventFeed(kt.audit, kt.log, { pollMs: 100 });
 * const g = feed.generation;
 * const rows = await kt.audit.between(cursor + 1, undefined, 100);
 * if (rows.length === 0) await feed.changedSince(g);
 * ```
 */
import type { Logger } from '../../core/logger.js';
import type { AuditLog } from '../../audit/log.js';
import { isKeyturnError } from '../../core/errors.js';

export interface EventFeedOptions {
  /** How often the audit head is read for events other processes appended (default 100 ms). */
  pollMs?: number;
}

export const DEFAULT_EVENTS_POLL_MS = 100;

export class EventFeed {
  readonly #audit: AuditLog;
  readonly #log: Logger;
  readonly #pollMs: number;
  #generation = 0;
  #closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #streams = new Set<() => void>();
  #timer: NodeJS.Timeout | null = null;
  #stopListening: (() => void) | null = null;
  #lastSize = -1;
  #polling = false;
  #failing = false;

  constructor(audit: AuditLog, log: Logger, options: EventFeedOptions = {}) {
    this.#audit = audit;
    this.#log = log;
    this.#pollMs = options.pollMs ?? DEFAULT_EVENTS_POLL_MS;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Resolves once the generation is no longer `g` (the log may have grown), the feed closed, or `signal` aborted. */
  changedSince(g: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed || this.#generation !== g || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = (): void => {
        this.#waiters.delete(waiter);
        signal?.removeEventListener('abort', waiter);
        resolve();
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', waiter, { once: true });
    });
  }

  /**
   * Registers an open stream: `end` is called when the server closes. Returns the way to
   * unregister it (when the client went away). While any stream is open, the head is polled.
   */
  open(end: () => void): () => void {
    if (this.#closed) {
      end();
      return () => undefined;
    }
    this.#streams.add(end);
    if (this.#timer === null) {
      this.#stopListening = this.#audit.onAppended(() => this.#wake());
      this.#timer = setInterval(() => void this.#poll(), this.#pollMs);
      this.#timer.unref();
    }
    return () => {
      this.#streams.delete(end);
      if (this.#streams.size === 0) this.#stop();
    };
  }

  /** Ends every open stream and every wait; new streams end at once. */
  close(): void {
    this.#closed = true;
    this.#stop();
    for (const end of [...this.#streams]) end();
    this.#streams.clear();
    this.#wake();
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#stopListening?.();
    this.#stopListening = null;
    this.#lastSize = -1;
  }

  #wake(): void {
    this.#generation++;
    for (const waiter of [...this.#waiters]) waiter();
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const { size } = await this.#audit.head();
      if (this.#failing) this.#log.info('change stream: the audit log answers again');
      this.#failing = false;
      if (size !== this.#lastSize) {
        this.#lastSize = size;
        this.#wake();
      }
    } catch (e) {
      // Logged once per outage; the streams wait (their clients get heartbeats) until it answers.
      if (!this.#failing) this.#log.warn({ code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'change stream: the audit head could not be read');
      this.#failing = true;
    } finally {
      this.#polling = false;
    }
  }
}
