/**
 * The server's periodic jobs, each on its own timer, one run at a time (a tick while the last run
 * is still going is skipped), never holding the process open, stopped when the server closes. A
 * job that fails is logged with its error code (never a value) and runs again at its next tick.
 *
 * The jobs (see docs/server.md):
 * - `audit-delivery`: feeds the configured audit sinks what they are behind by (every 5 s; only
 *   when a sink is configured), so a sink does not wait for the server to stop;
 * - `breakglass-sweep`: closes ended break-glass windows and rotates their secrets (every 30 s);
 * - `token-cleanup`: deletes tokens that expired more than 7 days ago, OIDC sessions above all
 *   (every hour), each deletion audited;
 * - `notifications`: queues notifications from the audit log, escalations and expiry warnings, and
 *   sends what is due (every KEYTURN_NOTIFY_INTERVAL_MS, default 2 s; src/notify/pass.ts).
 *
 * @example
 * ```ts
 * const stop = startJobs([{ name: 'audit-delivery', everyMs: 5000, run: () => kt.deliverAudit(1) }], kt.log);
 * app.addHook('onClose', async () => stop());
 * ```
 */
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface Job {
  name: string;
  everyMs: number;
  run(): Promise<unknown>;
}

/** Starts every job; the returned function stops them (a run under way finishes on its own). */
export function startJobs(jobs: readonly Job[], log: Logger): () => void {
  const timers = jobs.map((job) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      job
        .run()
        .catch((e: unknown) => log.warn({ job: job.name, code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'housekeeping job failed; it runs again at its next tick'))
        .finally(() => {
          running = false;
        });
    }, job.everyMs);
    timer.unref();
    return timer;
  });
  return () => {
    for (const t of timers) clearInterval(t);
  };
}
