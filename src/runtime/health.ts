/**
 * `keyturn health`: the checks an operator runs first, each named, with a status (ok, degraded,
 * failed) and a short detail that never holds a secret value:
 * - `state`: the state database answers a query and has every migration this Keyturn knows;
 * - `audit`: the events since the last signed checkpoint verify (AuditLog.verifyTail, fast: the
 *   covered part is `keyturn audit verify`'s job) and that checkpoint is not older than twice
 *   KEYTURN_AUDIT_CHECKPOINT_SECONDS;
 * - `targets`: each applied target answers a login with the current credential of one secret that
 *   rotates on it, within `timeoutMs`;
 * - `runs`: secrets whose last run failed, runs waiting to retry past their time by more than a
 *   grace, and runs marked running whose lease has expired (no worker).
 *
 * @example
 * ```ts
 * const report = await checkHealth(kt, { timeoutMs: 5000 });
 * report.status; // 'ok' | 'degraded' | 'failed'
 * ```
 */
import { isKeyturnError } from '../core/errors.js';
import type { Keyturn } from './keyturn.js';
import { loginWithCurrent } from './current-login.js';

export type HealthStatus = 'ok' | 'degraded' | 'failed';

/** One part of a check (a target, a run), with what it is about. */
export interface HealthItem {
  readonly name: string;
  readonly status: HealthStatus;
  readonly detail: string;
}

export interface HealthCheck {
  readonly name: 'state' | 'audit' | 'targets' | 'runs';
  readonly status: HealthStatus;
  readonly detail: string;
  readonly items?: readonly HealthItem[];
}

export interface HealthReport {
  readonly status: HealthStatus;
  readonly checks: readonly HealthCheck[];
}

export interface HealthOptions {
  /** The limit on each target's login check, in milliseconds. */
  readonly timeoutMs: number;
  /** How long a retry may be past its time before it counts as overdue (default 60 s). */
  readonly graceMs?: number;
}

/** A retry this late (or later) has no worker picking it up: `keyturn rotate --due` is not scheduled. */
export const DEFAULT_RUN_GRACE_MS = 60_000;

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 };

/** The worse of the statuses (ok for none). */
export function worst(statuses: readonly HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');
}

/** What a failure says without anything that could be a value: its code and message (KeyturnError messages name no values), or its class. */
function why(e: unknown): string {
  if (isKeyturnError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.name : 'unknown error';
}

/** The report when Keyturn could not be opened: the state check failed, the others could not run. */
export function unopenedReport(e: unknown): HealthReport {
  const skipped = (name: HealthCheck['name']): HealthCheck => ({ name, status: 'failed', detail: 'not checked: the state database could not be opened' });
  return { status: 'failed', checks: [{ name: 'state', status: 'failed', detail: why(e) }, skipped('audit'), skipped('targets'), skipped('runs')] };
}

/** Runs every check on an open Keyturn; never throws for what it finds. */
export async function checkHealth(kt: Keyturn, options: HealthOptions): Promise<HealthReport> {
  const state = await checkState(kt);
  const [audit, targets, runs] = await Promise.all([checkAudit(kt), checkTargets(kt, options.timeoutMs), checkRuns(kt, options.graceMs ?? DEFAULT_RUN_GRACE_MS)]);
  const checks = [state, audit, targets, runs];
  return { status: worst(checks.map((c) => c.status)), checks };
}

async function checkState(kt: Keyturn): Promise<HealthCheck> {
  try {
    const [{ sql }, { MIGRATIONS }] = await Promise.all([import('kysely'), import('../state/migrations/index.js')]);
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(kt.state.db);
    const applied = new Set(rows.map((r) => r.name));
    const missing = Object.keys(MIGRATIONS).filter((m) => !applied.has(m));
    const where = `${kt.state.location} (${kt.state.dialect})`;
    if (missing.length > 0) return { name: 'state', status: 'failed', detail: `${where}: ${missing.length} migration(s) not applied (${missing.join(', ')})` };
    return { name: 'state', status: 'ok', detail: `${where}: reachable, ${rows.length} migrations applied` };
  } catch (e) {
    return { name: 'state', status: 'failed', detail: why(e) };
  }
}

async function checkAudit(kt: Keyturn): Promise<HealthCheck> {
  let head;
  try {
    head = await kt.audit.verifyTail();
  } catch (e) {
    return { name: 'audit', status: 'failed', detail: `the events since the last checkpoint do not verify: ${why(e)}` };
  }
  const tail = `${head.size - head.checkpointSize} event(s) since the last checkpoint verified`;
  if (head.checkpointAt === null) return { name: 'audit', status: 'degraded', detail: `${tail}; no checkpoint has been signed` };
  const ageS = Math.max(0, Math.round((kt.clock.now() - head.checkpointAt) / 1000));
  const limitS = 2 * kt.settings.audit.checkpointSeconds;
  if (ageS > limitS) {
    return {
      name: 'audit',
      status: 'degraded',
      detail: `${tail}; the last checkpoint is ${ageS} s old, more than twice KEYTURN_AUDIT_CHECKPOINT_SECONDS (${limitS} s): schedule keyturn audit tick`,
    };
  }
  return { name: 'audit', status: 'ok', detail: `${tail}; last checkpoint (size ${head.checkpointSize}) ${ageS} s old` };
}

async function checkTargets(kt: Keyturn, timeoutMs: number): Promise<HealthCheck> {
  let names: string[];
  let policies;
  try {
    names = (await kt.state.db.selectFrom('targets').select('name').orderBy('name').execute()).map((r) => r.name);
    policies = await kt.applied.policies();
  } catch (e) {
    return { name: 'targets', status: 'failed', detail: `the applied targets could not be read: ${why(e)}` };
  }
  if (names.length === 0) return { name: 'targets', status: 'ok', detail: 'no target applied' };
  const items = await Promise.all(
    names.map(async (name): Promise<HealthItem> => {
      const item = (status: HealthStatus, detail: string): HealthItem => ({ name, status, detail });
      try {
        const { target } = await kt.applied.target(name);
        if (!target.strategies.some((s) => s !== 'simple')) return item('ok', `${target.kind}: no outside system to reach`);
        const policy = policies.find((p) => p.target === name && p.type === 'database-credential');
        if (policy === undefined) return item('ok', `${target.kind}: not probed, no secret rotates on it`);
        if ((await loginWithCurrent(kt, target, policy, timeoutMs)) === 'no-current') return item('degraded', `${target.kind}: ${policy.path} has no current value to log in with`);
        return item('ok', `${target.kind}: ${policy.path} logs in`);
      } catch (e) {
        return item('degraded', `${why(e)}`);
      }
    }),
  );
  const bad = items.filter((i) => i.status !== 'ok');
  const detail = bad.length === 0 ? `${items.length} target(s) answer` : `${bad.length} of ${items.length} target(s) unreachable or refusing: ${bad.map((i) => i.name).join(', ')}`;
  return { name: 'targets', status: worst(items.map((i) => i.status)), detail, items };
}

/** A secret whose runs need attention, and why (never a value). */
export interface RunAttention {
  readonly path: string;
  readonly runId: string;
  readonly detail: string;
}

/**
 * The runs that need someone: `failed`, secrets whose last run failed (until a later run of them
 * is made); `overdue`, retries more than `graceMs` past their time with no live lease (nothing is
 * picking them up); `stuck`, runs marked running with no live lease (their worker is gone); and
 * `due`, every retry whose time has come (what `keyturn rotate --due` would take now). Read from the
 * state database, so every instance sharing it sees the same. Used by `keyturn health` and by the
 * metrics (src/metrics/).
 */
export async function runsNeedingAttention(
  kt: Pick<Keyturn, 'state' | 'clock'>,
  graceMs: number = DEFAULT_RUN_GRACE_MS,
): Promise<{ failed: RunAttention[]; overdue: RunAttention[]; stuck: RunAttention[]; due: RunAttention[]; unfinished: RunAttention[] }> {
  const now = kt.clock.now();
  const db = kt.state.db;
  const failedRows = await db
    .selectFrom('runs as r')
    .select(['r.id', 'r.path', 'r.error_code', 'r.failed_step'])
    .where('r.status', '=', 'failed')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('runs as later').select('later.id').whereRef('later.path', '=', 'r.path').whereRef('later.created_at', '>', 'r.created_at'))))
    .orderBy('r.path')
    .execute();
  const failed = failedRows.map((r) => ({ path: r.path, runId: r.id, detail: `run ${r.id} failed${r.failed_step ? ` at ${r.failed_step}` : ''}${r.error_code ? ` (${r.error_code})` : ''}` }));
  const active = await db.selectFrom('runs').select(['id', 'path', 'status', 'next_attempt_at']).where('status', 'in', ['running', 'retrying']).orderBy('path').execute();
  const leaseNames = active.map((r) => `secret:${r.path}`);
  const leases = leaseNames.length === 0 ? [] : await db.selectFrom('leases').select(['name', 'expires_at']).where('name', 'in', leaseNames).execute();
  const live = new Set(leases.filter((l) => Number(l.expires_at) > now).map((l) => l.name));
  const overdue: RunAttention[] = [];
  const stuck: RunAttention[] = [];
  const due: RunAttention[] = [];
  // Overdue and stuck together, in the order read (by path).
  const unfinished: RunAttention[] = [];
  for (const r of active) {
    const next = r.next_attempt_at === null ? null : Number(r.next_attempt_at);
    const leaseLive = live.has(`secret:${r.path}`);
    if (r.status === 'retrying' && next !== null && next <= now) due.push({ path: r.path, runId: r.id, detail: `run ${r.id} is due to retry` });
    if (r.status === 'retrying' && next !== null && next < now - graceMs && !leaseLive) {
      const a = { path: r.path, runId: r.id, detail: `run ${r.id} is ${Math.round((now - next) / 1000)} s past its retry time: run keyturn rotate --due` };
      overdue.push(a);
      unfinished.push(a);
    } else if (r.status === 'running' && !leaseLive) {
      const a = { path: r.path, runId: r.id, detail: `run ${r.id} is running with no live lease (its worker is gone): run keyturn runs resume ${r.id}` };
      stuck.push(a);
      unfinished.push(a);
    }
  }
  return { failed, overdue, stuck, due, unfinished };
}

async function checkRuns(kt: Keyturn, graceMs: number): Promise<HealthCheck> {
  let items: HealthItem[];
  try {
    const { failed, unfinished } = await runsNeedingAttention(kt, graceMs);
    items = [...failed, ...unfinished].map((a) => ({ name: a.path, status: 'degraded', detail: a.detail }));
  } catch (e) {
    return { name: 'runs', status: 'failed', detail: `the runs could not be read: ${why(e)}` };
  }
  if (items.length === 0) return { name: 'runs', status: 'ok', detail: 'no failed or stuck run' };
  return { name: 'runs', status: 'degraded', detail: `${items.length} secret(s) need attention: ${items.map((i) => i.name).join(', ')}`, items };
}
