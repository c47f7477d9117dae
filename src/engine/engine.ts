/**
 * The rotation engine: runs a durable state machine per secret,
 *
 *   prepare → create → hook-before → set → test → finish → propagate → hook-after → hook-always → done
 *        └──────┴────────────┴──────────┴──────┴──► rollback (→ always hooks) → retrying (backoff) | failed
 *
 * made durable before every outside effect and after every outcome (each commit one transaction,
 * fenced by the secret's lease, with one journal row per step it covers), so a run resumes after
 * a crash at any instant. A step with no outside effect commits with the next one: prepare with
 * create (the pending version stored in that transaction), test with finish (the stage move in
 * that transaction), finish with a propagate that has no consumer. Every step is idempotent and,
 * when this process did not see the world change itself, checks it first (does the pending
 * credential already log in?).
 *
 * The invariant it defends: the store always holds a credential that works on the target, and
 * knows every credential that may work. The pending value is stored before the target is touched;
 * a failed set or test restores or keeps the current one; the pending stage is cleared only once
 * the current credential is known to log in. A run works only from the version that is current:
 * one superseded meanwhile (a newer run or `secret put` replaced its starting version) is cancelled
 * before any outside effect (KT_RUN_SUPERSEDED), and a rollback restores the credential that is
 * current when it runs, never the run's starting value.
 *
 * The hook steps run the secret's workflow hooks (./hooks.ts: drain before the target is touched,
 * restart and verify after, undrain always); a secret without hooks never enters them. `always` also runs when an attempt that may have run `before` fails,
 * is cancelled or is superseded.
 *
 * Propagate delivers to the consumers, then, with the policy's `waitForAgents`, waits (polling
 * the agents' delivery reports, ../deliveries/wait.ts) until enough subscribed agents hold the new
 * version or `waitForAgentsTimeout` after finish's commit; like a consumer's, a shortfall ends the
 * step failed and never the rotation. A stop asked for while it waits leaves the run at propagate.
 *
 * @example
 * ```ts
 * const engine = new Engine({ state, store, applied, clock, log });
 * const run = await engine.rotate('prod/db/app');
 * run.status; // 'done'
 * ```
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { isKeyturnError, KeyturnError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Version } from '../core/types.js';
import type { Transaction } from 'kysely';
import type { StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';
import { canPutWithin, type SecretStore } from '../stores/store.js';
import { NotYet, type Credential, type Strategy } from '../targets/target.js';
import type { AppliedConfig, SecretPolicy } from './applied.js';
import { DEFAULT_AGENT_STALE_AFTER_MS, DeliveriesRepo } from '../deliveries/repo.js';
import { agentList, DEFAULT_WAIT_FOR_AGENTS_TIMEOUT, waitForAgents } from '../deliveries/wait.js';
import { fullJitterDelay } from './backoff.js';
import { deliverAll } from './propagate.js';
import type { ReplicaSync } from '../replicas/sync.js';
import type { ReplicaFallback } from '../replicas/fallback.js';
import { Leases, type HeldLease, type Lease } from './leases.js';
import { asCredential, freshPassword, nextValue } from './next-value.js';
import { nextFor, renewalWithin, renewerOf } from './renew.js';
import { strategyOf } from '../config/check-strategies.js';
import { assertTemplatesRender, templateFieldProblems } from './template-check.js';
import { codeOf, RunScope, type Subject } from './run-scope.js';
import { RunsRepo, STEPS, type Run, type Step, type StepRecord } from './runs-repo.js';
import { assertRotationSafe } from './store-capabilities.js';
import type { RunObserver, RunOutcome, RunStarted } from './observer.js';
import { DueRepo } from '../schedule/due-repo.js';
import { runHooks } from './hooks.js';
import { Cleaner, type CleanupOutcome } from './cleanup.js';
import { CleanupsRepo } from './cleanups-repo.js';

/** Called at every step boundary (and around a cleanup's outside effect: `cleanup`); tests use it to crash the process at an exact point. */
export type BoundaryHook = (step: Step | 'cleanup', when: 'before' | 'after', run: Run) => void | Promise<void>;

/** Where audit events go (the audit log, once wired); never given a value. */
export interface EngineAuditEvent {
  action: string;
  path: string;
  outcome: 'intent' | 'success' | 'failure';
  runId: string;
  correlationId: string;
  versionId?: string | null;
  errorCode?: string | null;
}

/** Where audit events go; with `trx`, the event commits with the run's own step (fail closed, one transaction). */
export interface AuditPort {
  record(event: EngineAuditEvent, trx?: Transaction<Schema>): Promise<void>;
}

export interface EngineOptions {
  state: StateDb;
  store: SecretStore;
  applied: AppliedConfig;
  clock: Clock;
  log: Logger;
  leaseTtlMs?: number;
  onBoundary?: BoundaryHook;
  audit?: AuditPort;
  random?: () => number;
  /** Told when each execution of a run starts and ends (metrics); never given a value. */
  observer?: RunObserver;
  /** Copies a new current value to the secret's replicas (propagate); absent: a policy with replicas fails its propagate step. */
  replicas?: Pick<ReplicaSync, 'copy'>;
  /** Read-only fallback replicas: a new pending value waits (NotYet at create) while one of the secret's does not hold its current version. */
  fallback?: Pick<ReplicaFallback, 'blocker'>;
  /** Asked at every step boundary besides `requestStop` (a server shutting down stops every engine it made). */
  stopped?: () => boolean;
  /** How long an agent's last delivery report keeps it subscribed (waitForAgents; default 24 h: KEYTURN_AGENT_STALE_AFTER). */
  agentStaleAfterMs?: number;
}

export interface RotateOptions {
  correlationId?: string;
  /** Keep retrying in this process (sleeping the backoff) until the run is done or failed. */
  wait?: boolean;
  /**
   * Only when the secret is due (the scheduler, `rotate --due`): decided under the secret's lease
   * from the state database (src/schedule/due-repo.ts), so a secret another worker has just
   * rotated is not rotated again. KT_NOT_DUE when it is not.
   */
  ifDue?: boolean;
}

/** Errors that no retry can fix: the run fails at once. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'KT_POLICY_NOT_FOUND',
  'KT_POLICY_NOT_ROTATABLE',
  'KT_TARGET_NOT_FOUND',
  'KT_TARGET_STRATEGY_UNSUPPORTED',
  'KT_CREDENTIAL_INVALID',
  'KT_SECRET_NOT_FOUND',
  'KT_SECRET_DELETED',
  'KT_STAGE_NOT_SET',
  'KT_PASSWORD_POLICY_UNSATISFIABLE',
  'KT_TEMPLATE_PLACEHOLDER_UNKNOWN',
  'KT_RUN_SUPERSEDED',
]);

/**
 * What a step did. `writes`: the step's own state writes, made in the transaction that journals it
 * (a pending version, a stage move). `fold`: the step had no outside effect, so it may commit
 * together with the next step instead of alone. `checksFrom`: once committed, the run's starting
 * version was current at that commit (set need not read it again).
 */
type StepResult = {
  patch?: Partial<Run>;
  outcome: StepRecord['outcome'];
  detail?: string;
  /** The code a failed outcome that is not thrown records (the step ends, the run goes on). */
  errorCode?: ErrorCode;
  audit?: EngineAuditEvent['outcome'];
  writes?: Within;
  fold?: boolean;
  checksFrom?: boolean;
  /** Nothing to record: no journal row (a hook step without hooks). */
  silent?: boolean;
};

/** Thrown by a step that stopped waiting because the engine was asked to stop: the run stops at this step's boundary, as before it. */
class StoppedInStep extends Error {}

type Within = (trx: Transaction<Schema>) => Promise<void>;

/** A step done but not committed yet: its run patch, journal row, own writes and audit event. */
interface Folded {
  step: Step;
  patch: Partial<Run>;
  /** Null: a silent step (nothing journaled). */
  record: StepRecord | null;
  writes?: Within;
  audit?: Within;
}

/** One commit for several steps: their patches merged in order, their journal rows, their writes then audit events, step by step. */
function merge(steps: readonly Folded[]): { patch: Partial<Run>; records: StepRecord[]; within: Within | undefined } {
  const patch = Object.assign({}, ...steps.map((f) => f.patch)) as Partial<Run>;
  const withins = steps.flatMap((f) => [f.writes, f.audit].filter((w): w is Within => w !== undefined));
  return {
    patch,
    records: steps.map((f) => f.record).filter((r): r is StepRecord => r !== null),
    within:
      withins.length === 0
        ? undefined
        : async (trx) => {
            for (const w of withins) await w(trx);
          },
  };
}

/** The run with a patch applied in memory (what `RunsRepo.advance` returns once it commits). */
function applyPatch(run: Run, patch: Partial<Run>): Run {
  const next: Run = { ...run };
  for (const [k, v] of Object.entries(patch) as Array<[keyof Run, never]>) if (v !== undefined) next[k] = v;
  return next;
}

/** The hook list each hook step runs. */
const HOOK_LISTS = { 'hook-before': 'before', 'hook-after': 'after', 'hook-always': 'always' } as const satisfies Partial<Record<Step, 'before' | 'after' | 'always'>>;

/** The step after `step`: a hook step whose list is empty for this policy is passed over (it would do nothing). */
function nextStep(step: Step, policy: SecretPolicy): Step {
  let next: Step = STEPS[STEPS.indexOf(step) + 1] ?? 'done';
  while (next in HOOK_LISTS && (policy.hooks?.[HOOK_LISTS[next as keyof typeof HOOK_LISTS]].length ?? 0) === 0) next = STEPS[STEPS.indexOf(next) + 1] ?? 'done';
  return next;
}

/** The steps after finish: the new value is current; a failure there resumes at the same step and never rolls back. */
const AFTER_FINISH: ReadonlySet<Step> = new Set<Step>(['propagate', 'hook-after', 'hook-always', 'done']);

/** Whether a run at `step` may have run its `before` hooks in this attempt (so `always` must run at its end). */
function mayHaveRunBefore(step: Step): boolean {
  return STEPS.indexOf(step) >= STEPS.indexOf('hook-before');
}

/** A message safe to store: KeyturnErrors are written never to hold values; others are reduced to their class. */
function messageOf(e: unknown): string {
  if (isKeyturnError(e)) return e.message;
  return e instanceof Error ? `${e.name} (unexpected; see the logs at debug level)` : 'unexpected error';
}

export class Engine {
  readonly runs: RunsRepo;
  readonly leases: Leases;
  /** The scheduler's index of due secrets: written again after every run (src/schedule/due-repo.ts). */
  readonly due: DueRepo;
  /** What rotations leave to do after `grace` and `retainPrevious` (./cleanups-repo.ts). */
  readonly cleanups: CleanupsRepo;
  private readonly cleaner: Cleaner;
  private readonly leaseTtlMs: number;
  private readonly deliveries: DeliveriesRepo;
  private stopping = false;

  constructor(private readonly o: EngineOptions) {
    assertRotationSafe(o.store);
    this.leaseTtlMs = o.leaseTtlMs ?? 120_000;
    this.runs = new RunsRepo(o.state, o.clock, this.leaseTtlMs);
    this.leases = new Leases(o.state, o.clock);
    this.deliveries = new DeliveriesRepo(o.state, o.clock);
    this.due = new DueRepo(o.state, o.clock);
    this.cleanups = new CleanupsRepo(o.state, o.clock);
    this.cleaner = new Cleaner({
      state: o.state,
      store: o.store,
      runs: this.runs,
      cleanups: this.cleanups,
      clock: o.clock,
      log: o.log,
      ...(o.random ? { random: o.random } : {}),
      confirmLease: (lease) => this.confirmLease(lease),
      audit: async (e, trx) => {
        await o.audit?.record({ action: 'cleanup', path: e.path, outcome: e.outcome, runId: e.runId, correlationId: e.correlationId, versionId: e.versionId, errorCode: e.errorCode }, trx);
      },
      ...(o.onBoundary ? { onBoundary: (when, c) => o.onBoundary!('cleanup', when, { id: c.runId, path: c.path } as Run) } : {}),
    });
  }

  /**
   * Asks every run in this process to stop at its next step boundary (SIGTERM, SIGINT). The
   * step under way finishes; the run is left `retrying`, due at once, for `rotate` or `runs resume`.
   */
  requestStop(): void {
    this.stopping = true;
  }

  private stopRequested(): boolean {
    return this.stopping || (this.o.stopped?.() ?? false);
  }

  /** True once a stop was asked for (`requestStop`, or the owner's `stopped`): a scheduler claims nothing more. */
  get stopRequestedNow(): boolean {
    return this.stopRequested();
  }

  /**
   * Rotates a secret now: resumes its unfinished run if it has one, else starts a new run. An
   * unfinished run that is superseded (its starting version is no longer current) is cancelled
   * without touching anything, and a new run starts from the version current now. The secret's
   * lease is taken first and the run read under it, so two callers never run the same secret.
   */
  async rotate(path: string, options: RotateOptions = {}): Promise<Run> {
    const subject = await this.subject(path);
    return this.withLease(path, async (lease) => {
      const active = await this.runs.active(path);
      // Through `ifDue` (a server's `rotate --due` client) the cleanups due go first, as in tend().
      if (options.ifDue && !active) await this.cleaner.runDue(this.scope(subject, lease), lease);
      if (options.ifDue) await this.assertDue(path, active);
      return this.rotateLeased(path, subject, lease, active, options);
    });
  }

  /**
   * What the scheduler does with a due secret, under its lease: resumes its unfinished run when
   * that is due; otherwise runs the cleanups that are due (./cleanup.ts), then a rotation if the
   * secret is due for one. KT_NOT_DUE when neither is due.
   */
  async tend(path: string): Promise<{ run: Run | null; cleanups: CleanupOutcome[] }> {
    const subject = await this.subject(path);
    return this.withLease(path, async (lease) => {
      const active = await this.runs.active(path);
      if (active) {
        await this.assertDue(path, active);
        return { run: await this.rotateLeased(path, subject, lease, active, {}), cleanups: [] };
      }
      const cleanups = await this.cleaner.runDue(this.scope(subject, lease), lease);
      try {
        await this.assertDue(path, null);
      } catch (e) {
        if (cleanups.length > 0 && isKeyturnError(e, 'KT_NOT_DUE')) return { run: null, cleanups };
        throw e;
      }
      return { run: await this.rotateLeased(path, subject, lease, null, {}), cleanups };
    });
  }

  /** {@link rotate} once the lease is held and the unfinished run, if any, read under it. */
  private async rotateLeased(path: string, subject: Subject, lease: HeldLease, active: Run | null, options: RotateOptions): Promise<Run> {
    const wait = !!options.wait;
    if (active) {
      try {
        return await this.execute(active, lease, { resumed: true, wait, subject });
      } catch (e) {
        if (!isKeyturnError(e, 'KT_RUN_SUPERSEDED')) throw e;
        this.o.log.warn({ runId: active.id, path, code: e.code }, 'superseded run cancelled; starting a new run');
      }
    }
    // A pending version left staged by an earlier run may be the credential that works: settle it first.
    const adopt = await this.settleLeftoverPending(path, subject, lease);
    if (adopt) return this.restartFailed(adopt, lease, wait);
    const run = await this.runs.create({ path, strategy: subject.strategy, ...(options.correlationId ? { correlationId: options.correlationId } : {}) });
    return this.execute(run, lease, { resumed: false, wait, subject });
  }

  /**
   * Under the secret's lease: whether the secret is due now, read from the state database as the
   * lease holder sees it (a run another worker finished before it freed the lease counts). An
   * unfinished run is due when its retry time has come, or when it is marked running (its worker
   * is gone: this process holds the lease); otherwise the schedule, a request and a failed run's
   * cool-down decide (src/schedule/due-repo.ts). KT_NOT_DUE when it is not due.
   */
  private async assertDue(path: string, active: Run | null): Promise<void> {
    const now = this.o.clock.now();
    if (active) {
      if (active.status === 'running' || (active.nextAttemptAt ?? 0) <= now) return;
      throw new KeyturnError('KT_NOT_DUE', `${path} is not due: its run ${active.id} retries at ${new Date(active.nextAttemptAt!).toISOString()}`, { details: { path } });
    }
    const d = await this.due.decide(path, this.o.state.db, now);
    if (d?.decision === 'start') return;
    const when = d?.row.dueAt === null || d === null ? 'never by its schedule' : `at ${new Date(d.row.dueAt).toISOString()} (${d.row.reason})`;
    throw new KeyturnError('KT_NOT_DUE', `${path} is not due now: next ${when}`, { details: { path } });
  }

  /**
   * Before a new run: the pending stage may hold a version an earlier run left staged because it
   * could not prove the current credential works (a run that failed with the target down, one
   * killed after set). Creating a new pending version would take that stage away, and the store
   * would forget the one credential that may log in. So:
   *
   * - the current credential logs in: the leftover is released (alternating-users: the standby
   *   user is set back to its previous password first, or the leftover becomes `previous` when it
   *   has none, see releasePending) and the new run starts; if it must stay staged, refused
   *   (KT_PENDING_UNRESOLVED) before anything changes;
   * - only the leftover logs in, and its run failed while still starting from the current version:
   *   that run is returned, to be finished instead of starting a new one;
   * - only the leftover logs in otherwise, or nothing logs in (target down): refused before
   *   anything changes (KT_PENDING_UNRESOLVED, KT_TARGET_UNAVAILABLE).
   */
  private async settleLeftoverPending(path: string, subject: Subject, lease: HeldLease): Promise<Run | null> {
    if (!subject.target) return null;
    const leftover = await this.o.store.get(path, { stage: 'pending' });
    if (!leftover) return null;
    const scope = this.scope(subject, lease);
    if (subject.strategy === 'renew') {
      // Nothing on a target depends on a renew pending value: released (retired when it must be) before the new run.
      const from = await this.o.store.get(path, { stage: 'current' });
      const probe = { id: 'leftover', path, fromVersionId: from?.id ?? null, pendingVersionId: leftover.id } as Run;
      const released = await this.releasePending(probe, scope, leftover);
      if (!released.cleared)
        throw new KeyturnError('KT_PENDING_UNRESOLVED', `${path}: the pending version ${leftover.number} left by an earlier run could not be released (${released.detail}); nothing was changed`, {
          details: { path, versionId: leftover.id },
        });
      return null;
    }
    const current = await scope.current();
    const owner = await this.runs.find(/^(run_[^.]+)\.g\d+$/.exec(leftover.id)?.[1] ?? '');
    const probe = { id: owner?.id ?? 'leftover', path, fromVersionId: current.id, pendingVersionId: leftover.id } as Run;
    if (await scope.logsIn(probe, asCredential(path, current.value))) {
      const released = await this.releasePending(probe, scope, leftover);
      // Still staged: its credential may work (the standby user could not be set back). A new run would take the stage away.
      if (!released.cleared)
        throw new KeyturnError('KT_PENDING_UNRESOLVED', `${path}: the pending version ${leftover.number} left by an earlier run must stay staged (${released.detail}); nothing was changed`, {
          details: { path, versionId: leftover.id, runId: owner?.id ?? null },
        });
      this.o.log.info({ path, versionId: leftover.id, detail: released.detail }, 'pending version left by an earlier run settled');
      return null;
    }
    if (await scope.logsIn(probe, asCredential(path, leftover.value))) {
      if (owner?.status === 'failed' && owner.fromVersionId === current.id && owner.pendingVersionId === leftover.id) return owner;
      throw new KeyturnError(
        'KT_PENDING_UNRESOLVED',
        `${path}: the pending version ${leftover.number}${owner ? ` (left by run ${owner.id})` : ''} is the only stored credential that logs in, and the current version ${current.number} does not; nothing was changed`,
        { details: { path, versionId: leftover.id, runId: owner?.id ?? null } },
      );
    }
    throw new KeyturnError(
      'KT_TARGET_UNAVAILABLE',
      `${path}: neither the current version ${current.number} nor the pending version ${leftover.number} left by an earlier run logs in now (target down?); a new run would forget which one works, so nothing was changed`,
      { details: { path } },
    );
  }

  /** Runs a failed run again from where it stopped, with a fresh count of attempts (`runs resume`, or `rotate` adopting it). */
  private async restartFailed(run: Run, lease: HeldLease, wait: boolean): Promise<Run> {
    const restarted = await this.runs.advance(run, { status: 'running', attempt: 1, errorCode: null, errorMessage: null, failedStep: null, nextAttemptAt: null, finishedAt: null }, undefined, lease);
    return this.execute(restarted, lease, { resumed: true, wait });
  }

  /**
   * Continues a run: an unfinished or failed one from its step; a done one re-delivers to failed
   * consumers. A superseded run is refused with KT_RUN_SUPERSEDED (and cancelled if unfinished).
   * The run is read again under its secret's lease: what another worker did meanwhile counts.
   */
  async resume(runId: string, options: { wait?: boolean } = {}): Promise<Run> {
    const wait = !!options.wait;
    return this.withLease((await this.runs.get(runId)).path, async (lease) => {
      const run = await this.runs.get(runId);
      if (run.status === 'cancelled') throw new KeyturnError('KT_RUN_FINISHED', `run ${runId} was cancelled`);
      if (run.status === 'done') {
        const failed = (await this.runs.consumers(runId)).filter((c) => c.status !== 'delivered');
        if (failed.length === 0) throw new KeyturnError('KT_RUN_FINISHED', `run ${runId} is done and every consumer has the value`);
        // Re-delivery gives the consumers only the version that is current now: never a superseded one.
        const current = await this.o.store.get(run.path, { stage: 'current' });
        if (current?.id !== run.pendingVersionId) throw this.supersededError(run, current);
        return this.redeliver(run, lease);
      }
      if (run.status === 'failed') {
        const latest = await this.runs.active(run.path);
        if (latest) throw new KeyturnError('KT_RUN_LOCKED', `${run.path} has a newer unfinished run ${latest.id}`);
        return this.restartFailed(run, lease, wait);
      }
      return this.execute(run, lease, { resumed: true, wait });
    });
  }

  /**
   * Cancels an unfinished run safely: the pending stage is cleared only when the current
   * credential logs in (restoring it on the target first when the pending one had been set).
   */
  async cancel(runId: string): Promise<Run> {
    return this.withLease((await this.runs.get(runId)).path, async (lease) => {
      const run = await this.runs.get(runId);
      if (run.status === 'done' || run.status === 'cancelled') throw new KeyturnError('KT_RUN_FINISHED', `run ${runId} is ${run.status}`);
      const scope = this.scope(await this.subject(run.path), lease);
      const { currentWorks } = await this.restoreCurrent(run, scope);
      if (!currentWorks) throw new KeyturnError('KT_RUN_CANCEL_UNSAFE', `the current credential of ${run.path} does not log in; the pending one may be the only one that works`);
      const released = await this.releasePending(run, scope);
      const now = this.o.clock.now();
      // A running attempt (its worker died) may have drained: its always hooks run now. A retrying or failed one ran them when it failed.
      const always = run.status === 'running' ? await this.alwaysHooks(run, scope, 'cancelled') : null;
      return this.runs.advance(
        run,
        { status: 'cancelled', finishedAt: now, nextAttemptAt: null },
        [{ step: 'rollback', attempt: run.attempt, outcome: 'ok', detail: `cancelled; ${released.detail}`, startedAt: now }, ...(always ? [always] : [])],
        lease,
      );
    });
  }

  /**
   * Stores a value by hand (`keyturn secret put --supersede`) on a secret that has an unfinished
   * run, under the secret's lease: `write` stores the new version, then the run is cancelled as
   * superseded without touching the target (its pending stage is cleared when the new current
   * credential logs in, else kept, so the store still knows every credential that may work).
   * With no unfinished run, `write` just runs under the lease. Returns what `write` returned and
   * the run that was cancelled, if any.
   */
  async supersedeWith<T>(path: string, write: () => Promise<T>): Promise<{ result: T; cancelled: Run | null }> {
    return this.withLease(path, async (lease) => {
      const active = await this.runs.active(path);
      const result = await write();
      if (!active) return { result, cancelled: null };
      const scope = this.scope(await this.subject(path), lease);
      const current = await scope.current();
      try {
        await this.supersede(active, scope, current, lease);
      } catch (e) {
        if (!isKeyturnError(e, 'KT_RUN_SUPERSEDED')) throw e;
      }
      return { result, cancelled: await this.runs.get(active.id) };
    });
  }

  /** What a rotation would do, without changing anything: checks the policy and that the current credential logs in. */
  async plan(
    path: string,
  ): Promise<{ path: string; strategy: Strategy; target: string | null; nextUsername: string | null; consumers: number; currentLogsIn: boolean | null; activeRun: string | null; problems: string[] }> {
    const scope = new RunScope(this.o.store, await this.subject(path), this.o.log);
    const { policy, target, strategy } = scope.subject;
    const current = await scope.current();
    let nextUsername: string | null = null;
    let currentLogsIn: boolean | null = null;
    if (policy.type === 'database-credential') {
      nextUsername = (nextValue(policy, current.value, target?.passwordLimits, target?.newSecret?.bind(target)) as Credential).username;
      const probe = { fromVersionId: current.id } as Run;
      if (target) currentLogsIn = await scope.logsIn(probe, asCredential(path, current.value));
    }
    const active = await this.runs.active(path);
    // What would make the rotation fail before it changes anything (a template that cannot render).
    const problems = templateFieldProblems(policy, current.value, `secrets.${path}`);
    return { path, strategy, target: policy.target ?? null, nextUsername, consumers: policy.consumers.length, currentLogsIn, activeRun: active?.id ?? null, problems };
  }

  // ── execution ──────────────────────────────────────────────────────────

  /** Runs the steps ({@link executeSteps}), telling the observer, if any, when the execution starts and how it ends. */
  private async execute(start: Run, lease: HeldLease, opts: { resumed: boolean; wait: boolean; subject?: Subject }): Promise<Run> {
    const observer = this.o.observer;
    if (!observer) return this.executeSteps(start, lease, opts);
    let subject = opts.subject;
    // A policy that cannot be read fails the run inside executeSteps; here it only leaves the target type unknown.
    if (!subject) subject = await this.subject(start.path).catch(() => undefined);
    const event: RunStarted = { runId: start.id, path: start.path, targetType: subject ? (subject.target?.kind ?? 'none') : 'unknown', resumed: opts.resumed };
    const t0 = performance.now();
    const tell = (outcome: RunOutcome, errorCode: string | null): void => {
      try {
        observer.ended({ ...event, outcome, errorCode, seconds: (performance.now() - t0) / 1000 });
      } catch {
        // An observer's failure is not the run's.
      }
    };
    try {
      observer.started(event);
    } catch {
      // idem
    }
    try {
      const run = await this.executeSteps(start, lease, subject ? { ...opts, subject } : opts);
      const outcome: RunOutcome = run.status === 'done' ? 'succeeded' : run.status === 'failed' || run.status === 'retrying' || run.status === 'cancelled' ? run.status : 'error';
      tell(outcome, outcome === 'succeeded' ? null : run.errorCode);
      return run;
    } catch (e) {
      tell(isKeyturnError(e, 'KT_RUN_SUPERSEDED') ? 'cancelled' : 'error', codeOf(e));
      throw e;
    }
  }

  private async executeSteps(start: Run, lease: HeldLease, opts: { resumed: boolean; wait: boolean; subject?: Subject }): Promise<Run> {
    let run = start;
    if (run.status !== 'running' || opts.resumed)
      run = await this.runs.advance(
        run,
        { status: 'running', step: run.step, attempt: run.attempt, errorCode: run.errorCode, errorMessage: run.errorMessage, nextAttemptAt: run.nextAttemptAt, finishedAt: run.finishedAt },
        undefined,
        lease,
      );
    let scope: RunScope;
    try {
      scope = this.scope(opts.subject ?? (await this.subject(run.path)), lease);
    } catch (e) {
      return this.fail(run, run.step, e, null, lease);
    }
    // A resumed run whose starting (or delivered) version is no longer current never touches the target or a consumer.
    if (opts.resumed) {
      const by = await this.supersededBy(run, scope);
      if (by !== null) return this.supersede(run, scope, by, lease);
    }
    // True while this process itself has made what the target holds known (a fresh pending value in this attempt).
    let worldKnown = !opts.resumed;
    // True once create's own commit checked that the run's starting version is still current (a compare-and-set).
    let fromChecked = false;
    // `committed` is the run as last committed; `folded` the steps done since, with no outside effect,
    // whose journal rows, patches and writes commit with the next step's; `run` is both applied.
    let committed = run;
    let folded: Folded[] = [];
    while (run.step !== 'done') {
      const step = run.step;
      if (this.stopRequested()) {
        const batch = merge(folded);
        return this.runs.advance(
          committed,
          { ...batch.patch, status: 'retrying', nextAttemptAt: this.o.clock.now(), errorCode: 'KT_RUN_INTERRUPTED', errorMessage: `stopped by a signal before ${step}`, failedStep: null },
          batch.records,
          lease,
          batch.within,
        );
      }
      lease.assertHeld();
      await this.o.onBoundary?.(step, 'before', run);
      await this.confirmLease(lease);
      const startedAt = this.o.clock.now();
      let failedAt: Step = step;
      let passThrough = false;
      try {
        const result = await this.runStep(step, run, scope, worldKnown, fromChecked);
        lease.assertHeld();
        const next = nextStep(step, scope.subject.policy);
        const finishing = next === 'done';
        const patch: Partial<Run> = {
          ...result.patch,
          step: next,
          ...(finishing ? { status: 'done' as const, finishedAt: this.o.clock.now(), nextAttemptAt: null, errorCode: null, errorMessage: null, failedStep: null } : {}),
        };
        const versionId = result.patch?.fromVersionId ?? run.pendingVersionId;
        const audited = run;
        const entry: Folded = {
          step,
          patch,
          record: result.silent
            ? null
            : {
                step,
                attempt: run.attempt,
                outcome: result.outcome,
                startedAt,
                finishedAt: this.o.clock.now(),
                ...(result.detail ? { detail: result.detail } : {}),
                ...(result.errorCode ? { errorCode: result.errorCode } : {}),
              },
          ...(result.writes ? { writes: result.writes } : {}),
          ...(result.audit ? { audit: (trx: Transaction<Schema>) => this.audit(audited, result.audit!, versionId, null, trx) } : {}),
        };
        folded = [...folded, entry];
        run = applyPatch(run, patch);
        if (step === 'create' && result.outcome === 'ok') worldKnown = true;
        // With no outside effect, the step commits with the next one (see docs/failure-modes.md).
        if (!result.fold || finishing) {
          const batch = merge(folded);
          try {
            // The run's last commit also frees its lease (one commit less); nothing after it needs the lease.
            run = committed = await this.runs.advance(committed, batch.patch, batch.records, lease, batch.within, { releaseLease: finishing });
          } catch (e) {
            // The commit held a step's own writes (a pending version, a stage move): that step failed,
            // and the steps folded before it commit without it. Any other failed commit is not a step's.
            const k = folded.findIndex((f) => f.writes !== undefined);
            if (k < 0 || isKeyturnError(e, 'KT_RUN_CHANGED') || isKeyturnError(e, 'KT_RUN_LOCKED')) passThrough = true;
            else {
              failedAt = folded[k]!.step;
              folded = folded.slice(0, k);
              run = committed;
              for (const f of folded) run = applyPatch(run, f.patch);
            }
            throw e;
          }
          folded = [];
          if (result.checksFrom) fromChecked = true;
        }
      } catch (e) {
        // Stopped while waiting (for agents): the loop's stop check leaves the run retrying at this step.
        if (e instanceof StoppedInStep) continue;
        if (passThrough || isKeyturnError(e, 'KT_LEASE_LOST')) throw e;
        lease.assertHeld();
        // What was done before the failure commits first: the run fails from where it really is.
        if (folded.length > 0) {
          const batch = merge(folded);
          run = await this.runs.advance(committed, batch.patch, batch.records, lease, batch.within);
          folded = [];
        }
        if (e instanceof NotYet) {
          // Not a failure: the run waits at this step (a signing key published for less than prePublish).
          const waiting = await this.wait(run, step, e, startedAt, lease);
          if (!opts.wait || this.stopRequested()) return waiting;
          await sleep(Math.max(0, e.at - this.o.clock.now()));
          run = committed = await this.runs.advance(waiting, { status: 'running' }, undefined, lease);
          worldKnown = false;
          fromChecked = false;
          continue;
        }
        if (isKeyturnError(e, 'KT_RUN_SUPERSEDED')) {
          const by = await this.supersededBy(run, scope);
          if (by !== null) return this.supersede(run, scope, by, lease);
        }
        run = await this.fail(run, failedAt, e, scope, lease);
        worldKnown = false;
        fromChecked = false;
        // A stop asked for meanwhile ends the wait now: the run stays retrying, due at its time.
        if (opts.wait && run.status === 'retrying' && !this.stopRequested()) {
          await sleep(Math.max(0, (run.nextAttemptAt ?? 0) - this.o.clock.now()));
          run = committed = await this.runs.advance(run, { status: 'running' }, undefined, lease);
          continue;
        }
        return run;
      }
      await this.o.onBoundary?.(step, 'after', run);
    }
    return run;
  }

  /**
   * Delivers a done run's value again to the consumers that do not have it (the caller checked it
   * is still current). The run stays done: re-delivery never makes a finished run unfinished.
   */
  private async redeliver(run: Run, lease: HeldLease): Promise<Run> {
    const scope = this.scope(await this.subject(run.path), lease);
    const startedAt = this.o.clock.now();
    const version = await scope.version(run.pendingVersionId!);
    const r = await deliverAll({ runs: this.runs, run, consumers: scope.subject.policy.consumers, version, log: this.o.log, timeoutMs: scope.subject.policy.rotation.timeoutMs, signal: lease.signal });
    lease.assertHeld();
    // A done run: another instance may have journaled to it since (a cleanup, a re-delivery).
    this.runs.forgetJournal(run.id);
    return this.runs.advance(
      run,
      {},
      { step: 'propagate', attempt: run.attempt, outcome: r.failed === 0 ? 'ok' : 'failed', detail: `re-delivered: ${r.total - r.failed} of ${r.total} consumers have the value`, startedAt },
      lease,
    );
  }

  /**
   * Runs `fn` holding the secret's lease (KT_RUN_LOCKED when a live worker holds it). The lease is
   * renewed in the background every third of its TTL for as long as `fn` runs, however long one
   * step takes (a slow consumer or target call); if another worker takes it over anyway, the
   * lease's signal aborts the call under way and the next write fails with KT_LEASE_LOST.
   */
  private async withLease<T>(path: string, fn: (lease: HeldLease) => Promise<T>): Promise<T> {
    const name = `secret:${path}`;
    const acquired = await this.leases.acquire(name, this.leaseTtlMs);
    if (!acquired) {
      const h = await this.leases.holderOf(name);
      throw new KeyturnError('KT_RUN_LOCKED', `${path} is being rotated by ${h?.holder ?? 'another worker'} (lease until ${h ? new Date(h.expiresAt).toISOString() : '?'})`);
    }
    const lease = this.leases.keepAlive(acquired, this.leaseTtlMs, this.o.log);
    try {
      return await fn(lease);
    } finally {
      // What the run did (done, retrying, failed, cancelled, nothing) decides the secret's next due time.
      await this.due.refresh(path).catch((e: unknown) => this.o.log.warn({ path, code: codeOf(e) }, 'the next due time was not written; the scheduler checks again later'));
      lease.stop();
      await this.leases.release(lease).catch(() => undefined);
    }
  }

  /**
   * Before each step: a worker that was paused past its lease (SIGSTOP, a frozen VM, a long GC
   * pause) learns it here, before the step's outside effect, not at its next write. When the lease
   * was last renewed more than half its TTL ago (the background renewal keeps it well under that
   * while the process runs), it is renewed now: KT_LEASE_LOST if another worker has taken it over.
   * Normally this costs nothing (no query).
   */
  private async confirmLease(lease: HeldLease): Promise<void> {
    lease.assertHeld();
    if (this.o.clock.now() - lease.renewedAt < this.leaseTtlMs / 2) return;
    await this.leases.renew(lease, this.leaseTtlMs);
    lease.renewedAt = this.o.clock.now();
  }

  private scope(subject: Subject, lease: HeldLease): RunScope {
    return new RunScope(this.o.store, subject, this.o.log, lease.signal);
  }

  private async runStep(step: Step, run: Run, scope: RunScope, worldKnown: boolean, fromChecked: boolean): Promise<StepResult> {
    const { target, policy } = scope.subject;
    switch (step) {
      case 'prepare': {
        // renew: a secret with no value yet gets its first one from the target, through the same steps.
        if (!run.fromVersionId && scope.subject.strategy === 'renew' && !(await this.o.store.get(run.path, { stage: 'current' }))) {
          return { outcome: 'ok', detail: 'no current value: the first one is issued', audit: 'intent', fold: !this.issuesOutside(scope) };
        }
        const current = run.fromVersionId ? await scope.version(run.fromVersionId) : await scope.current();
        // A template that cannot render the next value fails the run here, before any outside effect.
        assertTemplatesRender(policy, current.value, `secrets.${run.path}`);
        // The intent is recorded in the same transaction as this step, before anything is touched.
        // A renewer with an outside effect (an HSM key named after the run) commits the run first, so a crash right after issue finds the run and its key.
        return { patch: { fromVersionId: current.id }, outcome: 'ok', detail: `from version ${current.number}`, audit: 'intent', fold: !this.issuesOutside(scope) };
      }
      case 'create': {
        const store = this.o.store;
        if (run.pendingVersionId === null) await this.awaitFallbackReplicas(run);
        if (worldKnown && run.pendingVersionId === null && canPutWithin(store)) {
          // A fresh pending value, stored in the transaction that journals this step (and the folded prepare).
          const versionId = `${run.id}.g${run.generation}`;
          // (No starting version: a renew secret's first value, stored only while the secret still has none.)
          const current = run.fromVersionId ? await scope.version(run.fromVersionId) : null;
          const value = await nextFor(scope, run, current, versionId);
          // Stored only while the starting version is still current (compare-and-set in the same transaction): else the run is superseded.
          const writes = async (trx: Transaction<Schema>) => {
            try {
              scope.remember(
                await store.putWithin(trx, run.path, value, {
                  versionId,
                  stages: ['pending'],
                  expectCurrentVersion: current?.number ?? 0,
                  ...(current ? {} : { metadata: { type: policy.type } }),
                }),
              );
            } catch (e) {
              if (isKeyturnError(e, 'KT_VERSION_MISMATCH')) throw this.supersededError(run, null);
              throw e;
            }
          };
          return { patch: { pendingVersionId: versionId }, outcome: 'ok', detail: `stored pending version ${versionId}`, writes, checksFrom: true };
        }
        const { version, reused } = await this.ensurePending(run, scope, worldKnown);
        return { patch: { pendingVersionId: version.id }, outcome: reused ? 'skipped' : 'ok', detail: `${reused ? 'reused' : 'stored'} pending version ${version.number}` };
      }
      case 'set': {
        // No target: nothing outside changes, so the step commits with the next one.
        if (!target) return { outcome: 'skipped', detail: 'no target', fold: true };
        if (scope.subject.strategy === 'renew') return { outcome: 'skipped', detail: 'renew: nothing on the target is replaced; the consumers deliver the new value', fold: true };
        // The last check before the target is changed: the run still starts from the current version
        // (already checked by create's commit when it ran in this execution: `secret put` refuses a secret with an unfinished run since).
        if (!fromChecked) await this.assertNotSuperseded(run, scope);
        const { pending, current } = await scope.credentials(run);
        if (!worldKnown && (await scope.logsIn(run, pending))) return { outcome: 'skipped', detail: 'pending credential already logs in' };
        await target.set(await scope.targetContext(run), pending, current);
        return { outcome: 'ok', detail: `set ${pending.username}` };
      }
      case 'test': {
        if (!target) return { outcome: 'skipped', detail: 'no target', fold: true };
        if (scope.subject.strategy === 'renew') {
          // The new value is usable (a certificate's chain and key, a key that signs); NotYet makes the run wait (executeSteps).
          const pending = await scope.version(run.pendingVersionId!);
          await renewerOf(scope.subject).check(await scope.targetContext(run), pending.value, { pendingSince: pending.createdAt, now: this.o.clock.now() });
          return { outcome: 'ok', detail: 'the new value checks out', fold: true };
        }
        const { pending } = await scope.credentials(run);
        await target.test(await scope.targetContext(run), pending);
        // A login changes nothing: its result commits with finish.
        return { outcome: 'ok', detail: `${pending.username} logs in`, fold: true };
      }
      case 'finish': {
        // With no consumer and no agent to wait for, propagate has nothing to do: finish commits with it, the run done in one transaction.
        const fold = nothingToPropagate(policy);
        const store = this.o.store;
        // The cleanup of the replaced version (after grace, after retainPrevious) is owed from this commit on;
        // renew: when the new value needs renewing by itself, recorded in the same commit.
        const duty = this.cleanupDuty(run, scope);
        const renewal =
          scope.subject.strategy === 'renew' ? renewalWithin(run.path, run.pendingVersionId!, (await scope.version(run.pendingVersionId!)).value, renewerOf(scope.subject), this.o.clock.now()) : null;
        const cleanup: Within = async (trx) => {
          await duty(trx);
          await renewal?.(trx);
        };
        if (worldKnown && canPutWithin(store) && store.moveStageWithin) {
          // This process stored the pending version in this attempt: no earlier finish can have moved it.
          const move = store.moveStageWithin.bind(store);
          const writes = async (trx: Transaction<Schema>) => {
            await move(trx, run.path, 'current', run.pendingVersionId!, run.fromVersionId);
            await cleanup(trx);
          };
          return { outcome: 'ok', detail: 'pending is now current', audit: 'success', writes, fold };
        }
        try {
          await this.o.store.moveStage(run.path, 'current', run.pendingVersionId!, run.fromVersionId);
        } catch (e) {
          // Already moved (a resumed run whose finish committed before the crash)?
          if (isKeyturnError(e, 'KT_STAGE_CONFLICT') && (await this.o.store.get(run.path, { stage: 'current' }))?.id === run.pendingVersionId) {
            // A store that moves the stages in two calls (AWS: current lands, then pending is taken off
            // the same version) may have been stopped between them: the pending stage left there ends now.
            const left = await this.o.store.get(run.path, { stage: 'pending' });
            if (left?.id === run.pendingVersionId) await this.o.store.moveStage(run.path, 'pending', null, left.id);
            return { outcome: 'skipped', detail: 'already current', writes: cleanup, fold };
          }
          throw e;
        }
        return { outcome: 'ok', detail: 'pending is now current', audit: 'success', writes: cleanup, fold };
      }
      case 'propagate': {
        // Nothing to deliver: it commits with the hook steps after it, unless they run a command (then what is done commits first).
        if (nothingToPropagate(policy)) return { outcome: 'skipped', detail: 'no consumers', fold: (policy.hooks?.after.length ?? 0) + (policy.hooks?.always.length ?? 0) === 0 };
        // Deliver only the version current now: a run superseded meanwhile delivers nothing.
        await this.assertNotSuperseded(run, scope);
        const version = await scope.version(run.pendingVersionId!);
        const details: string[] = [];
        let failed = false;
        if (policy.consumers.length > 0) {
          const r = await deliverAll({ runs: this.runs, run, consumers: policy.consumers, version, log: this.o.log, timeoutMs: policy.rotation.timeoutMs, signal: scope.signal });
          failed = r.failed > 0;
          details.push(`${r.total - r.failed} of ${r.total} consumers have the value`);
        }
        const replicas = policy.replicas ?? [];
        if (replicas.length > 0) {
          // Like a consumer's, a replica's failure ends the step failed and never the rotation; the catch-up pass retries it.
          if (this.o.replicas === undefined) {
            failed = true;
            details.push(`replicas not copied here (${replicas.join(', ')}): the catch-up pass of keyturn server or keyturn replicas sync copies them`);
          } else {
            const r = await this.o.replicas.copy(run.path, version, replicas, { id: run.id, correlationId: run.correlationId });
            failed ||= r.failed > 0;
            details.push(`${r.total - r.failed} of ${r.total} replicas have the value`);
          }
        }
        if (policy.waitForAgents === undefined) return { outcome: failed ? 'failed' : 'ok', detail: details.join('; ') };
        // Like a consumer's failure, agents that never report end the step failed, never the rotation.
        const agents = await this.awaitAgents(run, policy, version, scope);
        details.push(agents.detail);
        if (!agents.reached) return { outcome: 'failed', detail: details.join('; '), errorCode: 'KT_AGENTS_NOT_DELIVERED' };
        return { outcome: failed ? 'failed' : 'ok', detail: details.join('; ') };
      }
      case 'hook-before': {
        const hooks = policy.hooks?.before ?? [];
        if (hooks.length === 0) return { outcome: 'skipped', fold: true, silent: true };
        const r = await runHooks('before', hooks, { path: run.path, runId: run.id }, scope.signal ?? new AbortController().signal);
        if (!r.ok) throw r.error;
        return { outcome: 'ok', detail: r.detail };
      }
      case 'hook-after': {
        const hooks = policy.hooks?.after ?? [];
        if (hooks.length === 0) return { outcome: 'skipped', fold: true, silent: true };
        // Like a consumer's, a failure ends the step failed and never the rotation.
        const r = await runHooks('after', hooks, { path: run.path, runId: run.id }, scope.signal ?? new AbortController().signal);
        return r.ok ? { outcome: 'ok', detail: r.detail } : { outcome: 'failed', detail: r.detail, errorCode: 'KT_HOOK_FAILED' };
      }
      case 'hook-always': {
        const hooks = policy.hooks?.always ?? [];
        if (hooks.length === 0) return { outcome: 'skipped', fold: true, silent: true };
        const r = await runHooks('always', hooks, { path: run.path, runId: run.id, outcome: 'done' }, scope.signal ?? new AbortController().signal);
        return r.ok ? { outcome: 'ok', detail: r.detail } : { outcome: 'failed', detail: r.detail, errorCode: 'KT_HOOK_FAILED' };
      }
      case 'done':
        return { outcome: 'skipped' };
    }
  }

  /**
   * The `always` hooks at the end of an attempt that did not reach its own `hook-always` step (it
   * failed, is cancelled or superseded) and may have run `before`: run, and returned as the journal
   * row to commit with the attempt's end. Null when there is nothing to run.
   */
  private async alwaysHooks(run: Run, scope: RunScope | null, outcome: 'failed' | 'retrying' | 'cancelled'): Promise<StepRecord | null> {
    const hooks = scope?.subject.policy.hooks?.always ?? [];
    if (hooks.length === 0 || !mayHaveRunBefore(run.step) || run.step === 'hook-always' || run.step === 'done') return null;
    const startedAt = this.o.clock.now();
    const r = await runHooks('always', hooks, { path: run.path, runId: run.id, outcome }, scope!.signal ?? new AbortController().signal);
    return { step: 'hook-always', attempt: run.attempt, outcome: r.ok ? 'ok' : 'failed', detail: r.detail, ...(r.ok ? {} : { errorCode: 'KT_HOOK_FAILED' }), startedAt };
  }

  /**
   * The finish step's record of what is owed to the version it replaces: a cleanup row due when
   * the grace period ends (alternating-users or dual-key with a target and a grace) or else when
   * `retainPrevious` does (./cleanup.ts decides each phase again when it is due, by the policy then).
   */
  private cleanupDuty(run: Run, scope: RunScope): Within {
    const { policy, target, strategy } = scope.subject;
    // A first value (renew) replaces nothing.
    if (!run.fromVersionId) return async () => undefined;
    const replacedAt = this.o.clock.now();
    const { grace, retainPrevious } = policy.effectiveSchedule;
    const retainMs = parseDuration(retainPrevious)!;
    const ends = strategy === 'alternating-users' || strategy === 'dual-key' || (strategy === 'renew' && target?.renewer?.retire !== undefined);
    const graceMs = target && ends && grace !== null ? parseDuration(grace)! : null;
    const dueAt = replacedAt + (graceMs === null ? retainMs : Math.min(graceMs, retainMs));
    return (trx) => this.cleanups.addWithin(trx, { path: run.path, versionId: run.fromVersionId!, runId: run.id, replacedAt, dueAt });
  }

  /**
   * `waitForAgents`: polls the delivery reports until enough subscribed agents hold the run's new
   * version, or `waitForAgentsTimeout` after the version became current (finish's journal row, so
   * a run resumed after a crash does not wait the whole time again). Throws StoppedInStep when the
   * engine is asked to stop meanwhile, and the lease's abort reason when it is lost.
   */
  private async awaitAgents(run: Run, policy: SecretPolicy, version: Version, scope: RunScope): Promise<{ reached: boolean; detail: string }> {
    const timeout = policy.waitForAgentsTimeout ?? DEFAULT_WAIT_FOR_AGENTS_TIMEOUT;
    const finished = (await this.runs.steps(run.id)).filter((s) => s.step === 'finish' && s.outcome !== 'failed').at(-1);
    const since = finished?.finished_at ?? this.o.clock.now();
    const want = policy.waitForAgents!;
    const r = await waitForAgents({
      repo: this.deliveries,
      path: run.path,
      versionId: version.id,
      want,
      deadline: since + parseDuration(timeout)!,
      staleAfterMs: this.o.agentStaleAfterMs ?? DEFAULT_AGENT_STALE_AFTER_MS,
      clock: this.o.clock,
      signal: scope.signal,
      stopped: () => this.stopRequested(),
    });
    if (r.outcome === 'stopped') throw new StoppedInStep();
    const counted = `${r.have.length} of ${r.have.length + r.missing.length} subscribed agents have version ${version.number} (waitForAgents: ${want})`;
    if (r.outcome === 'reached') return { reached: true, detail: counted };
    const missing = r.missing.length > 0 ? `missing: ${agentList(r.missing)}` : `only ${r.have.length} subscribed agent(s) reported it`;
    return { reached: false, detail: `${counted}; not reached within ${timeout}: ${missing}` };
  }

  /** Stores (or finds, when resumed) this attempt's pending version. */
  private async ensurePending(run: Run, scope: RunScope, worldKnown: boolean): Promise<{ version: Version; reused: boolean }> {
    const versionId = `${run.id}.g${run.generation}`;
    if (!worldKnown || run.pendingVersionId !== null) {
      let existing: Version | null = null;
      try {
        existing = await this.o.store.get(run.path, { versionId });
      } catch (e) {
        if (!isKeyturnError(e, 'KT_VERSION_NOT_FOUND')) throw e;
      }
      if (existing) {
        if (!existing.stages.includes('pending') && !existing.stages.includes('current')) {
          const holder = await this.o.store.get(run.path, { stage: 'pending' });
          await this.o.store.moveStage(run.path, 'pending', versionId, holder?.id ?? null);
        }
        return { version: scope.remember(existing), reused: true };
      }
    }
    const current = run.fromVersionId ? await scope.version(run.fromVersionId) : null;
    const value = await nextFor(scope, run, current, versionId);
    return {
      version: scope.remember(await this.o.store.put(run.path, value, { versionId, stages: ['pending'], ...(current ? {} : { metadata: { type: scope.subject.policy.type } }) })),
      reused: false,
    };
  }

  /**
   * A new value waits while a read-only fallback replica of the secret does not hold its current
   * version (docs/replicas.md): NotYet, so the run stays `retrying` at create, due when the
   * replica's next copy is, and nothing has changed anywhere.
   */
  private async awaitFallbackReplicas(run: Run): Promise<void> {
    const blocker = await this.o.fallback?.blocker(run.path);
    if (!blocker) return;
    const at = Math.max(blocker.nextAttemptAt ?? 0, this.o.clock.now() + 1_000);
    const holds = blocker.holds === null ? 'no version' : `version ${blocker.holds}`;
    throw new NotYet(
      at,
      `the fallback replica ${blocker.replica} holds ${holds}, not the current version ${blocker.wants}${blocker.errorCode ? ` (${blocker.errorCode})` : ''}: the new value waits until it has caught up`,
    );
  }

  /** renew with a renewer that makes something outside Keyturn (retire exists: an HSM key): its run must be durable before issue. */
  private issuesOutside(scope: RunScope): boolean {
    return scope.subject.strategy === 'renew' && scope.subject.target?.renewer?.retire !== undefined;
  }

  /** A step that is not ready yet (NotYet): the run is left `retrying` at it, due at `e.at`, the attempt not counted as failed. */
  private async wait(run: Run, step: Step, e: NotYet, startedAt: number, lease: Lease): Promise<Run> {
    const detail = `waiting until ${new Date(e.at).toISOString()}: ${e.reason}`;
    this.o.log.info({ runId: run.id, path: run.path, step, until: e.at }, 'rotation step waits');
    return this.runs.advance(
      run,
      { status: 'retrying', nextAttemptAt: e.at, errorCode: null, errorMessage: null, failedStep: null },
      { step, attempt: run.attempt, outcome: 'skipped', detail, startedAt },
      lease,
    );
  }

  /**
   * After a failed step: restore or keep the current credential, clear the pending stage when
   * that is safe, then schedule a retry with backoff or fail the run.
   */
  private async fail(run: Run, step: Step, error: unknown, scope: RunScope | null, lease: Lease): Promise<Run> {
    const code = codeOf(error);
    const now = this.o.clock.now();
    this.o.log.warn({ runId: run.id, path: run.path, step, code, attempt: run.attempt }, 'rotation step failed');
    let current = await this.runs.advance(run, {}, { step, attempt: run.attempt, outcome: 'failed', errorCode: code, detail: messageOf(error), startedAt: now }, lease);
    let currentWorks = true;
    // renew: a pending value released here may have been retired (an HSM key destroyed): the next attempt issues a fresh one.
    let dropped = false;
    if (scope && run.pendingVersionId && (step === 'hook-before' || step === 'set' || step === 'test' || step === 'finish')) {
      const restored = await this.restoreCurrent(run, scope);
      currentWorks = restored.currentWorks;
      const released = currentWorks ? await this.releasePending(run, scope) : null;
      dropped = scope.subject.strategy === 'renew' && released?.cleared === true;
      current = await this.runs.advance(
        current,
        {},
        { step: 'rollback', attempt: run.attempt, outcome: currentWorks ? 'ok' : 'failed', detail: released ? `${restored.detail}; ${released.detail}` : restored.detail, startedAt: now },
        lease,
      );
    }
    const failedSets = run.failedSets + (step === 'set' ? 1 : 0);
    const attempts = scope?.subject.policy.rotation.attempts ?? 1;
    const bump = failedSets >= 2 || dropped;
    // With the current credential known good, start over from create; otherwise resume at set, which checks the world.
    const resumeAt: Partial<Run> = {
      failedSets: bump ? 0 : failedSets,
      generation: bump ? run.generation + 1 : run.generation,
      // (An attempt resumed at set drains again first: its always hooks ran at this failure.)
      step: currentWorks ? (step === 'prepare' || step === 'create' || AFTER_FINISH.has(step) ? step : 'create') : (scope?.subject.policy.hooks?.before.length ?? 0) > 0 ? 'hook-before' : 'set',
      pendingVersionId: currentWorks && !AFTER_FINISH.has(step) ? null : run.pendingVersionId,
      errorCode: code,
      errorMessage: messageOf(error),
      // Messages name this step, not `step` above, where the next attempt resumes.
      failedStep: step,
    };
    const failing = PERMANENT.has(code) || run.attempt >= attempts || !scope;
    // The attempt ends here: its always hooks (undrain) run first, their row committed with its end.
    const always = (await this.alwaysHooks({ ...run, step }, scope, failing ? 'failed' : 'retrying')) ?? undefined;
    if (failing) {
      return this.runs.advance(current, { ...resumeAt, status: 'failed', finishedAt: now, nextAttemptAt: null }, always, lease, (trx) => this.audit(run, 'failure', run.pendingVersionId, code, trx));
    }
    const { backoffBaseMs: baseMs, backoffCapMs: capMs } = scope.subject.policy.rotation;
    const delay = fullJitterDelay(run.attempt, { baseMs, capMs }, this.o.random);
    return this.runs.advance(current, { ...resumeAt, status: 'retrying', attempt: run.attempt + 1, nextAttemptAt: now + delay }, always, lease);
  }

  /**
   * Makes the current credential work again if the pending one had replaced it (single-user).
   * "Current" is read again here: the version the store holds as current now, which may no longer
   * be the run's starting one (never restore a stale value over a newer current one).
   */
  private async restoreCurrent(run: Run, scope: RunScope): Promise<{ currentWorks: boolean; detail: string }> {
    const { target, strategy } = scope.subject;
    if (!target || !run.pendingVersionId || !run.fromVersionId) return { currentWorks: true, detail: 'nothing on a target to restore' };
    if (strategy === 'renew') return { currentWorks: true, detail: 'renew: the current value was never replaced' };
    let currentVersion: Version;
    let current: Credential;
    try {
      currentVersion = await scope.current();
      current = asCredential(run.path, currentVersion.value);
    } catch (e) {
      return { currentWorks: false, detail: `the current version cannot be read as a credential (${codeOf(e)}); pending kept` };
    }
    const pending = asCredential(run.path, (await scope.version(run.pendingVersionId)).value);
    if (await scope.logsIn(run, current)) return { currentWorks: true, detail: 'current credential logs in' };
    // single-user: set the current password back; dual-key: add it back next to the pending one (a rollback then revokes that).
    if ((strategy === 'single-user' || strategy === 'dual-key') && currentVersion.id !== run.pendingVersionId && (await scope.logsIn(run, pending))) {
      try {
        await target.set(await scope.targetContext(run), current, pending);
      } catch (e) {
        return { currentWorks: false, detail: `restoring the current credential failed (${codeOf(e)}); pending kept` };
      }
      if (await scope.logsIn(run, current)) return { currentWorks: true, detail: 'restored the current credential on the target' };
    }
    return { currentWorks: false, detail: 'the current credential does not log in (target down?); pending kept so the store knows every credential that may work' };
  }

  /**
   * Clears the pending stage when it holds a version of this run (its journaled one, or one stored
   * just before a crash), or `leftover` when given; the caller knows the current credential logs in.
   * The stage is cleared only once its credential cannot log in without the store knowing it:
   * single-user, the current credential logging in means the pending one (same user) does not;
   * alternating-users, the pending one is the standby user's new password, so if it logs in the
   * standby is first set back to its previous password (the version staged previous, same user).
   * When that cannot be done the pending stage is kept: the store still knows every credential
   * that works, and the next rotation sets that user again.
   */
  private async releasePending(run: Run, scope: RunScope, leftover?: Version): Promise<{ cleared: boolean; detail: string }> {
    const pending = await this.o.store.get(run.path, { stage: 'pending' });
    const ours = pending && (leftover ? pending.id === leftover.id : pending.id === run.pendingVersionId || pending.id.startsWith(`${run.id}.g`));
    if (!pending || !ours) return { cleared: false, detail: 'no pending version to clear' };
    const { target, strategy } = scope.subject;
    if (target && strategy === 'renew') {
      // Nothing uses it: a value with an outside existence (an HSM key) is ended first.
      const renewer = renewerOf(scope.subject);
      if (renewer.retire) {
        try {
          await renewer.retire(await scope.targetContext(run), pending.value);
        } catch (e) {
          return { cleared: false, detail: `retiring the pending value failed (${codeOf(e)}); pending kept` };
        }
      }
      await this.o.store.moveStage(run.path, 'pending', null, pending.id);
      return { cleared: true, detail: renewer.retire ? 'pending cleared; its value retired' : 'pending cleared' };
    }
    if (target && strategy === 'dual-key') {
      // The pending key was added next to the current one: taken back before the stage is cleared.
      let added: Credential;
      try {
        added = asCredential(run.path, pending.value);
      } catch {
        return { cleared: false, detail: 'the pending version is not a credential; pending kept' };
      }
      if (await scope.logsIn(run, added)) {
        try {
          await target.revoke!(await scope.targetContext(run), added);
        } catch (e) {
          return { cleared: false, detail: `revoking the pending key of ${added.username} failed (${codeOf(e)}); pending kept` };
        }
        if (await scope.logsIn(run, added)) return { cleared: false, detail: `the pending key of ${added.username} still logs in after its revoke; pending kept` };
        await this.o.store.moveStage(run.path, 'pending', null, pending.id);
        return { cleared: true, detail: `pending cleared; its key revoked on the target` };
      }
    }
    if (target && strategy === 'alternating-users') {
      let standby: Credential;
      try {
        standby = asCredential(run.path, pending.value);
      } catch {
        return { cleared: false, detail: 'the pending version is not a credential; pending kept' };
      }
      if (await scope.logsIn(run, standby)) {
        const previous = await this.o.store.get(run.path, { stage: 'previous' });
        if (!previous) {
          // No earlier password of the standby user to set back (its first rotation): the pending
          // password is the standby's only one, so it becomes `previous`, what a finished rotation
          // leaves on the standby too. Staged previous first, so a crash between the two moves
          // leaves it holding both stages, never none.
          await this.o.store.moveStage(run.path, 'previous', pending.id, null);
          await this.o.store.moveStage(run.path, 'pending', null, pending.id);
          return { cleared: true, detail: `pending is now previous (the standby user ${standby.username} logs in with it and had no earlier password to set back)` };
        }
        const back = typeof previous.value !== 'string' && previous.value.username === standby.username ? asCredential(run.path, previous.value) : null;
        if (!back) return { cleared: false, detail: `the standby user ${standby.username} logs in with the pending password and the store holds no earlier password of it; pending kept` };
        // The previous password was ended by a cleanup after its grace period: never set it back; a password nobody holds instead.
        if (await this.cleanups.revoked(run.path, previous.id)) return this.releaseToUnknown(run, scope, pending, standby);
        try {
          await target.set(await scope.targetContext(run), back, standby);
        } catch (e) {
          return { cleared: false, detail: `setting the standby user ${standby.username} back to its previous password failed (${codeOf(e)}); pending kept` };
        }
        if (!(await scope.logsIn(run, back))) return { cleared: false, detail: `the standby user ${standby.username} does not log in with its previous password after setting it back; pending kept` };
      }
    }
    await this.o.store.moveStage(run.path, 'pending', null, pending.id);
    return { cleared: true, detail: 'pending cleared' };
  }

  /**
   * releasePending's way out when the standby user's previous password was ended by a cleanup: the
   * standby gets a password nobody holds (as the cleanup did), then the pending stage is cleared
   * once the pending password no longer logs in.
   */
  private async releaseToUnknown(run: Run, scope: RunScope, pending: Version, standby: Credential): Promise<{ cleared: boolean; detail: string }> {
    const { target, policy } = scope.subject;
    try {
      await target!.set(await scope.targetContext(run), { ...standby, password: freshPassword(policy, target!.passwordLimits) }, null);
    } catch (e) {
      return { cleared: false, detail: `setting the standby user ${standby.username} to a password nobody holds failed (${codeOf(e)}); pending kept` };
    }
    if (await scope.logsIn(run, standby)) return { cleared: false, detail: `the standby user ${standby.username} still logs in with the pending password; pending kept` };
    await this.o.store.moveStage(run.path, 'pending', null, pending.id);
    return { cleared: true, detail: `pending cleared; the standby user ${standby.username} has a password nobody holds (its previous one was ended after its grace period)` };
  }

  /**
   * The version current now when it is not the one this run may work from: before finish, the
   * run's starting version (or, at finish, its pending one when the move already committed);
   * after finish, its pending one. Null when the run is not superseded (or nothing can be read:
   * the step then reports that itself).
   */
  private async supersededBy(run: Run, scope: RunScope): Promise<Version | null> {
    if (!run.fromVersionId) return null;
    let current: Version;
    try {
      current = await scope.current();
    } catch {
      return null;
    }
    // Once it has a pending version, the run's own finish may have moved it to current in the store's
    // own transaction (a resumed run) while the run row still names an earlier step: not superseded.
    const allowed = AFTER_FINISH.has(run.step) ? [run.pendingVersionId] : run.pendingVersionId !== null ? [run.fromVersionId, run.pendingVersionId] : [run.fromVersionId];
    return allowed.includes(current.id) ? null : current;
  }

  private async assertNotSuperseded(run: Run, scope: RunScope): Promise<void> {
    const by = await this.supersededBy(run, scope);
    if (by !== null) throw this.supersededError(run, by);
  }

  private supersededError(run: Run, current: Version | null): KeyturnError {
    const now = current ? `version ${current.number} is current now` : 'it has no current version now';
    const what = run.status === 'done' || AFTER_FINISH.has(run.step) ? 'the version it made current was replaced' : 'the version it started from was replaced';
    return new KeyturnError('KT_RUN_SUPERSEDED', `run ${run.id} of ${run.path} is superseded: ${what} (${now}); it does not touch the target or any consumer`, {
      details: { runId: run.id, path: run.path },
    });
  }

  /**
   * Ends a superseded run without any outside effect: a run past finish is left done (its value is
   * not delivered again); an unfinished one is cancelled, its pending stage cleared when the current
   * credential logs in (else kept staged, so the store still knows every credential that may work).
   * Always throws KT_RUN_SUPERSEDED.
   */
  private async supersede(run: Run, scope: RunScope, current: Version, lease: Lease): Promise<never> {
    const now = this.o.clock.now();
    const error = this.supersededError(run, current);
    // A running attempt may have drained: its always hooks run before it ends (a retrying one ran them when it failed).
    const always = run.status === 'running' ? await this.alwaysHooks(run, scope, 'cancelled') : null;
    if (AFTER_FINISH.has(run.step)) {
      await this.runs.advance(
        run,
        { status: 'done', step: 'done', finishedAt: run.finishedAt ?? now, nextAttemptAt: null },
        [
          { step: 'propagate', attempt: run.attempt, outcome: 'skipped', errorCode: error.code, detail: `superseded by version ${current.number}; not delivered`, startedAt: now },
          ...(always ? [always] : []),
        ],
        lease,
      );
      throw error;
    }
    const { target } = scope.subject;
    let currentWorks = !target;
    if (target) {
      try {
        currentWorks = await scope.logsIn(run, asCredential(run.path, current.value));
      } catch {
        currentWorks = false;
      }
    }
    const released = currentWorks ? await this.releasePending(run, scope) : null;
    const detail = `superseded by version ${current.number}; cancelled without touching the target; ${released ? released.detail : 'the current credential does not log in, so the pending version stays staged'}`;
    await this.runs.advance(
      run,
      { status: 'cancelled', finishedAt: now, nextAttemptAt: null, errorCode: error.code, errorMessage: error.message, failedStep: null },
      [{ step: 'rollback', attempt: run.attempt, outcome: 'skipped', errorCode: error.code, detail, startedAt: now }, ...(always ? [always] : [])],
      lease,
      (trx) => this.audit(run, 'failure', run.pendingVersionId, error.code, trx),
    );
    throw error;
  }

  private async subject(path: string): Promise<Subject> {
    const policy = await this.o.applied.policy(path);
    if (policy.type === 'database-credential' && policy.target === undefined) {
      throw new KeyturnError('KT_POLICY_NOT_ROTATABLE', `${path} is a database-credential without a target`);
    }
    const strategy: Strategy = strategyOf(policy);
    if (!policy.target) return { policy, strategy, target: null, adminPath: undefined };
    const applied = await this.o.applied.target(policy.target);
    if (!applied.target.strategies.includes(strategy)) {
      throw new KeyturnError('KT_TARGET_STRATEGY_UNSUPPORTED', `target ${policy.target} (${applied.target.kind}) does not support ${strategy}`);
    }
    return { policy, strategy, target: applied.target, adminPath: applied.adminPath };
  }

  private async audit(run: Run, outcome: EngineAuditEvent['outcome'], versionId: string | null, errorCode: string | null, trx: Transaction<Schema>): Promise<void> {
    await this.o.audit?.record({ action: 'rotate', path: run.path, outcome, runId: run.id, correlationId: run.correlationId, versionId, errorCode }, trx);
  }
}

/** Whether propagate has nothing to do: no consumer, no agent to wait for, no replica. */
function nothingToPropagate(policy: SecretPolicy): boolean {
  return policy.consumers.length === 0 && policy.waitForAgents === undefined && (policy.replicas?.length ?? 0) === 0;
}
