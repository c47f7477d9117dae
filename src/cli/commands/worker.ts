/**
 * `keyturn worker`: an instance that only rotates: the scheduler of `keyturn server` without the
 * HTTP API (src/schedule/scheduler.ts). Several workers and servers on one PostgreSQL state
 * database share the due secrets, each rotated once; on SQLite run one scheduler per home.
 * SIGTERM or SIGINT drains it as it drains a server: no new claims, the rotations under way stop
 * at their next step boundary (left retrying for the next pass), then it exits 0.
 *
 * @example
 * ```sh
 * KEYTURN_DATABASE_URL=postgres://keyturn@db/keyturn keyturn worker --json
 * ```
 */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../app.js';

export function registerWorker(program: Command, app: CliApp): void {
  common(program.command('worker'))
    .description('Rotate due secrets without serving the API (the scheduler of keyturn server alone)')
    .addHelpText(
      'after',
      `
The first line of stdout says it started (with --json, one JSON object); then it logs on stderr
(KEYTURN_LOG_LEVEL=info shows each rotation). Limits and interval: KEYTURN_SCHEDULER_* (see
keyturn --help). Servers and workers on one PostgreSQL (KEYTURN_DATABASE_URL) share the due
secrets, each rotated once; a run whose worker dies is resumed by another (docs/schedule.md).
SIGTERM or SIGINT: no new rotations, those under way stop at their next step boundary, exit 0.

Examples:
  keyturn worker
  KEYTURN_LOG_LEVEL=info keyturn worker --json`,
    )
    .action(async (opts: CommonOptions) => {
      const [settings, { openKeyturn }, { Scheduler, SCHEDULER_CONTEXT }] = await Promise.all([app.settings(opts), app.runtime(), import('../../schedule/scheduler.js')]);
      const kt = await openKeyturn(settings, { audit: SCHEDULER_CONTEXT });
      try {
        let engine: ReturnType<typeof kt.engineFor> | undefined;
        const scheduler: InstanceType<typeof Scheduler> = new Scheduler(
          { state: kt.state, clock: kt.clock, log: kt.log, engine: () => (engine ??= kt.engineFor(SCHEDULER_CONTEXT, { stopped: () => scheduler.stopping })) },
          settings.scheduler,
        );
        // The scheduler's timer does not hold the process open; this does, until a signal.
        const alive = setInterval(() => undefined, 1 << 30);
        const signalled = new Promise<string>((resolve) => {
          const stop = (signal: string) => {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
            resolve(signal);
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        scheduler.start();
        // Replicas behind are copied again until they catch up, as keyturn server does (src/replicas/sync.ts).
        const { startJobs } = await import('../../server/housekeeping.js');
        const { replicaJob, REPLICAS_CONTEXT } = await import('../../replicas/sync.js');
        const stopJobs = startJobs([replicaJob(() => kt.replicasFor(REPLICAS_CONTEXT), settings.scheduler.intervalMs)], kt.log);
        const s = settings.scheduler;
        const started = {
          worker: 'started',
          holder: scheduler.holder,
          state: kt.state.location,
          dialect: kt.state.dialect,
          intervalMs: s.intervalMs,
          concurrency: s.concurrency,
          targetConcurrency: s.targetConcurrency,
        };
        app.io.stdout.write(
          `${opts.json ? JSON.stringify(started) : `keyturn worker started (${kt.state.dialect} ${kt.state.location}; every ${s.intervalMs / 1000} s, ${s.concurrency} at once, ${s.targetConcurrency} per target)`}\n`,
        );
        const signal = await signalled;
        kt.log.info({ signal, running: scheduler.running }, 'worker stopping: rotations under way stop at their next step boundary');
        stopJobs();
        await scheduler.stop();
        clearInterval(alive);
      } finally {
        await kt.close();
      }
    });
}
