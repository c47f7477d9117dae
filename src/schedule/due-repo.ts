/**
 * The scheduler's index of what is due (table `schedule_due`, migration 0014): one row per secret
 * with an applied policy, holding when a pass should take it, in which priority, on which target.
 * A pass reads only what is due: `WHERE due_at <= now ORDER BY priority, due_at LIMIT n` on the
 * index on `due_at` ({@link DueRepo.claim}).
 *
 * A row is a hint, never the truth: {@link DueRepo.compute} derives it from the state database
 * (the policy's effective schedule, the current version's creation, the latest runs, a pending
 * request) and the engine asks it again under the secret's lease before it starts a run, so a row
 * that is early (claimed by two instances, left behind by a crash) costs a check, never a second
 * rotation. It is written again ({@link DueRepo.refresh}) by `keyturn apply` (in its transaction),
 * after every run of the engine (done, retrying, failed, cancelled), and after a value is stored,
 * rolled back, deleted or restored by hand: a `secret put` restarts the clock.
 *
 * What the row says, in order:
 * - no policy: no row; a secret that is deleted or has no current value: never due;
 * - an unfinished run: due at its retry time (`retry`), or looked at again later while it runs
 *   (`running`: its worker may die, and the next look resumes it);
 * - a request (`keyturn rotate PATH --queue`, emergency or manual) not yet followed by a new
 *   value: due at the request's time, in its priority, whatever the window;
 * - a cleanup an earlier rotation owes (src/engine/cleanup.ts: the previous credential ended after
 *   `grace`, the version purged after `retainPrevious`) when it comes before the next rotation:
 *   due then, reason `cleanup` (the engine then runs the cleanup and rotates only if that is due);
 * - the schedule's next due time (src/schedule/due.ts), or, when earlier, the time the current
 *   value needs renewing by itself (`renew`: a certificate `renewBefore` its notAfter; the
 *   `renewals` row the engine wrote for that version), unless the last run failed for good after
 *   the current value was made: then not before a cool-down of `max(rotation.backoffCapMs, 1 min)`
 *   doubled for each failed run in a row (at most a day), so a failing secret is not hammered.
 *
 * @example
 * ```ts
 * const due = new DueRepo(state, clock);
 * await due.refresh('prod/api/token');                  // after a change
 * const claimed = await due.claim({ now, limit: 4, holder, claimMs: 60_000, targetLimit: 2, busy: new Map() });
 * ```
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import { DAY_MS } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { StateDb } from '../state/db.js';
import type { Schema, ScheduleDueTable } from '../state/schema.js';
import type { ScheduleValues } from './resolve.js';

/** The order a pass takes due secrets in: the lowest first, then the most overdue. */
export const PRIORITY = { emergency: 0, manual: 1, scheduled: 2 } as const;
export type RequestPriority = 'emergency' | 'manual';

export const PRIORITY_NAMES: Readonly<Record<number, string>> = { 0: 'emergency', 1: 'manual', 2: 'scheduled' };

/** The shortest cool-down after a run failed for good (doubled per failed run in a row, at most a day). */
export const FAILED_COOLDOWN_MIN_MS = 60_000;

/** How long a row of a running run waits before a pass looks at it again (a worker that died is resumed then). */
export const RUNNING_RECHECK_MS = 60_000;

type Db = Kysely<Schema> | Transaction<Schema>;

export interface DueRow {
  readonly path: string;
  readonly target: string | null;
  readonly priority: number;
  readonly dueAt: number | null;
  readonly reason: string;
  readonly warningAt: number | null;
  readonly overdueAt: number | null;
  readonly requestedAt: number | null;
}

/** What the engine does with a secret now, under its lease: start a run, resume its unfinished one, or nothing (not due). */
export type DueDecision = 'start' | 'resume' | 'wait';

export interface Claimed {
  readonly path: string;
  readonly target: string | null;
  readonly priority: number;
  /** The due time it was claimed at. */
  readonly dueAt: number;
}

export interface ClaimOptions {
  /** Claim what is due at or before this time. */
  readonly now: number;
  /** At most this many. */
  readonly limit: number;
  /** Who claims (kept in the row). */
  readonly holder: string;
  /** How long the claim keeps other instances off the row (its `claimed_until`; its due time stays). */
  readonly claimMs: number;
  /** At most this many rotations per target at once in this instance... */
  readonly targetLimit: number;
  /** ... counting those it already runs, by target. */
  readonly busy: ReadonlyMap<string, number>;
}

interface PolicyFacts {
  readonly schedule: ScheduleValues;
  readonly target: string | null;
  readonly backoffCapMs: number;
}

interface ClaimRow {
  path: string;
  target: string | null;
  priority: number;
  due_at: number;
}

/**
 * The claim on PostgreSQL, one statement: the due and unclaimed rows, in priority and due order,
 * read and locked `FOR UPDATE SKIP LOCKED` (rows another instance is claiming are skipped, not
 * waited for), those of a target beyond its room dropped, the rest claimed. Parameters: $1 now,
 * $2 limit, $3 targets that are full, $4 the rotations running here by target (JSON object),
 * $5 the per-target limit, $6 claimed until, $7 holder, $8 claimed at.
 */
const CLAIM_SQL = `
  WITH c AS (
    SELECT ctid AS row_id, path, target, priority, due_at FROM schedule_due
    WHERE due_at <= $1::bigint AND (claimed_until IS NULL OR claimed_until <= $1::bigint)
      AND (target IS NULL OR NOT (target = ANY($3::text[])))
    ORDER BY priority, due_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED),
  p AS (SELECT c.*, row_number() OVER (PARTITION BY target ORDER BY priority, due_at) AS k FROM c)
  UPDATE schedule_due AS d SET claimed_until = $6::bigint, claimed_by = $7::text, claimed_at = $8::bigint
  FROM p WHERE d.ctid = p.row_id AND (p.target IS NULL OR p.k + coalesce(($4::jsonb ->> p.target)::int, 0) <= $5)
  RETURNING p.path, p.target, p.priority, p.due_at`;

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** Whether the stored row already says what `row` says, unclaimed (so writing it would change nothing but its time). */
function same(row: DueRow, stored: ScheduleDueTable | null): boolean {
  return (
    stored !== null &&
    stored.claimed_until === null &&
    stored.target === row.target &&
    Number(stored.priority) === row.priority &&
    num(stored.due_at) === row.dueAt &&
    stored.reason === row.reason &&
    num(stored.warning_at) === row.warningAt &&
    num(stored.overdue_at) === row.overdueAt &&
    num(stored.requested_at) === row.requestedAt
  );
}

export class DueRepo {
  /** Parsed policies by path, with the stored text they came from. */
  private readonly policies = new Map<string, { config: string; facts: PolicyFacts }>();

  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    private readonly runningRecheckMs = RUNNING_RECHECK_MS,
  ) {}

  private async facts(path: string, config: string): Promise<PolicyFacts> {
    const hit = this.policies.get(path);
    if (hit?.config === config) return hit.facts;
    const { parsePolicy } = await import('../engine/applied.js');
    const p = await parsePolicy(path, config);
    const facts: PolicyFacts = { schedule: p.effectiveSchedule, target: p.target ?? null, backoffCapMs: p.rotation.backoffCapMs };
    this.policies.set(path, { config, facts });
    return facts;
  }

  /**
   * The same facts for a secret of an outside primary store, from its kept head (`store_heads`,
   * src/stores/heads.ts): undefined when the store has no such secret.
   */
  private async outsideHead(db: Db, path: string) {
    return db
      .selectFrom('store_heads as h')
      .select(['h.created_at', 'h.deleted_at', 'h.current_at'])
      .select((eb) =>
        eb
          .selectFrom('version_cleanups as c')
          .select((e) => e.fn.min<number | null>('c.due_at').as('m'))
          .whereRef('c.path', '=', 'h.path')
          .where('c.due_at', 'is not', null)
          .as('cleanup_at'),
      )
      .select((eb) => eb.selectFrom('renewals as r').select('r.renew_at').whereRef('r.path', '=', 'h.path').whereRef('r.version_id', '=', 'h.current_version_id').as('renew_at'))
      .where('h.path', '=', path)
      .executeTakeFirst();
  }

  /** The row `path` should have at `now`, and what the engine would do; null when it has no applied policy. */
  async decide(path: string, db: Db = this.state.db, now = this.clock.now()): Promise<{ row: DueRow; decision: DueDecision; stored: ScheduleDueTable | null } | null> {
    const policy = await db.selectFrom('secret_policies').select('config').where('path', '=', path).executeTakeFirst();
    if (!policy) return null;
    // The schedule code (croner) loads only for a secret that has a policy: a `secret put` of another pays nothing.
    const [facts, { nextDue, mayStartAt }] = await Promise.all([this.facts(path, policy.config), import('./due.js')]);
    const existing = await db.selectFrom('schedule_due').selectAll().where('path', '=', path).executeTakeFirst();
    const secret = await db
      .selectFrom('secrets as s')
      .leftJoin('secret_stages as st', (j) => j.onRef('st.secret_id', '=', 's.id').on('st.stage', '=', 'current'))
      .leftJoin('secret_versions as v', (j) => j.onRef('v.secret_id', '=', 's.id').onRef('v.id', '=', 'st.version_id'))
      .select(['s.created_at', 's.deleted_at', 'v.created_at as current_at'])
      // The earliest cleanup an earlier rotation owes (src/engine/cleanups-repo.ts), in the same read.
      .select((eb) =>
        eb
          .selectFrom('version_cleanups as c')
          .select((e) => e.fn.min<number | null>('c.due_at').as('m'))
          .whereRef('c.path', '=', 's.path')
          .where('c.due_at', 'is not', null)
          .as('cleanup_at'),
      )
      // When the current value needs renewing by itself (a certificate before its notAfter: migration 0017), for that version only.
      .select((eb) => eb.selectFrom('renewals as r').select('r.renew_at').whereRef('r.path', '=', 's.path').whereRef('r.version_id', '=', 'st.version_id').as('renew_at'))
      .where('s.path', '=', path)
      .executeTakeFirst()
      .then((row) => row ?? this.outsideHead(db, path));
    const base = { path, target: facts.target, priority: PRIORITY.scheduled as number, requestedAt: null as number | null, warningAt: null as number | null, overdueAt: null as number | null };
    if (!secret || secret.deleted_at !== null || secret.current_at === null) {
      return { row: { ...base, dueAt: null, reason: secret && secret.deleted_at !== null ? 'deleted' : 'no-value' }, decision: 'wait', stored: existing ?? null };
    }
    const lastRotatedAt = Number(secret.current_at);
    const scheduled = nextDue(facts.schedule, { path, lastRotatedAt, createdAt: Number(secret.created_at), now });
    // A value that must be renewed before the schedule would rotate it (a certificate renewBefore its notAfter): due then.
    const renewAt = num(secret.renew_at);
    const plan = renewAt !== null && (scheduled.dueAt === null || renewAt < scheduled.dueAt) ? { ...scheduled, dueAt: renewAt, reason: 'renew' } : scheduled;
    const requestedAt = num(existing?.requested_at ?? null);
    const requested = requestedAt !== null && lastRotatedAt < requestedAt;
    const common = {
      ...base,
      warningAt: plan.warningAt,
      overdueAt: plan.overdueAt,
      ...(requested ? { requestedAt, priority: Number(existing!.priority) } : {}),
    };
    const runs = await db.selectFrom('runs').select(['status', 'next_attempt_at', 'created_at', 'finished_at']).where('path', '=', path).orderBy('created_at', 'desc').limit(8).execute();
    const latest = runs[0];
    if (latest && latest.status === 'retrying') {
      const at = num(latest.next_attempt_at) ?? now;
      return { row: { ...common, dueAt: at, reason: 'retry' }, decision: at <= now ? 'resume' : 'wait', stored: existing ?? null };
    }
    // Running: under the lease, its worker is gone (resume it); otherwise look again later.
    if (latest && latest.status === 'running') return { row: { ...common, dueAt: now + this.runningRecheckMs, reason: 'running' }, decision: 'resume', stored: existing ?? null };
    // The last run failed for good after the current value was made: a cool-down before the next run.
    let cooldownUntil: number | null = null;
    let failedAt = 0;
    if (latest && latest.status === 'failed' && Number(latest.finished_at ?? 0) >= lastRotatedAt) {
      let inRow = 0;
      while (inRow < runs.length && runs[inRow]!.status === 'failed') inRow += 1;
      const cooldown = Math.min(DAY_MS, Math.max(facts.backoffCapMs, FAILED_COOLDOWN_MIN_MS) * 2 ** (inRow - 1));
      failedAt = Number(latest.created_at);
      cooldownUntil = Number(latest.finished_at) + cooldown;
    }
    let row: DueRow;
    if (requested) {
      // A request that was tried and failed waits out the cool-down too; the window does not apply to it.
      const dueAt = cooldownUntil !== null && failedAt >= requestedAt ? Math.max(requestedAt, cooldownUntil) : requestedAt;
      row = { ...common, dueAt, reason: 'requested' };
    } else if (cooldownUntil !== null && plan.dueAt !== null && cooldownUntil > plan.dueAt) {
      // The schedule's due time (a window's next opening after the cool-down, when it is closed then), not before the cool-down's end.
      const after = cooldownUntil > now ? nextDue(facts.schedule, { path, lastRotatedAt, createdAt: Number(secret.created_at), now: cooldownUntil }) : plan;
      row = { ...common, dueAt: after.dueAt === null ? null : Math.max(after.dueAt, cooldownUntil), reason: 'failed' };
    } else row = { ...common, dueAt: plan.dueAt, reason: plan.reason };
    const due = row.dueAt !== null && row.dueAt <= now && (requested || mayStartAt(facts.schedule, now));
    // A cleanup owed by an earlier rotation (after grace, after retainPrevious) due before that: the row says when (Engine.tend runs it).
    const cleanupAt = num(secret.cleanup_at);
    if (cleanupAt !== null && !due && (row.dueAt === null || cleanupAt < row.dueAt)) row = { ...row, dueAt: cleanupAt, reason: 'cleanup' };
    return { row, decision: due ? 'start' : 'wait', stored: existing ?? null };
  }

  /** The row `path` should have now (see the module header); null when it has no policy. */
  async compute(path: string, db: Db = this.state.db, now = this.clock.now()): Promise<DueRow | null> {
    return (await this.decide(path, db, now))?.row ?? null;
  }

  /**
   * Writes the row of `path` as {@link compute} makes it (the claim cleared), or deletes it when
   * the path has no policy; a row that already says so is left as it is (nothing written).
   */
  async refresh(path: string, db: Db = this.state.db): Promise<DueRow | null> {
    const d = await this.decide(path, db);
    if (d === null) {
      await this.write(path, null, db);
      return null;
    }
    if (!same(d.row, d.stored)) await this.write(path, d.row, db);
    return d.row;
  }

  /** Writes `row` as the row of `path` (null: deletes it). */
  async write(path: string, row: DueRow | null, db: Db = this.state.db): Promise<void> {
    if (row === null) {
      await db.deleteFrom('schedule_due').where('path', '=', path).execute();
      return;
    }
    const values: ScheduleDueTable = {
      path,
      target: row.target,
      priority: row.priority,
      due_at: row.dueAt,
      reason: row.reason,
      warning_at: row.warningAt,
      overdue_at: row.overdueAt,
      requested_at: row.requestedAt,
      claimed_by: null,
      claimed_at: null,
      claimed_until: null,
      updated_at: this.clock.now(),
    };
    const { path: _path, ...rest } = values;
    await db
      .insertInto('schedule_due')
      .values(values)
      .onConflict((oc) => oc.column('path').doUpdateSet(rest))
      .execute();
  }

  /**
   * Moves the due time of `path` to `until` when it is earlier (never one that is not due at all):
   * an attempt refused before any run started waits instead of being taken at every pass.
   */
  async postpone(path: string, until: number): Promise<void> {
    await this.state.db
      .updateTable('schedule_due')
      .set({ due_at: until, reason: 'error', claimed_by: null, claimed_at: null, claimed_until: null, updated_at: this.clock.now() })
      .where('path', '=', path)
      .where('due_at', '<', until)
      .execute();
  }

  /**
   * Asks for a rotation of `path` by the scheduler, ahead of scheduled ones: due now, in the
   * request's priority (an earlier or more urgent request that is still pending is kept), until a
   * new value is made. KT_POLICY_NOT_FOUND without a policy, KT_POLICY_NOT_ROTATABLE when it
   * cannot be rotated.
   */
  async request(path: string, priority: RequestPriority): Promise<DueRow> {
    const policy = await this.state.db.selectFrom('secret_policies').select('config').where('path', '=', path).executeTakeFirst();
    if (!policy) throw new KeyturnError('KT_POLICY_NOT_FOUND', `${path} has no applied rotation policy`);
    const { parsePolicy } = await import('../engine/applied.js');
    const { isRotatable } = await import('../config/schema.js');
    if (!isRotatable(await parsePolicy(path, policy.config))) throw new KeyturnError('KT_POLICY_NOT_ROTATABLE', `${path} is a database-credential without a target`);
    const now = this.clock.now();
    const { transact } = await import('../state/tx.js');
    return transact(this.state.db, async (trx) => {
      const existing = await trx.selectFrom('schedule_due').select(['priority', 'requested_at']).where('path', '=', path).executeTakeFirst();
      const pending = existing && existing.requested_at !== null ? (await this.compute(path, trx, now))?.requestedAt != null : false;
      const at = pending ? Math.min(Number(existing!.requested_at), now) : now;
      const level = pending ? Math.min(Number(existing!.priority), PRIORITY[priority]) : PRIORITY[priority];
      await trx
        .insertInto('schedule_due')
        .values({
          path,
          target: null,
          priority: level,
          due_at: at,
          reason: 'requested',
          warning_at: null,
          overdue_at: null,
          requested_at: at,
          claimed_by: null,
          claimed_at: null,
          claimed_until: null,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('path').doUpdateSet({ priority: level, requested_at: at, updated_at: now }))
        .execute();
      const row = (await this.compute(path, trx, now))!;
      await this.write(path, row, trx);
      return row;
    });
  }

  /**
   * Claims what is due: the unclaimed rows with `due_at <= now` (or whose claim has run out),
   * emergency first, then manual, then the most overdue, at most `limit`, skipping targets that
   * already run `targetLimit` rotations here (and taking no more of a target than it has room for).
   * A claimed row keeps its due time and gets `claimed_until = now + claimMs`, so no other
   * instance takes it meanwhile; the rotation's end writes the row again. On PostgreSQL the rows
   * are read `FOR UPDATE SKIP LOCKED` in the claiming transaction, so instances claiming at once
   * split the due rows between them; on SQLite the transaction holds the database's write lock.
   *
   * A claim is a hint, not a guarantee (the engine checks under the secret's lease that it is
   * still due). On PostgreSQL it is one statement (the due rows read and locked, the per-target
   * limit applied, the claim written), committed without waiting for the WAL flush (the state's
   * `asyncCommit` sessions): a claim lost in a database crash is only claimed again.
   */
  async claim(o: ClaimOptions): Promise<Claimed[]> {
    if (o.limit <= 0) return [];
    const full = [...o.busy].filter(([, n]) => n >= o.targetLimit).map(([t]) => t);
    const now = this.clock.now();
    const until = Math.max(now, o.now) + o.claimMs;
    const holder = o.holder.slice(0, 200);
    if (this.state.dialect === 'postgres') {
      const busy = JSON.stringify(Object.fromEntries([...o.busy].filter(([, n]) => n > 0)));
      const values = [o.now, o.limit, full, busy, o.targetLimit, until, holder, now];
      const rows = this.state.asyncCommit
        ? await this.state.asyncCommit<ClaimRow>('keyturn_schedule_claim', CLAIM_SQL, values)
        : (await this.state.db.executeQuery<ClaimRow>(CompiledQuery.raw(CLAIM_SQL, values))).rows;
      return rows
        .map((r) => ({ path: r.path, target: r.target, priority: Number(r.priority), dueAt: Number(r.due_at) }))
        .sort((a, b) => a.priority - b.priority || a.dueAt - b.dueAt || (a.path < b.path ? -1 : 1));
    }
    // SQLite: one process; the transaction holds the write lock from its start.
    const { transact } = await import('../state/tx.js');
    return transact(this.state.db, async (trx) => {
      let q = trx
        .selectFrom('schedule_due')
        .select(['path', 'target', 'priority', 'due_at'])
        .where('due_at', '<=', o.now)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', o.now)]))
        .orderBy('priority')
        .orderBy('due_at')
        .limit(o.limit);
      if (full.length > 0) q = q.where((eb) => eb.or([eb('target', 'is', null), eb('target', 'not in', full)]));
      const rows = await q.execute();
      const taken = new Map(o.busy);
      const picked: Claimed[] = [];
      for (const r of rows) {
        if (r.target !== null) {
          const n = taken.get(r.target) ?? 0;
          if (n >= o.targetLimit) continue;
          taken.set(r.target, n + 1);
        }
        picked.push({ path: r.path, target: r.target, priority: Number(r.priority), dueAt: Number(r.due_at) });
      }
      if (picked.length === 0) return [];
      await trx
        .updateTable('schedule_due')
        .set({ claimed_until: until, claimed_by: holder, claimed_at: now })
        .where(
          'path',
          'in',
          picked.map((p) => p.path),
        )
        .execute();
      return picked;
    });
  }

  /**
   * Brings the table in line with the applied policies: a row for each policy without one (those
   * applied before this table existed, or by an older Keyturn), none for a path without a policy.
   * Returns how many rows it wrote. The scheduler runs it when it starts, `rotate --due` too.
   */
  async reconcile(): Promise<number> {
    const db = this.state.db;
    const missing = await db.selectFrom('secret_policies as p').leftJoin('schedule_due as d', 'd.path', 'p.path').select('p.path').where('d.path', 'is', null).execute();
    for (const { path } of missing) await this.refresh(path);
    await db
      .deleteFrom('schedule_due')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('secret_policies as p').select('p.path').whereRef('p.path', '=', 'schedule_due.path'))))
      .execute();
    return missing.length;
  }

  /** The stored row of `path`, if any. */
  async get(path: string): Promise<(DueRow & { claimedBy: string | null; claimedAt: number | null; claimedUntil: number | null }) | null> {
    const r = await this.state.db.selectFrom('schedule_due').selectAll().where('path', '=', path).executeTakeFirst();
    if (!r) return null;
    return {
      path: r.path,
      target: r.target,
      priority: Number(r.priority),
      dueAt: num(r.due_at),
      reason: r.reason,
      warningAt: num(r.warning_at),
      overdueAt: num(r.overdue_at),
      requestedAt: num(r.requested_at),
      claimedBy: r.claimed_by,
      claimedAt: num(r.claimed_at),
      claimedUntil: num(r.claimed_until),
    };
  }

  /** The paths due at `now` and not claimed, most urgent first: what `GET /v1/rotations?due=true` lists. */
  async duePaths(now: number, limit = 10_000): Promise<string[]> {
    const rows = await this.state.db
      .selectFrom('schedule_due')
      .select('path')
      .where('due_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .orderBy('priority')
      .orderBy('due_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.path);
  }

  /** How many secrets are due at `now` and how many are past their overdue time (the metrics' gauges). */
  async counts(now: number): Promise<{ due: number; overdue: number; overduePaths: string[] }> {
    const db = this.state.db;
    const due = await db
      .selectFrom('schedule_due')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('due_at', '<=', now)
      .executeTakeFirst();
    const overdue = await db.selectFrom('schedule_due').select('path').where('overdue_at', '<=', now).execute();
    return { due: Number(due?.n ?? 0), overdue: overdue.length, overduePaths: overdue.map((r) => r.path) };
  }
}
