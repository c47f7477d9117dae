/**
 * Workflow hooks around a rotation (a secret's `hooks:` in keyturn.yaml): commands run without a
 * shell, in order, each with its own timeout, as journaled steps of the run:
 *
 * - `before` (step `hook-before`): after the pending value is stored, before the target is
 *   touched (drain traffic, stop a job). A failing one fails the step: the run rolls back like any
 *   failed step, and `always` runs.
 * - `after` (step `hook-after`): once the new value is current and delivered (restart, verify).
 *   A failing one ends the step failed and never the rotation, like a consumer.
 * - `always` (step `hook-always`): like `finally`: at the end of every attempt that may have run
 *   `before` (done, failed, retrying, cancelled or superseded), so an `undrain` always follows a
 *   `drain`, also after a kill -9 (the resumed run reaches it). All of them run, whatever fails.
 *
 * Hooks never get a secret value: their environment holds only their configured variables, a
 * default PATH, and `KEYTURN_PATH`, `KEYTURN_RUN_ID`, `KEYTURN_HOOK` (before, after, always) and,
 * for `always`, `KEYTURN_OUTCOME` (done, failed, retrying, cancelled). Values reach programs through
 * consumers. A hook runs again when its step is resumed after a crash: make it idempotent.
 *
 * @example
 * ```ts
 * const r = await runHooks('before', policy.hooks.before, { path, runId }, signal);
 * if (!r.ok) throw r.error;
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { z } from 'zod';
import { execConfigSchema } from '../consumers/exec/config.js';
import { DEFAULT_PATH } from '../consumers/exec/env.js';
import { runCommand } from '../consumers/exec/run.js';
import { stderrExcerpt } from '../consumers/exec/scrub.js';

/** One hook: a command as the exec consumer takes it (argv, env, timeoutMs, cwd), without `type`. */
export const hookSchema = execConfigSchema.omit({ type: true });

export const hooksSchema = z
  .strictObject({
    before: z.array(hookSchema).default([]).describe('before the target is touched (drain): a failure fails the run, which rolls back'),
    after: z.array(hookSchema).default([]).describe('once the new value is current and delivered (restart, verify): a failure is reported, the rotation stands'),
    always: z.array(hookSchema).default([]).describe('at the end of every attempt that may have run before (undrain), whatever happened'),
  })
  .describe('commands around the rotation, run without a shell and journaled as steps (docs/consumers.md#hooks)');

export type Hook = z.output<typeof hookSchema>;
export type Hooks = z.output<typeof hooksSchema>;
export type HookKind = 'before' | 'after' | 'always';

export interface HookRunContext {
  readonly path: string;
  readonly runId: string;
  /** For `always`: how the attempt ended. */
  readonly outcome?: 'done' | 'failed' | 'retrying' | 'cancelled';
}

/** How a list of hooks went: every one ran and succeeded, or the failures (a KT_HOOK_FAILED naming the first). */
export type HookResult = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly detail: string; readonly error: KeyturnError };

const KEEP_STDERR = 4096;

function describe(kind: HookKind, i: number, hook: Hook): string {
  return `${kind} hook ${i + 1} (${hook.argv[0]})`;
}

/**
 * Runs `hooks` in order. `before` stops at the first failure; `after` and `always` run every
 * one. Never throws: the caller decides what a failure means for its step.
 */
export async function runHooks(kind: HookKind, hooks: readonly Hook[], ctx: HookRunContext, signal: AbortSignal): Promise<HookResult> {
  const failures: string[] = [];
  for (const [i, hook] of hooks.entries()) {
    const env: Record<string, string> = {
      PATH: DEFAULT_PATH,
      ...(hook.env ?? {}),
      KEYTURN_PATH: ctx.path,
      KEYTURN_RUN_ID: ctx.runId,
      KEYTURN_HOOK: kind,
      ...(ctx.outcome ? { KEYTURN_OUTCOME: ctx.outcome } : {}),
    };
    const r = await runCommand({ argv: hook.argv, env, cwd: hook.cwd, timeoutMs: hook.timeoutMs, signal, keepStderrBytes: KEEP_STDERR });
    if (r.code === 0) continue;
    const why = r.startError
      ? `could not start (${r.startError})`
      : r.timedOut
        ? `timed out after ${hook.timeoutMs} ms`
        : r.aborted
          ? 'was stopped (the run lost its lease or is stopping)'
          : r.signal
            ? `was killed by ${r.signal}`
            : `exited with ${r.code}`;
    const stderr = stderrExcerpt(r.stderrTail, r.stderrTruncated, []).trim();
    failures.push(`${describe(kind, i, hook)} ${why}${stderr ? `: ${stderr}` : ''}`);
    if (kind === 'before') break;
  }
  const ran = `${hooks.length} ${kind} hook${hooks.length === 1 ? '' : 's'}`;
  if (failures.length === 0) return { ok: true, detail: `${ran} succeeded` };
  const detail = `${ran}: ${failures.join('; ')}`;
  return { ok: false, detail, error: new KeyturnError('KT_HOOK_FAILED', `${ctx.path}: ${detail}`, { details: { path: ctx.path, hook: kind } }) };
}
