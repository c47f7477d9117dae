/**
 * The cleanup after a rotation (its duty recorded by the finish step: ./cleanups-repo.ts), run by
 * the engine under the secret's lease when it is due ({@link Cleaner.runDue}, from `Engine.tend`,
 * which the scheduler calls), never while the secret has an unfinished run. Two phases per
 * replaced version:
 *
 * - **revoke**, `grace` after the replacement: for `dual-key`, the target's `revoke` removes the
 *   replaced version's key (the user's other keys stay; with a `grace` of null, once a later
 *   rotation has pushed the version out of `previous`); for `alternating-users`, the replaced
 *   version's user (the standby now) gets a password nobody holds (the target's `revoke` when it
 *   has one, else `set` with a fresh password that is never stored, logged or shown), so the
 *   previous credential stops logging in. Done only while the current credential logs in (else KT_CLEANUP_UNSAFE: the
 *   previous one may be the only one that works), and checked after: the previous credential must
 *   be refused (else KT_CLEANUP_FAILED). `not-needed` for `single-user` (the user's password changed
 *   at set), `simple`, a `grace` of null (the next rotation changes the standby anyway), or when the
 *   replaced version's user holds the current credential again; `superseded` when its credential
 *   no longer logs in (a later change of that user ended it); `gone` when the version is.
 * - **purge**, `retainPrevious` after the replacement: the version is dropped from the store
 *   (`purgeVersion`) once it holds no stage and is past the store's retention hold; until then the
 *   row waits (looked at again after `retainPrevious`, or when the hold ends).
 *
 * Journaled like a step: before the target is touched, the row's `started_at` and a
 * `secret.cleanup` intent event commit together; after, the outcome, the run's journal row (step
 * `cleanup`, in the replacing run's journal: `keyturn runs show RUN`) and the success or failure
 * event commit together. A crash between the two leaves the row due, and the next pass does the
 * step again (a second unknown password is as good as the first). A failure is retried with the
 * rotation's backoff.
 *
 * @example
 * ```ts
 * const cleaner = new Cleaner({ state, store, runs, cleanups, clock, log, audit });
 * const outcomes = await cleaner.runDue(scope, lease);   // the engine holds the secret's lease
 * ```
 */
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { isKeyturnError, KeyturnError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Version } from '../core/types.js';
import type { StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';
import { transact } from '../state/tx.js';
import type { SecretStore } from '../stores/store.js';
import type { Credential } from '../targets/target.js';
import { fullJitterDelay } from './backoff.js';
import { type Cleanup, type CleanupPatch, type CleanupPhase, type CleanupsRepo } from './cleanups-repo.js';
import type { HeldLease } from './leases.js';
import { asCredential, freshPassword } from './next-value.js';
import { codeOf, type RunScope } from './run-scope.js';
import type { Run, RunsRepo, StepRecord } from './runs-repo.js';

/** How one cleanup pass over one version ended. */
export interface CleanupOutcome {
  readonly path: string;
  readonly versionId: string;
  readonly runId: string;
  readonly revoke: CleanupPhase;
  readonly purge: CleanupPhase;
  /** When it is due again (null: over, its row deleted). */
  readonly dueAt: number | null;
  /** Set when this pass failed (tried again at `dueAt`). */
  readonly errorCode: string | null;
  readonly detail: string;
}

/** Where the cleanup's audit events go: `secret.cleanup` intent, success or failure (the engine's audit port). */
export type CleanupAudit = (
  e: { path: string; runId: string; correlationId: string; versionId: string; outcome: 'intent' | 'success' | 'failure'; errorCode: string | null },
  trx: Transaction<Schema>,
) => Promise<void>;

export interface CleanerDeps {
  readonly state: StateDb;
  readonly store: SecretStore;
  readonly runs: RunsRepo;
  readonly cleanups: CleanupsRepo;
  readonly clock: Clock;
  readonly log: Logger;
  readonly audit: CleanupAudit;
  /** Renews the secret's lease if it is getting old (KT_LEASE_LOST when another worker took it over): asked just before the target is touched. */
  readonly confirmLease: (lease: HeldLease) => Promise<void>;
  /** Called just before and after the revoke's outside effect (tests crash the process there). */
  readonly onBoundary?: (when: 'before' | 'after', cleanup: Cleanup) => void | Promise<void>;
  readonly random?: () => number;
}

/** What the revoke phase came to: over (and how), not yet (until when), or failed (tried again with backoff). */
type RevokeResult = { kind: 'over'; phase: Exclude<CleanupPhase, 'pending'>; detail: string } | { kind: 'later'; at: number; detail: string } | { kind: 'failed'; error: KeyturnError };

export class Cleaner {
  constructor(private readonly d: CleanerDeps) {}

  /** Every cleanup of the scope's secret due now, oldest replacement first; the caller holds the secret's lease and knows it has no unfinished run. */
  async runDue(scope: RunScope, lease: HeldLease): Promise<CleanupOutcome[]> {
    const due = await this.d.cleanups.due(scope.path, this.d.clock.now());
    const out: CleanupOutcome[] = [];
    for (const c of due) {
      lease.assertHeld();
      out.push(await this.one(c, scope, lease));
    }
    return out;
  }

  private async one(start: Cleanup, scope: RunScope, lease: HeldLease): Promise<CleanupOutcome> {
    const run = await this.d.runs.find(start.runId);
    let c = start;
    const details: string[] = [];
    let nextAt: number[] = [];
    if (c.revoke === 'pending') {
      const r = await this.revoke(c, scope, run, lease);
      if (r.kind === 'failed') return this.failed(c, scope, run, lease, r.error);
      if (r.kind === 'later') nextAt.push(r.at);
      else {
        c = { ...c, revoke: r.phase, startedAt: null, attempts: 0, errorCode: null };
        await this.journal(
          c,
          run,
          lease,
          { revoke: r.phase, startedAt: null, attempts: 0, errorCode: null },
          r.phase === 'done' ? { outcome: 'ok', detail: r.detail } : { outcome: 'skipped', detail: r.detail },
          r.phase === 'done' ? 'success' : null,
        );
      }
      details.push(r.detail);
    }
    // Purge only once the revoke is over: the revoke needs the version's value.
    if (c.purge === 'pending' && c.revoke !== 'pending') {
      const p = await this.purge(c, scope);
      if (p.kind === 'later') nextAt.push(p.at);
      else {
        c = { ...c, purge: p.phase };
        await this.journal(c, run, lease, { purge: p.phase }, { outcome: p.phase === 'done' ? 'ok' : 'skipped', detail: p.detail }, null);
      }
      details.push(p.detail);
    }
    nextAt = nextAt.filter((t) => Number.isFinite(t));
    const dueAt = c.revoke !== 'pending' && c.purge !== 'pending' ? null : Math.min(...(nextAt.length > 0 ? nextAt : [this.d.clock.now()]));
    if (dueAt !== null) await this.d.cleanups.update(c, { dueAt });
    return { path: c.path, versionId: c.versionId, runId: c.runId, revoke: c.revoke, purge: c.purge, dueAt, errorCode: null, detail: details.join('; ') };
  }

  // ── revoke ─────────────────────────────────────────────────────────────

  /**
   * renew: a replaced value that must be ended (Renewer.retire: an HSM key destroyed) is retired
   * when the grace period (the overlap its users were given) ends, also while still `previous`;
   * never once it is current or pending again. Without retire (a certificate) nothing needs ending.
   */
  /** The replaced version a cleanup is about, or the phase's end when it is gone from the store (or the read failed). */
  private async replaced(c: Cleanup): Promise<Version | RevokeResult> {
    try {
      const version = await this.d.store.get(c.path, { versionId: c.versionId });
      return version ?? { kind: 'over', phase: 'gone', detail: `version ${c.versionId} is not in the store any more` };
    } catch (e) {
      if (isKeyturnError(e, 'KT_VERSION_NOT_FOUND') || isKeyturnError(e, 'KT_SECRET_DELETED') || isKeyturnError(e, 'KT_SECRET_NOT_FOUND')) {
        return { kind: 'over', phase: 'gone', detail: `version ${c.versionId} is not in the store any more (${e.code})` };
      }
      return { kind: 'failed', error: asKeyturn(e) };
    }
  }

  private async retire(c: Cleanup, scope: RunScope, run: Run | null, lease: HeldLease): Promise<RevokeResult> {
    const renewer = scope.subject.target?.renewer;
    if (!renewer?.retire) return { kind: 'over', phase: 'not-needed', detail: 'renew: the replaced value simply expires' };
    const graceText = scope.subject.policy.effectiveSchedule.grace;
    if (graceText === null) return { kind: 'over', phase: 'not-needed', detail: 'grace is null: the replaced value is kept until it is purged' };
    const at = c.replacedAt + parseDuration(graceText)!;
    if (this.d.clock.now() < at) return { kind: 'later', at, detail: `the replaced value is kept until the grace period ends at ${new Date(at).toISOString()}` };
    const found = await this.replaced(c);
    if (!('stages' in found)) return found;
    const version = found;
    if (version.stages.includes('current') || version.stages.includes('pending')) {
      return { kind: 'over', phase: 'not-needed', detail: `version ${version.number} is ${version.stages.join(', ')} again: not retired` };
    }
    const probe = { id: c.runId, path: c.path, fromVersionId: null, pendingVersionId: null } as unknown as Run;
    await this.d.confirmLease(lease);
    await this.journal(c, run, lease, { startedAt: this.d.clock.now() }, null, 'intent');
    await this.d.onBoundary?.('before', c);
    try {
      await renewer.retire(await scope.targetContext(probe), version.value);
    } catch (e) {
      return { kind: 'failed', error: asKeyturn(e) };
    }
    await this.d.onBoundary?.('after', c);
    return { kind: 'over', phase: 'done', detail: `version ${version.number} retired on the target after the grace period` };
  }

  private async revoke(c: Cleanup, scope: RunScope, run: Run | null, lease: HeldLease): Promise<RevokeResult> {
    const { target, strategy, policy } = scope.subject;
    const graceText = policy.effectiveSchedule.grace;
    if (!target) return { kind: 'over', phase: 'not-needed', detail: 'no target: nothing to revoke' };
    if (strategy === 'renew') return this.retire(c, scope, run, lease);
    const dual = strategy === 'dual-key';
    if (!dual && strategy !== 'alternating-users') return { kind: 'over', phase: 'not-needed', detail: `${strategy}: the previous password stopped working when the new one was set` };
    if (dual && !target.revoke) return { kind: 'failed', error: new KeyturnError('KT_TARGET_STRATEGY_UNSUPPORTED', `the ${target.kind} target has no revoke, which dual-key needs`) };
    const now = this.d.clock.now();
    if (graceText === null && !dual) return { kind: 'over', phase: 'not-needed', detail: 'grace is null: the previous credential works until the next rotation changes that user' };
    if (graceText !== null) {
      const at = c.replacedAt + parseDuration(graceText)!;
      if (now < at) return { kind: 'later', at, detail: `the previous credential works until the grace period ends at ${new Date(at).toISOString()}` };
    }

    const found = await this.replaced(c);
    if (!('stages' in found)) return found;
    const version = found;
    // dual-key without a grace: the old key works until a later rotation pushes its version out of `previous`.
    if (dual && graceText === null && version.stages.length > 0) {
      const retain = parseDuration(policy.effectiveSchedule.retainPrevious)!;
      return { kind: 'later', at: now + retain, detail: `version ${version.number} is still ${version.stages.join(', ')} (grace is null: its key works until a later rotation replaces it)` };
    }
    let current: Version;
    let previous: Credential;
    let now_: Credential;
    try {
      current = await scope.current();
      previous = asCredential(c.path, version.value);
      now_ = asCredential(c.path, current.value);
    } catch (e) {
      return { kind: 'failed', error: asKeyturn(e) };
    }
    if (current.id === version.id || (!dual && previous.username === now_.username)) {
      return { kind: 'over', phase: 'not-needed', detail: `${previous.username} holds the current credential (version ${current.number})` };
    }
    const pending = dual ? null : await this.d.store.get(c.path, { stage: 'pending' });
    if (pending && typeof pending.value !== 'string' && pending.value.username === previous.username) {
      // A leftover pending version on that user: the next rotation settles it first (Engine.settleLeftoverPending).
      return {
        kind: 'later',
        at: now + Math.max(parseDuration(graceText ?? '1m')!, 60_000),
        detail: `${previous.username} has a pending version ${pending.number} left by an earlier run; the revoke waits for the next rotation to settle it`,
      };
    }
    const probe = { id: c.runId, path: c.path, fromVersionId: current.id } as Run;
    const before = await scope.login(probe, previous);
    if (before === 'refused') {
      // Its intent journaled, then a crash after the change: the change was this cleanup's.
      if (c.startedAt !== null)
        return {
          kind: 'over',
          phase: 'done',
          detail: `${previous.username} no longer logs in with version ${version.number}'s password (changed by the attempt interrupted at ${new Date(c.startedAt).toISOString()})`,
        };
      return { kind: 'over', phase: 'superseded', detail: `${previous.username} no longer logs in with version ${version.number}'s password (changed since)` };
    }
    if (before === 'unavailable')
      return {
        kind: 'failed',
        error: new KeyturnError('KT_TARGET_UNAVAILABLE', `${c.path}: the target could not be reached to check version ${version.number}'s credential; the cleanup is tried again`),
      };
    const cur = await scope.login(probe, now_);
    if (cur === 'unavailable')
      return { kind: 'failed', error: new KeyturnError('KT_TARGET_UNAVAILABLE', `${c.path}: the target could not be reached to check the current credential; the cleanup is tried again`) };
    if (cur === 'refused') {
      return {
        kind: 'failed',
        error: new KeyturnError(
          'KT_CLEANUP_UNSAFE',
          `${c.path}: the current credential (${now_.username}, version ${current.number}) does not log in, so ${previous.username}'s previous one is kept`,
          { details: { path: c.path, versionId: c.versionId } },
        ),
      };
    }

    // The intent, durable before the target is touched, by a worker that still holds the lease.
    await this.d.confirmLease(lease);
    await this.journal(c, run, lease, { startedAt: now }, null, 'intent');
    await this.d.onBoundary?.('before', c);
    try {
      const ctx = await scope.targetContext(probe);
      // dual-key: the target removes that one key; alternating-users: the standby's password becomes one nobody holds.
      if (target.revoke) await target.revoke(ctx, previous);
      else await target.set(ctx, { ...previous, password: freshPassword(policy, target.passwordLimits) }, now_);
    } catch (e) {
      return { kind: 'failed', error: asKeyturn(e) };
    }
    await this.d.onBoundary?.('after', c);
    const after = await scope.login(probe, previous);
    if (after === 'ok')
      return {
        kind: 'failed',
        error: new KeyturnError('KT_CLEANUP_FAILED', `${c.path}: ${previous.username} still logs in with version ${version.number}'s password after it was changed`, {
          details: { path: c.path, versionId: c.versionId },
        }),
      };
    if (after === 'unavailable')
      return {
        kind: 'failed',
        error: new KeyturnError(
          'KT_TARGET_UNAVAILABLE',
          `${c.path}: the target could not be reached to check that version ${version.number}'s credential no longer logs in; the cleanup is tried again`,
        ),
      };
    this.d.log.info({ path: c.path, versionId: c.versionId, username: previous.username }, 'cleanup: the previous credential no longer logs in');
    return { kind: 'over', phase: 'done', detail: `${previous.username} no longer logs in with version ${version.number}'s password (set to one nobody holds)` };
  }

  // ── purge ──────────────────────────────────────────────────────────────

  private async purge(c: Cleanup, scope: RunScope): Promise<{ kind: 'over'; phase: Exclude<CleanupPhase, 'pending'>; detail: string } | { kind: 'later'; at: number; detail: string }> {
    const retain = parseDuration(scope.subject.policy.effectiveSchedule.retainPrevious)!;
    const at = c.replacedAt + retain;
    const now = this.d.clock.now();
    if (now < at) return { kind: 'later', at, detail: `version kept until ${new Date(at).toISOString()} (retainPrevious)` };
    const store = this.d.store;
    if (!store.purgeVersion) {
      // Concluded only once the version holds no stage: until then the row tells a release not to set it back.
      const info = (await store.versions(c.path).catch(() => [])).find((v) => v.id === c.versionId);
      if (info && info.stages.length > 0) return { kind: 'later', at: now + retain, detail: `version ${info.number} still holds ${info.stages.join(', ')}` };
      return { kind: 'over', phase: 'unsupported', detail: `the ${store.kind} store keeps its versions by its own rules` };
    }
    const r = await store.purgeVersion(c.path, c.versionId);
    switch (r.outcome) {
      case 'purged':
        return { kind: 'over', phase: 'done', detail: `version ${c.versionId} purged` };
      case 'gone':
        return { kind: 'over', phase: 'gone', detail: `version ${c.versionId} was already gone` };
      case 'staged':
        return { kind: 'later', at: now + retain, detail: `version ${c.versionId} still holds ${r.stages.join(', ')}; purged once it holds none` };
      case 'held':
        return { kind: 'later', at: r.until, detail: `version ${c.versionId} is inside the store's retention hold until ${new Date(r.until).toISOString()}` };
    }
  }

  // ── journal ────────────────────────────────────────────────────────────

  /**
   * A failed attempt: journaled and audited, due again after the rotation's backoff. `started_at`
   * stays: a change an earlier attempt made on the target is still this cleanup's.
   */
  private async failed(c: Cleanup, scope: RunScope, run: Run | null, lease: HeldLease, error: KeyturnError): Promise<CleanupOutcome> {
    const attempts = c.attempts + 1;
    const { backoffBaseMs: baseMs, backoffCapMs: capMs } = scope.subject.policy.rotation;
    const dueAt = this.d.clock.now() + fullJitterDelay(attempts, { baseMs, capMs }, this.d.random);
    this.d.log.warn({ path: c.path, versionId: c.versionId, code: error.code, attempts }, 'cleanup failed; tried again later');
    await this.journal(c, run, lease, { attempts, errorCode: error.code, dueAt }, { outcome: 'failed', detail: error.message, errorCode: error.code }, 'failure', error.code);
    return { path: c.path, versionId: c.versionId, runId: c.runId, revoke: c.revoke, purge: c.purge, dueAt, errorCode: error.code, detail: error.message };
  }

  /**
   * One commit: the row's patch, the replacing run's journal row (when given and the run is still
   * there), and the audit event (when given), fenced by the secret's lease through the run.
   */
  private async journal(
    c: Cleanup,
    run: Run | null,
    lease: HeldLease,
    patch: CleanupPatch,
    record: Omit<StepRecord, 'step' | 'attempt' | 'startedAt'> | null,
    audit: 'intent' | 'success' | 'failure' | null,
    errorCode: ErrorCode | null = null,
  ): Promise<void> {
    const within = async (trx: Transaction<Schema>) => {
      await this.d.cleanups.update(c, patch, trx);
      if (audit) await this.d.audit({ path: c.path, runId: c.runId, correlationId: run?.correlationId ?? c.runId, versionId: c.versionId, outcome: audit, errorCode }, trx);
    };
    const now = this.d.clock.now();
    if (run && record) {
      // The run ended long ago, perhaps on another instance, which may have journaled a cleanup of it since.
      this.d.runs.forgetJournal(run.id);
      await this.d.runs.advance(run, {}, { step: 'cleanup', attempt: c.attempts + 1, startedAt: now, ...record }, lease, within);
      return;
    }
    lease.assertHeld();
    await transact(this.d.state.db, within);
  }
}

function asKeyturn(e: unknown): KeyturnError {
  return isKeyturnError(e) ? e : new KeyturnError(codeOf(e), 'unexpected error during a cleanup (see the logs at debug level)');
}
