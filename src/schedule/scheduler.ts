/**
 * The scheduler: rotates secrets when they are due, in `keyturn server`, in `keyturn worker` and
 * once in `keyturn rotate --due`. A pass claims the due secrets it has room for
 * (src/schedule/due-repo.ts: emergency, then manual requests, then the most overdue; at most
 * `concurrency` rotations at once here and `targetConcurrency` on one target; PostgreSQL's
 * `FOR UPDATE SKIP LOCKED` splits them between instances) and hands each to the engine's `tend`:
 * the engine takes the secret's lease, runs the cleanups earlier rotations owe that are due
 * (src/engine/cleanup.ts), then checks again that the secret is due for a rotation, so a
 * secret is rotated once per due time however many instances claim it, and an unfinished run (a
 * retry whose time came, a run whose worker died) is resumed, not started again.
 *
 * Passes run every `intervalMs`, and at once when a rotation ends (its slot is free, and more may
 * be due: a pass that finds nothing costs one indexed query). `stop()` ends the passes, asks the runs under way to stop at
 * their next step boundary (the engine's `stopped`, which the owner wires to {@link
 * Scheduler.stopping}) and waits for them.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ state, clock, log, engine: () => kt.engineFor(ctx, { stopped: () => scheduler.stopping }) }, settings.scheduler);
 * scheduler.start();
 * ...
 * await scheduler.stop();
 * ```
 */
import type { Clock } from '../core/clock.js';
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Engine } from '../engine/engine.js';
import { holderId } from '../engine/leases.js';
import type { CleanupOutcome } from '../engine/cleanup.js';
import type { Run } from '../engine/runs-repo.js';
import type { StateDb } from '../state/db.js';
import { DueRepo, type Claimed } from './due-repo.js';

export interface SchedulerOptions {
  /** How often a pass runs. */
  readonly intervalMs: number;
  /** Rotations at once in this instance. */
  readonly concurrency: number;
  /** Rotations at once on one target in this instance. */
  readonly targetConcurrency: number;
  /** How long a claimed secret is left to this instance before another may take it. */
  readonly claimMs: number;
}

/** Told about each pass (metrics); never given a value. */
export interface SchedulerObserver {
  passed(seconds: number, claimed: number): void;
}

export interface SchedulerDeps {
  readonly state: StateDb;
  readonly clock: Clock;
  readonly log: Logger;
  /** The engine the rotations run on (its `stopped` should read {@link Scheduler.stopping}). */
  engine(): Promise<Engine>;
  /** Who claims (default: this process's holder id). */
  readonly holder?: string;
  /** Asked before each claim besides `stop()` (the CLI's SIGTERM asks the engine to stop). */
  readonly stopped?: () => boolean;
  readonly observer?: SchedulerObserver;
}

/** How one claimed secret ended: its run and the cleanups done, or why there was none (KT_NOT_DUE and KT_RUN_LOCKED: skipped, nothing to do). */
export interface DueOutcome {
  readonly path: string;
  readonly priority: number;
  readonly run: Run | null;
  /** The cleanups of earlier rotations done before (src/engine/cleanup.ts). */
  readonly cleanups: readonly CleanupOutcome[];
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Who the scheduler's rotations name in the audit log (a server's or a worker's). */
export const SCHEDULER_CONTEXT = Object.freeze({ actor: 'system:scheduler', source: 'scheduler', correlationId: null });

/** Told how each claimed secret ended; the rotation's slot stays taken until it returns. */
export type OutcomeListener = (o: DueOutcome) => void | Promise<void>;

/** The codes that mean "nothing to do here": another worker has it, or it is not due any more. */
export const SKIPPED_CODES: ReadonlySet<string> = new Set(['KT_NOT_DUE', 'KT_RUN_LOCKED']);

export class Scheduler {
  readonly due: DueRepo;
  readonly holder: string;
  private readonly inFlight = new Map<string, { target: string | null; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<number> | null = null;
  private stopRequested = false;
  private started: Promise<void> | null = null;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly o: SchedulerOptions,
  ) {
    this.due = new DueRepo(deps.state, deps.clock);
    this.holder = deps.holder ?? holderId();
  }

  /** True once `stop()` was called: the engine's runs stop at their next step boundary. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Rotations under way here. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Fills in the rows of policies that have none, then passes every `intervalMs` until `stop()`. */
  start(): void {
    if (this.started) return;
    this.started = this.due
      .reconcile()
      .then((n) => {
        if (n > 0) this.deps.log.info({ secrets: n }, 'scheduler: due times computed for secrets that had none');
      })
      .catch((e: unknown) => this.deps.log.warn({ code: codeOf(e) }, 'scheduler: the due times could not be reconciled; passes go on'))
      .then(() => {
        if (this.stopRequested) return;
        this.kick();
        this.timer = setInterval(() => this.kick(), this.o.intervalMs);
        this.timer.unref();
      });
  }

  /** Starts a pass now unless one is under way or the scheduler is stopping. */
  private kick(): void {
    if (this.stopRequested || this.passing) return;
    void this.pass().catch((e: unknown) => this.deps.log.warn({ code: codeOf(e) }, 'scheduler pass failed; the next one tries again'));
  }

  /**
   * One pass: claims what is due at `now` for the free slots and starts each rotation (without
   * waiting for it). Returns how many it claimed. One pass at a time: a call while one is under
   * way waits for it and returns 0.
   */
  async pass(now = this.deps.clock.now(), onOutcome?: OutcomeListener): Promise<number> {
    if (this.passing) {
      await this.passing.catch(() => 0);
      return 0;
    }
    const p = this.claimAndStart(now, onOutcome);
    this.passing = p;
    try {
      return await p;
    } finally {
      this.passing = null;
    }
  }

  private async claimAndStart(now: number, onOutcome?: OutcomeListener): Promise<number> {
    if (this.stopRequested || this.deps.stopped?.()) return 0;
    const free = this.o.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const busy = new Map<string, number>();
    for (const f of this.inFlight.values()) if (f.target !== null) busy.set(f.target, (busy.get(f.target) ?? 0) + 1);
    const t0 = performance.now();
    const claimed = await this.due.claim({ now, limit: free, holder: this.holder, claimMs: this.o.claimMs, targetLimit: this.o.targetConcurrency, busy });
    try {
      this.deps.observer?.passed((performance.now() - t0) / 1000, claimed.length);
    } catch {
      // An observer's failure is not the pass's.
    }
    if (claimed.length > 0) this.deps.log.debug({ claimed: claimed.length, free }, 'scheduler: claimed due secrets');
    for (const c of claimed) this.startOne(c, onOutcome);
    return claimed.length;
  }

  private startOne(c: Claimed, onOutcome?: OutcomeListener): void {
    const done = this.rotate(c)
      .then(async (o) => {
        try {
          await onOutcome?.(o);
        } catch {
          // A listener's failure is not the rotation's.
        }
      })
      .finally(() => {
        this.inFlight.delete(c.path);
        // A slot is free: more may be due (a pass that finds nothing is one indexed query).
        if (this.timer !== undefined) this.kick();
      });
    this.inFlight.set(c.path, { target: c.target, done });
  }

  private async rotate(c: Claimed): Promise<DueOutcome> {
    const log = this.deps.log;
    try {
      const engine = await this.deps.engine();
      const { run, cleanups } = await engine.tend(c.path);
      for (const k of cleanups) log.info({ path: c.path, versionId: k.versionId, revoke: k.revoke, purge: k.purge, code: k.errorCode ?? undefined }, 'scheduler: cleanup ended');
      if (run) log.info({ path: c.path, runId: run.id, status: run.status, code: run.errorCode ?? undefined }, 'scheduler: rotation ended');
      return { path: c.path, priority: c.priority, run, cleanups, error: null };
    } catch (e) {
      const code = codeOf(e);
      const message = isKeyturnError(e) ? e.message : 'unexpected error';
      // KT_RUN_LOCKED: another worker holds it; its claim keeps it off for claimMs, then a pass looks again.
      if (SKIPPED_CODES.has(code)) log.debug({ path: c.path, code }, 'scheduler: skipped');
      else {
        // Refused before any run started (a leftover pending version and the target down, the database away):
        // no run's backoff applies, so it waits claimMs before the next try instead of being taken at every pass.
        log.warn({ path: c.path, code }, 'scheduler: rotation did not run; tried again later');
        await this.due.postpone(c.path, this.deps.clock.now() + this.o.claimMs).catch(() => undefined);
      }
      return { path: c.path, priority: c.priority, run: null, cleanups: [], error: { code, message } };
    }
  }

  /**
   * `keyturn rotate --due`: what is due now, rotated, then returns. Passes claim what was due
   * when it began (a secret rotated meanwhile and due again later is not taken again), as many
   * at once as the limits allow, until nothing due is left and every rotation has ended.
   */
  async runOnce(onOutcome?: OutcomeListener): Promise<void> {
    const now = this.deps.clock.now();
    await this.due.reconcile();
    for (;;) {
      const claimed = await this.pass(now, onOutcome);
      if (this.stopRequested || this.deps.stopped?.()) break;
      if (claimed > 0) continue;
      // Nothing claimed: done when nothing runs either; else a slot (or a target's) frees up when one ends.
      if (this.inFlight.size === 0) break;
      await Promise.race([...this.inFlight.values()].map((f) => f.done));
    }
    await this.drain();
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
  }

  /** Stops the passes and waits for the rotations under way (each stops at its next step boundary). */
  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.started;
    await this.passing?.catch(() => 0);
    await this.drain();
  }
}

function codeOf(e: unknown): string {
  return isKeyturnError(e) ? e.code : 'KT_INTERNAL';
}
