/**
 * `keyturn rotate PATH` and `keyturn rotate --all`: rotate one secret, or every managed secret
 * (filtered by prefix and type) with bounded concurrency, a progress bar on a terminal and
 * NDJSON with --json.
 */
import type { Command } from 'commander';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import { normalizePrefix } from '../../core/paths.js';
import type { RunsClient } from '../../client/client.js';
import type { Run } from '../../engine/runs-repo.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { confirm, onTerminal } from '../confirm.js';
import { emit, type CliIo } from '../io.js';
import { intOption } from '../options.js';
import { runJson, runLine } from './run-view.js';

interface RotateOptions extends CommonOptions {
  all?: boolean;
  due?: boolean;
  prefix?: string;
  type?: string;
  concurrency: number;
  yes?: boolean;
  dryRun?: boolean;
  wait?: boolean;
}

interface Outcome {
  path: string;
  status: Run['status'] | 'error';
  runId: string | null;
  error: { code: string; message: string } | null;
  line: string;
  json: Record<string, unknown> | null;
}

/** Runs `fn` over `items` with at most `limit` in flight, in order of start. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function progress(io: CliIo, done: number, total: number, failed: number): void {
  if (!io.stderr.isTTY) return;
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  io.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} rotated${failed ? `, ${failed} failed` : ''}${done === total ? '\n' : ''}`);
}

/** The first few paths, for a question. */
function listed(paths: readonly string[], max = 5): string {
  return paths.length <= max ? paths.join(', ') : `${paths.slice(0, max).join(', ')} and ${paths.length - max} more`;
}

/** Done, or (for --due) skipped because another worker holds the run right now. */
function succeeded(o: Outcome): boolean {
  return o.status === 'done' || o.error?.code === 'KT_RUN_LOCKED';
}

/** What `rotate --all --dry-run` says of one secret: would rotate, or why it would fail before changing anything. */
async function planOne(runs: RunsClient, path: string): Promise<Outcome> {
  try {
    const plan = await runs.plan(path);
    const error = plan.problems.length > 0 ? { code: 'KT_TEMPLATE_PLACEHOLDER_UNKNOWN', message: plan.problems.join('; ') } : null;
    const warn = plan.currentLogsIn === false ? ' (the current credential does NOT log in)' : '';
    const line = error ? `${path}: would fail before changing anything: ${error.message}` : `${path}: would rotate${warn}`;
    return { path, status: error ? 'failed' : 'running', runId: null, error, line, json: { dryRun: true, ...plan } };
  } catch (e) {
    const error = { code: isKeyturnError(e) ? e.code : 'KT_INTERNAL', message: isKeyturnError(e) ? e.message : 'unexpected error' };
    return { path, status: 'error', runId: null, error, line: `${path}: ${error.code} ${error.message}`, json: null };
  }
}

async function rotateOne(runs: RunsClient, path: string, wait: boolean): Promise<Outcome> {
  try {
    const { run, consumers } = await runs.rotate(path, { wait });
    return {
      path,
      status: run.status,
      runId: run.id,
      error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null,
      line: runLine(run, consumers),
      json: runJson(run, consumers),
    };
  } catch (e) {
    if (!isKeyturnError(e)) throw e;
    return { path, status: 'error', runId: null, error: { code: e.code, message: e.message }, line: `${path}: ${e.code}: ${e.message}`, json: null };
  }
}

export function registerRotate(program: Command, app: CliApp): void {
  common(program.command('rotate').argument('[path]', 'the secret to rotate'))
    .description('Rotate a secret now (or resume its unfinished run); --all rotates every managed secret')
    .option('--all', 'rotate every secret with an applied policy (asks first on a terminal; --yes otherwise)')
    .option('--due', 'continue every unfinished run whose retry time has come (for cron and CI)')
    .option('--prefix <prefix>', 'with --all: only secrets at or below this path')
    .option('--type <type>', 'with --all: only secrets of this type (database-credential, app-secret)')
    .option('--concurrency <n>', 'with --all: rotations at once, 1 to 64', intOption('--concurrency', { min: 1, max: 64 }), 4)
    .option('--yes', 'confirm --all without a question (needed when not on a terminal)')
    .option('--dry-run', 'show what would happen and check that the current credential logs in; change nothing')
    .option('--wait', 'keep retrying with backoff until the run is done or failed')
    .addHelpText(
      'after',
      `
Without --wait, a failed attempt schedules a retry (exponential backoff with full jitter) and exits 1;
resume it with \`keyturn runs resume ID\`. The secret keeps working on its current value throughout.

--all lists the matching secrets and, on a terminal, asks before rotating them; not on a terminal
(scripts, CI) it needs --yes. --all --dry-run lists them and asks nothing.

Examples:
  keyturn rotate prod/db/app
  keyturn rotate prod/db/app --dry-run
  keyturn rotate --all --prefix prod --dry-run
  keyturn rotate --all --prefix prod --concurrency 8 --yes --json
  keyturn rotate --due                # from cron: retries that are due; runs another worker holds are skipped`,
    )
    .action(async (path: string | undefined, opts: RotateOptions) => {
      if ([!!path, !!opts.all, !!opts.due].filter(Boolean).length !== 1) throw new KeyturnError('KT_USAGE', 'give exactly one of: the PATH of a secret, --all, --due');
      if (!opts.all && (opts.prefix !== undefined || opts.type !== undefined)) throw new KeyturnError('KT_USAGE', '--prefix and --type go with --all');
      if (opts.due && opts.dryRun) throw new KeyturnError('KT_USAGE', '--due continues runs already started; list them with `keyturn runs` instead of --dry-run');

      if (path) {
        if (opts.dryRun) {
          const plan = await app.withClient(opts, (client) => client.runs.plan(path));
          emit(app.io, !!opts.json, { dryRun: true, ...plan }, () =>
            [
              `${plan.path}: would rotate with ${plan.strategy}${plan.target ? ` on target ${plan.target}` : ''}${plan.nextUsername ? `, setting user ${plan.nextUsername}` : ''}`,
              plan.currentLogsIn === null ? null : `current credential logs in: ${plan.currentLogsIn ? 'yes' : 'NO'}`,
              `consumers to update: ${plan.consumers}`,
              plan.activeRun ? `unfinished run ${plan.activeRun} would be resumed` : null,
              ...plan.problems.map((p) => `problem: ${p}`),
              'dry run: nothing changed',
            ]
              .filter((l) => l !== null)
              .join('\n'),
          );
          if (plan.problems.length > 0) throw new KeyturnError('KT_TEMPLATE_PLACEHOLDER_UNKNOWN', `the rotation would fail before changing anything: ${plan.problems.join('; ')}`);
          return;
        }
        const outcome = await app.withClient(opts, (client) => rotateOne(client.runs, path, !!opts.wait));
        if (outcome.status === 'error') throw new KeyturnError(outcome.error!.code as never, outcome.error!.message);
        emit(app.io, !!opts.json, outcome.json, () => outcome.line);
        if (outcome.status !== 'done') throw new KeyturnError('KT_ROTATION_FAILED', outcome.line);
        return;
      }

      const prefix = normalizePrefix(opts.prefix);
      const which = (n: number) => `${opts.type ? `${opts.type} ` : ''}secret${n === 1 ? '' : 's'}${prefix ? ` at or below ${prefix}` : ''}`;
      const asks = !!opts.all && !opts.dryRun;
      // Not on a terminal, --all without --yes is refused before anything is opened, whatever matches.
      if (asks && !onTerminal(app.io)) await confirm(app, { question: `Rotate every managed ${which(1)} (or list them with --dry-run)?`, yes: opts.yes });
      // Locally or through a server (only the secrets the token may rotate, then).
      const results = await app.withClient(opts, async (client) => {
        const runs = client.runs;
        const paths = await runs.rotatable(opts.due ? { due: true } : { prefix, ...(opts.type === undefined ? {} : { type: opts.type }) });
        if (opts.dryRun) {
          // Each secret is planned as `rotate PATH --dry-run` would: templates checked, the current credential tried.
          const planned: Outcome[] = [];
          await pool(paths, opts.concurrency, async (p) => {
            const o = await planOne(runs, p);
            planned.push(o);
            if (opts.json) app.io.stdout.write(`${JSON.stringify({ path: o.path, wouldRotate: o.error === null, error: o.error, ...(o.json ?? {}) })}\n`);
          });
          return planned.sort((a, b) => a.path.localeCompare(b.path));
        }
        if (asks && paths.length > 0) await confirm(app, { question: `Rotate ${paths.length} ${which(paths.length)} (${listed(paths)})?`, yes: opts.yes });
        const out: Outcome[] = [];
        let failed = 0;
        progress(app.io, 0, paths.length, 0);
        await pool(paths, opts.concurrency, async (p) => {
          const o = await rotateOne(runs, p, !!opts.wait);
          out.push(o);
          if (!succeeded(o)) failed += 1;
          if (opts.json) app.io.stdout.write(`${JSON.stringify({ path: o.path, status: o.status, runId: o.runId, error: o.error })}\n`);
          progress(app.io, out.length, paths.length, failed);
        });
        return out;
      });
      const failed = results.filter((r) => !succeeded(r));
      const skipped = results.filter((r) => r.error?.code === 'KT_RUN_LOCKED').length;
      const summary = { total: results.length, done: results.length - failed.length - skipped, skipped, failed: failed.length, dryRun: !!opts.dryRun };
      if (opts.json) app.io.stdout.write(`${JSON.stringify({ summary })}\n`);
      else {
        for (const r of opts.dryRun ? results : failed) app.io.stdout.write(`${r.line}\n`);
        app.io.stdout.write(
          summary.total === 0
            ? `${opts.due ? 'No runs are due' : `No managed ${which(2)} to rotate`}${opts.dryRun ? ' (dry run: nothing changed)' : ''}\n`
            : opts.dryRun
              ? `${summary.total} secrets would be rotated (dry run: nothing changed)\n`
              : `${summary.done} of ${summary.total} rotated${summary.skipped ? `, ${summary.skipped} held by another worker` : ''}${summary.failed ? `, ${summary.failed} failed` : ''}\n`,
        );
      }
      if (!opts.dryRun && failed.length > 0) throw new KeyturnError('KT_ROTATION_FAILED', `${failed.length} of ${results.length} rotations did not finish`);
      const doomed = results.filter((r) => r.error !== null);
      if (opts.dryRun && doomed.length > 0)
        throw new KeyturnError(doomed[0]!.error!.code as never, `${doomed.length} of ${results.length} rotations would fail before changing anything: ${listed(doomed.map((r) => r.path))}`);
    });
}
