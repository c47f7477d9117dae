/**
 * `keyturn rotate PATH` and `keyturn rotate --all`: rotate one secret, or every managed secret
 * (filtered by prefix and type) with bounded concurrency, a progress bar on a terminal and
 * NDJSON with --json. `keyturn rotate --due`: one scheduler pass (what is due now, for cron and
 * CI). `keyturn rotate PATH --queue [--emergency]`: ask the scheduler to rotate it first.
 */
import type { Command } from 'commander';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import { normalizePrefix } from '../../core/paths.js';
import type { CleanupView, DueRotation, RunsClient } from '../../client/client.js';
import type { Run } from '../../engine/runs-repo.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { confirm, onTerminal } from '../confirm.js';
import { emit, type CliIo } from '../io.js';
import { intOption } from '../options.js';
import { isWaiting, runJson, runLine } from './run-view.js';

interface RotateOptions extends CommonOptions {
  all?: boolean;
  due?: boolean;
  prefix?: string;
  type?: string;
  concurrency: number;
  yes?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  queue?: boolean;
  emergency?: boolean;
}

interface Outcome {
  path: string;
  /** `cleaned`: no rotation was due, only cleanups of earlier ones (rotate --due). */
  status: Run['status'] | 'error' | 'cleaned';
  runId: string | null;
  error: { code: string; message: string } | null;
  line: string;
  json: Record<string, unknown> | null;
  /** The run waits at a step until a time (not a failure: isWaiting). */
  waiting?: boolean;
  /** rotate --due: a cleanup of an earlier rotation failed (tried again later; the pass exits 1). */
  cleanupFailed?: boolean;
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

/** Codes --due counts as skipped: another worker holds the secret, or it is not due any more (another worker rotated it). */
const SKIPPED = new Set(['KT_RUN_LOCKED', 'KT_NOT_DUE']);

/** Done, or (for --due) skipped: another worker holds the run right now, or has just rotated it; a cleanup that failed is a failure. */
function succeeded(o: Outcome): boolean {
  return ((o.status === 'done' || o.status === 'cleaned') && !o.cleanupFailed) || o.waiting === true || SKIPPED.has(o.error?.code ?? '');
}

/** One cleanup, as `rotate --due` prints it. */
function cleanupLine(k: CleanupView): string {
  const state = k.errorCode ? `failed: ${k.errorCode}: ${k.detail}` : `revoke ${k.revoke}, purge ${k.purge}: ${k.detail}`;
  return `${k.path}: cleanup of version ${k.versionId} (run ${k.runId}): ${state}${k.dueAt ? ` (next look ${k.dueAt})` : ''}`;
}

/** What `rotate --due` prints of one secret it took. */
function dueOutcome(r: DueRotation): Outcome {
  const failedCleanup = r.cleanups.find((k) => k.errorCode !== null);
  const cleanupError = failedCleanup ? { code: failedCleanup.errorCode!, message: failedCleanup.detail } : null;
  const cleanupLines = r.cleanups.map(cleanupLine);
  if (r.outcome) {
    const { run, consumers } = r.outcome;
    return {
      path: r.path,
      status: run.status,
      runId: run.id,
      error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : cleanupError,
      line: [...cleanupLines, runLine(run, consumers)].join('\n'),
      json: runJson(run, consumers),
      cleanupFailed: cleanupError !== null,
    };
  }
  if (r.error === null && r.cleanups.length > 0)
    return { path: r.path, status: 'cleaned', runId: null, error: cleanupError, line: cleanupLines.join('\n'), json: null, cleanupFailed: cleanupError !== null };
  const error = r.error ?? { code: 'KT_INTERNAL', message: 'unexpected error' };
  return { path: r.path, status: 'error', runId: null, error, line: `${r.path}: ${error.code}: ${error.message}`, json: null };
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
      ...(isWaiting(run) ? { waiting: true } : {}),
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
    .option('--due', 'one scheduler pass: rotate what is due now (schedules, queued requests, retries whose time has come), for cron and CI')
    .option('--queue', 'with PATH: do not rotate here; ask the scheduler (keyturn server, worker, rotate --due) to rotate it ahead of scheduled ones')
    .option('--emergency', 'with PATH: like --queue, ahead of every other request (implies --queue)')
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

--due takes what is due when it starts, at most --concurrency at once (and
KEYTURN_SCHEDULER_TARGET_CONCURRENCY per target), each only if still due once its lease is taken,
so several instances (a server's scheduler, another cron job) never rotate a secret twice; a
secret another worker holds or has just rotated is skipped. See docs/schedule.md.

--all lists the matching secrets and, on a terminal, asks before rotating them; not on a terminal
(scripts, CI) it needs --yes. --all --dry-run lists them and asks nothing.

Examples:
  keyturn rotate prod/db/app
  keyturn rotate prod/db/app --dry-run
  keyturn rotate --all --prefix prod --dry-run
  keyturn rotate --all --prefix prod --concurrency 8 --yes --json
  keyturn rotate prod/db/app --queue --emergency
  keyturn rotate --due                # from cron or CI: one scheduler pass`,
    )
    .action(async (path: string | undefined, opts: RotateOptions) => {
      if ([!!path, !!opts.all, !!opts.due].filter(Boolean).length !== 1) throw new KeyturnError('KT_USAGE', 'give exactly one of: the PATH of a secret, --all, --due');
      if (!opts.all && (opts.prefix !== undefined || opts.type !== undefined)) throw new KeyturnError('KT_USAGE', '--prefix and --type go with --all');
      if (opts.due && opts.dryRun) throw new KeyturnError('KT_USAGE', '--due rotates what is due now; `keyturn schedule show PATH` says when a secret is due, without --dry-run');
      const queue = opts.emergency ? 'emergency' : opts.queue ? 'manual' : null;
      if (queue && (!path || opts.dryRun || opts.wait)) throw new KeyturnError('KT_USAGE', '--queue and --emergency go with a PATH, without --dry-run and --wait');

      if (path && queue) {
        const q = await app.withClient(opts, (client) => client.runs.queue(path, queue));
        emit(
          app.io,
          !!opts.json,
          { queued: true, path: q.path, priority: q.priority, dueAt: q.dueAt === null ? null : new Date(q.dueAt).toISOString() },
          () => `${q.path}: queued for the scheduler (${q.priority})`,
        );
        return;
      }

      if (opts.due) {
        const out: Outcome[] = [];
        await app.withClient(opts, (client) =>
          client.runs.rotateDue({ concurrency: opts.concurrency }, (r) => {
            const o = dueOutcome(r);
            out.push(o);
            if (opts.json) app.io.stdout.write(`${JSON.stringify({ path: o.path, status: o.status, runId: o.runId, error: o.error, ...(r.cleanups.length > 0 ? { cleanups: r.cleanups } : {}) })}\n`);
          }),
        );
        report(app.io, !!opts.json, out, false, 'Nothing is due');
        return;
      }

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
        if (outcome.status !== 'done' && !outcome.waiting) throw new KeyturnError('KT_ROTATION_FAILED', outcome.line);
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
        const paths = await runs.rotatable({ prefix, ...(opts.type === undefined ? {} : { type: opts.type }) });
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
      report(app.io, !!opts.json, results, !!opts.dryRun, `No managed ${which(2)} to rotate`);
      const doomed = results.filter((r) => r.error !== null);
      if (opts.dryRun && doomed.length > 0)
        throw new KeyturnError(doomed[0]!.error!.code as never, `${doomed.length} of ${results.length} rotations would fail before changing anything: ${listed(doomed.map((r) => r.path))}`);
    });
}

/** The summary of --all and --due (JSON or words), the failures named; KT_ROTATION_FAILED when any did not finish. */
function report(io: CliIo, json: boolean, results: readonly Outcome[], dryRun: boolean, none: string): void {
  const failed = results.filter((r) => !succeeded(r));
  const skipped = results.filter((r) => SKIPPED.has(r.error?.code ?? '')).length;
  const cleaned = results.filter((r) => r.status === 'cleaned' && succeeded(r)).length;
  const summary = { total: results.length, done: results.length - failed.length - skipped - cleaned, skipped, failed: failed.length, ...(cleaned > 0 ? { cleaned } : {}), dryRun };
  if (json) io.stdout.write(`${JSON.stringify({ summary })}\n`);
  else {
    // The failures, and (rotate --due) what was only cleaned up: a pass that did nothing else says what it did.
    for (const r of dryRun ? results : results.filter((x) => !succeeded(x) || x.status === 'cleaned')) io.stdout.write(`${r.line}\n`);
    io.stdout.write(
      summary.total === 0
        ? `${none}${dryRun ? ' (dry run: nothing changed)' : ''}\n`
        : dryRun
          ? `${summary.total} secrets would be rotated (dry run: nothing changed)\n`
          : `${summary.done} of ${summary.total} rotated${cleaned ? `, ${cleaned} only cleaned up after an earlier rotation` : ''}${summary.skipped ? `, ${summary.skipped} skipped (another worker holds or has just rotated them)` : ''}${summary.failed ? `, ${summary.failed} failed` : ''}\n`,
    );
  }
  if (!dryRun && failed.length > 0) throw new KeyturnError('KT_ROTATION_FAILED', `${failed.length} of ${results.length} rotations did not finish`);
}
