/**
 * Detection as events arrive, in `keyturn server`: follows the audit log, gives each event to every
 * detector, and records what they find ({@link AnomaliesRepo}: the row, the `anomaly.<type>` audit
 * event, then the Prometheus counter and, when the secret's policy says `rotateOnAnomaly`, a
 * rotation). Notifications follow from the audit event (src/notify/fill.ts).
 *
 * - **Following.** It wakes when this process appends (AuditLog.onAppended) and every `pollMs` for
 *   other processes' events, at most once per `batchMs`. The events of this process's group
 *   commits (the requests' reads) are handed over as they were built (AuditLog.onCommittedEvents:
 *   no read back, no parse); the others are read from the log in pages of 1,000.
 * - **Restarts.** How far it has raised anomalies is kept (`detect_cursor`, written at most every
 *   `saveEveryMs` and on stop). At start it first replays up to `warmupDays` (at most
 *   `warmupMaxEvents` events) before that point to learn, raising nothing, then goes on from it.
 *   Events replayed again after a crash may find the same anomalies: recorded once
 *   (the repository is idempotent). On its first start ever it begins at the head of the log.
 * - **Several servers** on one database each run it; each anomaly is recorded once.
 * - **Cost.** Each event costs a parse of its leaf and one `observe` per detector (bench:detect
 *   gives the figure against the append rate). Memory is bounded by the detectors' `maxIdentities`.
 *
 * @example
 * ```ts
 * const runner = new DetectionRunner(kt, { detectors: createDetectors([]), rotate, onAnomaly: (t) => metrics.anomalies.record(t) });
 * await runner.start();
 * // ...
 * await runner.stop();
 * ```
 */
import type { AccessRepo } from '../access/access-repo.js';
import { checkEvent, type AuditEvent } from '../audit/event.js';
import { isKeyturnError } from '../core/errors.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { toAccessEvent } from './adapt.js';
import { AnomaliesRepo } from './anomalies-repo.js';
import type { Anomaly, AnomalyType, Detector } from './detector.js';
import { PolicyWatch } from './widening.js';

const CURSOR = 'audit';
const PAGE = 1000;
const DAY_MS = 86_400_000;
/** Handed-off events kept between passes at most (beyond, they are read back from the log). */
const MAX_HANDED = 100_000;

export interface DetectionOptions {
  /** The detectors (src/detect/registry.ts `createDetectors`). */
  readonly detectors: readonly Detector[];
  /** The access repository (for the policies the privilege-escalation detector compares). */
  readonly access: AccessRepo;
  /** Starts a rotation of `path` (the server's engine), the anomaly's id as its correlation id. */
  readonly rotate?: (path: string, correlationId: string) => Promise<{ id: string }>;
  /** Called once per recorded anomaly (the Prometheus counter). */
  readonly onAnomaly?: (type: AnomalyType) => void;
  /** How far back the replay that warms the detectors up goes, in days (default 28). */
  readonly warmupDays?: number;
  /** ... and at most this many events (default 2,000,000). */
  readonly warmupMaxEvents?: number;
  /** How often the log is read for other processes' events (default 1000 ms). */
  readonly pollMs?: number;
  /** At most one read of the log per this many ms (default 50). */
  readonly batchMs?: number;
  /** How often the cursor is saved while events flow (default 5000 ms). */
  readonly saveEveryMs?: number;
}

export interface DetectionStats {
  /** Events given to the detectors since start (the warm-up not counted). */
  readonly events: number;
  /** Events replayed to warm up. */
  readonly warmedUp: number;
  /** Anomalies recorded by this process. */
  readonly anomalies: number;
  /** The next seq it will read. */
  readonly next: number;
  readonly ready: boolean;
}

export class DetectionRunner {
  readonly #kt: Keyturn;
  readonly #opts: DetectionOptions;
  readonly #repo: AnomaliesRepo;
  #watch: PolicyWatch | undefined;
  #next = 0;
  #events = 0;
  #warmedUp = 0;
  #anomalies = 0;
  #ready = false;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #unlisten: (() => void) | null = null;
  #draining: Promise<void> | null = null;
  #again = false;
  #lastSave = 0;
  #savedNext = -1;
  #starting: Promise<void> | null = null;
  readonly #rotations = new Set<Promise<void>>();
  #handed: AuditEvent[] = [];

  constructor(kt: Keyturn, options: DetectionOptions) {
    this.#kt = kt;
    this.#opts = options;
    this.#repo = new AnomaliesRepo(kt.state, kt.audit, kt.clock);
  }

  /** Reads the cursor, starts the warm-up replay and the following (in the background); resolves once the cursor is read. */
  async start(): Promise<void> {
    const saved = await this.#readCursor();
    const head = (await this.#kt.audit.head()).size;
    this.#next = saved ?? head;
    if (saved === null) await this.#saveCursor(true);
    this.#starting = this.#warmUp(this.#next)
      .catch((e: unknown) => this.#kt.log.warn({ code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'anomaly detection: the warm-up replay stopped; detectors learn from new events only'))
      .then(() => {
        if (this.#stopped) return;
        this.#ready = true;
        const unlisten = this.#kt.audit.onAppended(() => this.#wake());
        const unhand = this.#kt.audit.onCommittedEvents((events) => this.#take(events));
        this.#unlisten = () => {
          unlisten();
          unhand();
        };
        this.#poll = setInterval(() => this.#wake(), this.#opts.pollMs ?? 1000);
        this.#poll.unref();
        this.#wake();
      });
    await Promise.resolve();
  }

  /** Resolves once the warm-up is over and every event appended so far has been given to the detectors (tests, bench). */
  async caughtUp(): Promise<void> {
    await this.#starting;
    for (;;) {
      if (this.#draining) await this.#draining;
      const head = (await this.#kt.audit.head()).size;
      if (this.#next >= head || this.#stopped) break;
      await this.#drain();
    }
    await Promise.all([...this.#rotations]);
  }

  /** Stops following, saves the cursor; resolves once a read under way and rotations started are over. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unlisten?.();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#poll) clearInterval(this.#poll);
    await this.#starting;
    await this.#draining;
    await Promise.all([...this.#rotations]);
    await this.#saveCursor(true).catch(() => undefined);
  }

  /** The types of the detectors it runs. */
  detectorTypes(): AnomalyType[] {
    return this.#opts.detectors.map((d) => d.type);
  }

  stats(): DetectionStats {
    return { events: this.#events, warmedUp: this.#warmedUp, anomalies: this.#anomalies, next: this.#next, ready: this.#ready };
  }

  /** Events this process committed, kept (up to {@link MAX_HANDED}) for the next pass; past that, the pass reads them from the log. */
  #take(events: readonly AuditEvent[]): void {
    if (this.#handed.length + events.length > MAX_HANDED) this.#handed.length = 0;
    else for (const e of events) this.#handed.push(e);
  }

  #wake(): void {
    if (this.#stopped || !this.#ready) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#drain();
    }, this.#opts.batchMs ?? 50);
    this.#timer.unref();
  }

  #drain(): Promise<void> {
    if (this.#draining) return this.#draining;
    this.#draining = (async () => {
      try {
        do {
          this.#again = false;
          for (;;) {
            if (this.#stopped) return;
            // This process's own events, as it built them: no read, no parse.
            const handed = this.#handed;
            let i = 0;
            while (i < handed.length && handed[i]!.seq < this.#next) i++;
            while (i < handed.length && handed[i]!.seq === this.#next) {
              const observed = this.#observe(handed[i]!, true);
              if (observed !== undefined) await observed;
              this.#next++;
              i++;
            }
            handed.splice(0, i);
            // The rest (other processes' events, appends in a caller's transaction) from the log, up to the next handed one.
            const rows = await this.#kt.audit.between(this.#next, handed.length > 0 ? handed[0]!.seq : undefined, PAGE);
            for (const row of rows) {
              const observed = this.#observe(checkEvent(JSON.parse(row.leaf)), true);
              if (observed !== undefined) await observed;
              this.#next = Number(row.seq) + 1;
            }
            if (rows.length === PAGE) continue;
            if (handed.length > 0 && handed[0]!.seq === this.#next) continue;
            break;
          }
        } while (this.#again && !this.#stopped);
        await this.#saveCursor(false);
      } catch (e) {
        this.#kt.log.warn({ code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'anomaly detection: reading the audit log failed; it retries at the next event');
      } finally {
        this.#draining = null;
      }
    })();
    return this.#draining;
  }

  /** Replays events before `until` to learn (anomalies found are not raised: they were, or were missed, before). */
  async #warmUp(until: number): Promise<void> {
    this.#watch = await PolicyWatch.load(this.#opts.access, this.#kt.state);
    const since = await this.#kt.audit.firstSeqSince(this.#kt.clock.now() - (this.#opts.warmupDays ?? 28) * DAY_MS);
    if (since === null || since >= until) return;
    const from = Math.max(since, until - (this.#opts.warmupMaxEvents ?? 2_000_000));
    let seq = from;
    while (seq < until && !this.#stopped) {
      const rows = await this.#kt.audit.between(seq, until, PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        const observed = this.#observe(checkEvent(JSON.parse(row.leaf)), false);
        if (observed !== undefined) await observed;
        this.#warmedUp++;
      }
      seq = Number(rows.at(-1)!.seq) + 1;
      // Let requests in between pages: the replay runs beside the server's work.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Gives one event to the detectors. A promise only when something asynchronous follows (a policy
   * change compared with the rules before it, an anomaly recorded): a server's every read passes
   * here, and most find nothing.
   */
  #observe(e: AuditEvent, raise: boolean): Promise<void> | undefined {
    // A policy change is compared with the rules before it only as it happens (the replay sees today's policies).
    if (raise && this.#watch !== undefined && e.action.startsWith('access.policy.')) return this.#observeChange(e);
    return this.#detect(e, undefined, raise);
  }

  async #observeChange(e: AuditEvent): Promise<void> {
    await this.#detect(e, await this.#watch?.onEvent(e), true);
  }

  #detect(e: AuditEvent, widening: Awaited<ReturnType<PolicyWatch['onEvent']>>, raise: boolean): Promise<void> | undefined {
    const access = toAccessEvent(e, widening);
    if (access === null) return undefined;
    if (raise) this.#events++;
    let found: Anomaly[] | undefined;
    for (const d of this.#opts.detectors) {
      const f = d.observe(access);
      if (raise && f.length > 0) (found ??= []).push(...f);
    }
    return found === undefined ? undefined : this.#raiseAll(found);
  }

  async #raiseAll(found: readonly Anomaly[]): Promise<void> {
    for (const a of found) await this.#raise(a);
  }

  async #raise(a: Anomaly): Promise<void> {
    let id: string | null;
    try {
      id = await this.#repo.record(a);
    } catch (e) {
      this.#kt.log.warn({ code: isKeyturnError(e) ? e.code : 'KT_INTERNAL', type: a.type }, 'anomaly detection: an anomaly was not recorded');
      return;
    }
    if (id === null) return;
    this.#anomalies++;
    this.#opts.onAnomaly?.(a.type);
    this.#kt.log.warn({ anomaly: id, type: a.type, actor: a.actor, path: a.path, address: a.address }, 'access anomaly');
    if (a.path !== null && this.#opts.rotate) {
      const p = this.#rotateIfAsked(id, a.type, a.path).finally(() => this.#rotations.delete(p));
      this.#rotations.add(p);
    }
  }

  async #rotateIfAsked(id: string, type: AnomalyType, path: string): Promise<void> {
    let asked: true | readonly AnomalyType[] | undefined;
    try {
      asked = (await this.#kt.applied.policy(path)).rotateOnAnomaly;
    } catch (e) {
      if (isKeyturnError(e, 'KT_POLICY_NOT_FOUND')) return;
      throw e;
    }
    if (asked === undefined || (asked !== true && !asked.includes(type))) return;
    try {
      const run = await this.#opts.rotate!(path, id);
      await this.#repo.setRotation(id, run.id);
      this.#kt.log.warn({ anomaly: id, path, run: run.id }, 'rotation started by an access anomaly');
    } catch (e) {
      const code = isKeyturnError(e) ? e.code : 'KT_INTERNAL';
      await this.#repo.setRotation(id, `refused:${code}`).catch(() => undefined);
      this.#kt.log.warn({ anomaly: id, path, code }, 'the rotation an access anomaly asked for did not start');
    }
  }

  async #readCursor(): Promise<number | null> {
    const row = await this.#kt.state.db.selectFrom('detect_cursor').select('next_seq').where('name', '=', CURSOR).executeTakeFirst();
    return row === undefined ? null : Number(row.next_seq);
  }

  async #saveCursor(force: boolean): Promise<void> {
    const now = this.#kt.clock.now();
    if (this.#next === this.#savedNext || (!force && now - this.#lastSave < (this.#opts.saveEveryMs ?? 5000))) return;
    const next = this.#next;
    await this.#kt.state.db
      .insertInto('detect_cursor')
      .values({ name: CURSOR, next_seq: next, updated_at: now })
      // Several servers save it: it only moves forward.
      .onConflict((oc) => oc.column('name').doUpdateSet({ next_seq: next, updated_at: now }).where('detect_cursor.next_seq', '<', next))
      .execute();
    this.#lastSave = now;
    this.#savedNext = next;
  }
}
