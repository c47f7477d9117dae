/**
 * What happens when break-glass windows close: {@link sweepBreakGlass} lapses requests left
 * pending too long, closes each window that has ended and starts one rotation of its secret
 * through the engine, exactly once per request (the close claims the row: `rotation` from NULL to
 * `running` in one conditional update, so two sweeps, in one process or two, never both rotate),
 * then records how it ended: `rotated`, `failed` (the run's or the error's KT_ code) or
 * `unconfigured` (the secret has no rotation policy: a human must rotate it; `breakglass ls` says so).
 * Each step is an audit event (`breakglass.lapse`, `breakglass.close`, `breakglass.rotate`).
 *
 * The server runs it on a timer (src/server/housekeeping.ts); tests call it with a manual clock.
 *
 * @example
 * ```ts
 * const report = await sweepBreakGlass(repoDeps, clock.now());
 * report.rotated; // ['bg_…']
 * ```
 */
import type { AuditContext } from '../../audit/context.js';
import type { AuditLog } from '../../audit/log.js';
import { isKeyturnError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { StateDb } from '../../state/db.js';
import { transact } from '../../state/tx.js';
import { contextFields } from '../../audit/hooks.js';
import { PENDING_MS } from './repo.js';

/** Starts a rotation of `path` and says how the run ended (the engine's `rotate`). */
export type RotatePort = (path: string, correlationId: string) => Promise<{ id: string; status: string; errorCode: string | null }>;

export interface SweepDeps {
  state: StateDb;
  audit: AuditLog;
  rotate: RotatePort;
  /** Who the sweep's events name (the server: `system:server`). */
  context: AuditContext;
  log?: Logger;
}

export interface SweepReport {
  lapsed: string[];
  rotated: string[];
  failed: string[];
  unconfigured: string[];
}

/** Codes that mean the secret has no rotation configured (rather than a rotation that failed). */
const UNCONFIGURED = new Set(['KT_POLICY_NOT_FOUND', 'KT_POLICY_NOT_ROTATABLE']);

/** Lapses stale pending requests and closes ended windows, rotating each closed one's secret once. */
export async function sweepBreakGlass(deps: SweepDeps, now: number): Promise<SweepReport> {
  const { state, audit, context } = deps;
  const report: SweepReport = { lapsed: [], rotated: [], failed: [], unconfigured: [] };
  const stale = await state.db
    .selectFrom('breakglass_requests')
    .select(['id', 'path'])
    .where('state', '=', 'pending')
    .where('created_at', '<=', now - PENDING_MS)
    .execute();
  for (const r of stale) {
    const done = await transact(state.db, async (trx) => {
      const u = await trx.updateTable('breakglass_requests').set({ state: 'lapsed', closed_at: now }).where('id', '=', r.id).where('state', '=', 'pending').executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) return false;
      await audit.appendWithin({ ...contextFields(context), action: 'breakglass.lapse', path: r.path, outcome: 'success', runId: r.id }, trx);
      return true;
    });
    if (done) report.lapsed.push(r.id);
  }
  const ended = await state.db.selectFrom('breakglass_requests').select(['id', 'path']).where('state', '=', 'approved').where('ends_at', '<=', now).orderBy('ends_at').execute();
  for (const r of ended) {
    const claimed = await transact(state.db, async (trx) => {
      const u = await trx
        .updateTable('breakglass_requests')
        .set({ state: 'closed', closed_at: now, rotation: 'running' })
        .where('id', '=', r.id)
        .where('state', '=', 'approved')
        .where('rotation', 'is', null)
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) return false;
      await audit.appendWithin({ ...contextFields(context), action: 'breakglass.close', path: r.path, outcome: 'success', runId: r.id }, trx);
      return true;
    });
    if (!claimed) continue;
    const outcome = await rotateOnce(deps, r.path, r.id);
    await transact(state.db, async (trx) => {
      await trx
        .updateTable('breakglass_requests')
        .set({ rotation: outcome.rotation, rotation_run_id: outcome.runId, rotation_error: outcome.errorCode, rotation_at: now })
        .where('id', '=', r.id)
        .execute();
      await audit.appendWithin(
        {
          ...contextFields(context),
          action: 'breakglass.rotate',
          path: r.path,
          outcome: outcome.rotation === 'rotated' ? 'success' : 'failure',
          errorCode: outcome.errorCode,
          runId: r.id,
        },
        trx,
      );
    });
    report[outcome.rotation === 'rotated' ? 'rotated' : outcome.rotation].push(r.id);
    if (outcome.rotation !== 'rotated') deps.log?.warn({ request: r.id, path: r.path, code: outcome.errorCode }, 'break-glass window closed but the secret was not rotated');
  }
  return report;
}

async function rotateOnce(deps: SweepDeps, path: string, requestId: string): Promise<{ rotation: 'rotated' | 'failed' | 'unconfigured'; runId: string | null; errorCode: string | null }> {
  try {
    const run = await deps.rotate(path, requestId);
    if (run.status === 'done') return { rotation: 'rotated', runId: run.id, errorCode: null };
    return { rotation: 'failed', runId: run.id, errorCode: run.errorCode ?? 'KT_ROTATION_FAILED' };
  } catch (e) {
    const code = isKeyturnError(e) ? e.code : 'KT_INTERNAL';
    return { rotation: UNCONFIGURED.has(code) ? 'unconfigured' : 'failed', runId: null, errorCode: code };
  }
}
