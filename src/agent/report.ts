/**
 * The agent's delivery reports: after a template renders (its file changed or already held the
 * bytes), the agent holds that version of its secret, and tells the server
 * (`POST /v1/deliveries`: its name, each path with the version id and number, the destination).
 * Reports never hold up or fail a render: `held` only notes the path, a report goes out on the
 * next turn of the event loop with every path noted meanwhile (one request for a whole
 * `renderAll`), and a report that fails is logged and its paths kept, so they go out again with
 * the next render or reconnection (which renders, so notes, everything). `refresh` notes every
 * path held again: on each (re)connection and every hour while the agent runs (`refreshMs`), so
 * a live agent stays subscribed on the server (KEYTURN_AGENT_STALE_AFTER, default 24 h).
 *
 * A path rendered by several templates is reported with the lowest version they hold (the host
 * has the new version only once every file of it does). No value is sent.
 *
 * @example
 * ```ts
 * const reports = new DeliveryReporter({ name: 'web-1', servers, log, signal });
 * reports.held(0, '/srv/app/db.env', secret); // reported soon, with whatever else is held by then
 * await reports.flush();                       // --once: before exiting
 * ```
 */
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import type { AgentServers } from './servers.js';

/** How often a running agent reports everything it holds again (keeps it subscribed on the server). */
export const REPORT_REFRESH_MS = 3_600_000;

interface Held {
  readonly path: string;
  readonly versionId: string;
  readonly version: number;
  readonly destination: string;
}

export interface ReporterOptions {
  readonly name: string;
  readonly servers: Pick<AgentServers, 'post'>;
  readonly log: Logger;
  /** Once aborted (the agent stops), no report is sent (one under way finishes: AgentServers.close waits for it). */
  readonly signal: AbortSignal;
  /** How often `refresh` runs by itself once `start` was called (default {@link REPORT_REFRESH_MS}). */
  readonly refreshMs?: number;
}

export class DeliveryReporter {
  readonly #o: ReporterOptions;
  /** What each template (by index) last rendered. */
  readonly #held = new Map<number, Held>();
  /** Paths to report on the next send. */
  readonly #dirty = new Set<string>();
  #scheduled = false;
  #running: Promise<void> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: ReporterOptions) {
    this.#o = o;
  }

  /** Template `index` now holds `secret` in `destination`: its path is reported soon. */
  held(index: number, destination: string, secret: DeliveredSecret): void {
    this.#held.set(index, { path: secret.path, versionId: secret.versionId, version: secret.number, destination });
    this.#dirty.add(secret.path);
    this.#schedule();
  }

  /** Reports every path held again, soon. */
  refresh(): void {
    for (const h of this.#held.values()) this.#dirty.add(h.path);
    this.#schedule();
  }

  /** Reports everything held again every `refreshMs` until `close`. */
  start(): void {
    this.#timer ??= setInterval(() => this.refresh(), this.#o.refreshMs ?? REPORT_REFRESH_MS).unref();
  }

  /** Stops the refresh timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends what is noted now (after a send under way, if one is); resolves once sent or failed. */
  flush(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#send();
        } while (this.#again && this.#dirty.size > 0 && !this.#o.signal.aborted);
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  #schedule(): void {
    if (this.#scheduled || this.#o.signal.aborted) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.flush();
    });
  }

  /** The entry for `path`: the lowest version its templates hold. */
  #entry(path: string): Held | undefined {
    let low: Held | undefined;
    for (const h of this.#held.values()) if (h.path === path && (low === undefined || h.version < low.version)) low = h;
    return low;
  }

  async #send(): Promise<void> {
    const paths = [...this.#dirty];
    if (paths.length === 0 || this.#o.signal.aborted) return;
    this.#dirty.clear();
    const deliveries = paths.flatMap((p) => {
      const h = this.#entry(p);
      return h === undefined ? [] : [{ path: h.path, versionId: h.versionId, version: h.version, destination: h.destination }];
    });
    try {
      await this.#o.servers.post('/v1/deliveries', { agent: this.#o.name, deliveries });
      this.#o.log.debug({ agent: this.#o.name, paths: deliveries.length }, 'agent: delivery report sent');
    } catch (e) {
      for (const p of paths) this.#dirty.add(p);
      if (this.#o.signal.aborted) return;
      const code = isKeyturnError(e) ? e.code : ((e as { name?: string }).name ?? 'error');
      this.#o.log.warn(
        { agent: this.#o.name, paths: deliveries.length, code, message: isKeyturnError(e) ? e.message : undefined },
        'agent: delivery report not sent; it goes again with the next render or reconnection',
      );
    }
  }
}
