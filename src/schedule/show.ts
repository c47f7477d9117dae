/**
 * What `keyturn schedule show PATH` (and `GET /v1/schedules/PATH`) tells about a secret: its
 * effective schedule as applied, where each value came from, its last rotation and when it is
 * next due, with its age status now, and the cleanups earlier rotations still owe (after `grace`,
 * after `retainPrevious`: src/engine/cleanup.ts). Read-only; nothing is recorded.
 *
 * @example
 * ```ts
 * const view = await scheduleView({ kt, store: kt.store }, 'prod/api/token', kt.clock.now());
 * view.due.dueAt; // epoch ms, or null for a manual schedule
 * ```
 */
import { isRotatable } from '../config/schema.js';
import { assertValidPath } from '../core/paths.js';
import { CleanupsRepo } from '../engine/cleanups-repo.js';
import { RunsRepo } from '../engine/runs-repo.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { SecretStore } from '../stores/store.js';
import { ageStatus, mayStartAt, nextDue, type DueTime } from './due.js';
import { lastRotation, type LastRotation } from './last-rotation.js';
import type { EffectiveSchedule } from './resolve.js';

export interface ScheduleView {
  readonly path: string;
  readonly type: string;
  /** Whether Keyturn rotates it at all (a target, or an app-secret). */
  readonly rotatable: boolean;
  readonly schedule: EffectiveSchedule;
  /** Null: the secret has no current version yet. */
  readonly lastRotation: LastRotation | null;
  /** What the cycle is counted from without a last rotation: the secret's creation, else the policy's apply. */
  readonly createdAt: number;
  readonly due: DueTime;
  /** The age status now: ok, warning or overdue. */
  readonly status: 'ok' | 'warning' | 'overdue';
  /** Whether the window (if any) lets a rotation start now. */
  readonly mayStartNow: boolean;
  readonly now: number;
  /** Open cleanups of versions earlier rotations replaced, oldest first. */
  readonly cleanups: readonly OpenCleanup[];
}

/** A cleanup still owed (src/engine/cleanups-repo.ts), without its internals. */
export interface OpenCleanup {
  readonly versionId: string;
  readonly runId: string;
  readonly revoke: string;
  readonly purge: string;
  /** When a pass looks at it next (epoch ms). */
  readonly dueAt: number | null;
  readonly errorCode: string | null;
}

/** The schedule view of `path` at `now`; KT_POLICY_NOT_FOUND when keyturn.yaml does not declare it. */
export async function scheduleView(scope: { kt: Keyturn; store: SecretStore }, path: string, now: number): Promise<ScheduleView> {
  const { kt, store } = scope;
  assertValidPath(path);
  const policy = await kt.applied.policy(path);
  const last = await lastRotation(store, new RunsRepo(kt.state, kt.clock), path);
  const info = await store.describe(path);
  const applied = await kt.state.db.selectFrom('secret_policies').select('updated_at').where('path', '=', path).executeTakeFirst();
  const createdAt = info?.createdAt ?? Number(applied?.updated_at ?? now);
  const schedule = policy.effectiveSchedule;
  const scheduled = nextDue(schedule, { path, lastRotatedAt: last?.at ?? null, createdAt, now });
  // A value that needs renewing by itself before that (renew: a certificate renewBefore its notAfter; migration 0017).
  const renewal = info?.currentVersion
    ? await kt.state.db.selectFrom('renewals').select('renew_at').where('path', '=', path).where('version_id', '=', info.currentVersion.id).executeTakeFirst()
    : undefined;
  const renewAt = renewal ? Number(renewal.renew_at) : null;
  const due: DueTime = renewAt !== null && (scheduled.dueAt === null || renewAt < scheduled.dueAt) ? { ...scheduled, dueAt: renewAt, reason: 'renew' } : scheduled;
  const cleanups = (await new CleanupsRepo(kt.state, kt.clock).list(path)).map((c) => ({
    versionId: c.versionId,
    runId: c.runId,
    revoke: c.revoke,
    purge: c.purge,
    dueAt: c.dueAt,
    errorCode: c.errorCode,
  }));
  return { path, type: policy.type, rotatable: isRotatable(policy), schedule, lastRotation: last, createdAt, due, status: ageStatus(due, now), mayStartNow: mayStartAt(schedule, now), now, cleanups };
}
