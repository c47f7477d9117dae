/** `keyturn runs [PATH]`, `runs show ID`, `runs resume ID`, `runs cancel ID` (asks first; `--yes` in scripts). */
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { runAgentsJson, stepJson } from '../../client/wire.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { confirm } from '../confirm.js';
import { emit, isoTime, table } from '../io.js';
import { intOption } from '../options.js';
import { isWaiting, runDetail, runJson, runLine } from './run-view.js';

export function registerRuns(program: Command, app: CliApp): void {
  const runs = common(program.command('runs').argument('[path]', 'only the runs of this secret'))
    .description('List rotation runs, newest first; subcommands show, resume and cancel one')
    .option('--limit <n>', 'how many runs, 1 to 10000', intOption('--limit', { min: 1, max: 10_000 }), 50)
    .addHelpText(
      'after',
      `
Examples:
  keyturn runs
  keyturn runs prod/db/app --limit 5
  keyturn runs --json | jq -r '.[] | select(.status == "retrying") | .id'`,
    )
    .action(async (path: string | undefined, opts: CommonOptions & { limit: number }) => {
      const list = await app.withClient(opts, (client) => client.runs.list({ ...(path ? { path } : {}), limit: opts.limit }));
      emit(
        app.io,
        !!opts.json,
        list.map((r) => runJson(r)),
        () =>
          list.length === 0
            ? 'No runs.'
            : table(
                ['RUN', 'SECRET', 'STATUS', 'STEP', 'ATTEMPT', 'ERROR', 'CREATED'],
                list.map((r) => [r.id, r.path, r.status, r.step, r.attempt, r.errorCode && r.failedStep ? `${r.errorCode} at ${r.failedStep}` : r.errorCode, isoTime(r.createdAt)]),
              ),
      );
    });

  common(runs.command('show <id>'))
    .description('Show a run: its steps with timings, each consumer with its status, and the agents with and without its new version')
    .addHelpText(
      'after',
      `
Once the run's new version is current, the agents subscribed to its secret (those that reported it
within KEYTURN_AGENT_STALE_AFTER) are listed: those that hold the new version, and those that do not
(missing), each with its last delivery report. --json: "agents" (null before the version is current).

Examples:
  keyturn runs show run_0b7c4e2a-5f1d-4c3e-9a8b-6d2f1e0c9b7a
  keyturn runs show "$(keyturn runs prod/db/app --limit 1 --json | jq -r '.[0].id')" --json`,
    )
    .action(async (id: string, opts: CommonOptions) => {
      const { run, steps, consumers, agents } = await app.withClient(opts, (client) => client.runs.show(id));
      emit(app.io, !!opts.json, { ...runJson(run, consumers), steps: steps.map(stepJson), agents: runAgentsJson(agents) }, () => runDetail(run, steps, consumers, agents));
    });

  common(runs.command('resume <id>'))
    .description('Continue a run now: an unfinished or failed one from its step; a done one re-delivers to failed consumers')
    .option('--wait', 'keep retrying with backoff until the run is done or failed')
    .addHelpText(
      'after',
      `
Exits 1 unless the run ends done; without --wait, a failed attempt schedules the next retry.
A run whose starting version is no longer current (a newer run or secret put replaced it) is
refused with KT_RUN_SUPERSEDED before it touches anything, and cancelled; a done run whose value
was replaced is not delivered again. Start a new rotation with keyturn rotate PATH.

Examples:
  keyturn runs resume run_0b7c4e2a-5f1d-4c3e-9a8b-6d2f1e0c9b7a
  keyturn runs resume run_0b7c4e2a-5f1d-4c3e-9a8b-6d2f1e0c9b7a --wait --json`,
    )
    .action(async (id: string, opts: CommonOptions & { wait?: boolean }) => {
      const { run, consumers } = await app.withClient(opts, (client) => client.runs.resume(id, { wait: !!opts.wait }));
      emit(app.io, !!opts.json, runJson(run, consumers), () => runLine(run, consumers));
      if (run.status !== 'done' && !isWaiting(run)) throw new KeyturnError('KT_ROTATION_FAILED', runLine(run, consumers));
    });

  common(runs.command('cancel <id>'))
    .description('Cancel an unfinished run; its pending version is cleared only when the current credential logs in')
    .option('--yes', 'confirm without a question (needed when not on a terminal)')
    .addHelpText(
      'after',
      `
On a terminal the command asks first; otherwise (scripts, CI) it needs --yes. A run that has
already finished is refused (KT_RUN_FINISHED) without a question.

Examples:
  keyturn runs cancel RUN_ID          # the id from keyturn runs
  keyturn runs cancel RUN_ID --yes --json`,
    )
    .action(async (id: string, opts: CommonOptions & { yes?: boolean }) => {
      const run = await app.withClient(opts, async (client) => {
        const current = await client.runs.get(id);
        // A finished run cannot become unfinished: cancel refuses it (KT_RUN_FINISHED), so no question.
        if (current.status !== 'done' && current.status !== 'cancelled') {
          await confirm(app, {
            question: `Cancel run ${current.id} of ${current.path} (${current.status} at step ${current.step}, attempt ${current.attempt}), clearing its pending version?`,
            yes: opts.yes,
          });
        }
        return client.runs.cancel(id);
      });
      emit(app.io, !!opts.json, runJson(run), () => `${run.path}: run ${run.id} cancelled; the pending version is cleared`);
    });
}
