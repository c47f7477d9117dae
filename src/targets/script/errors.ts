/**
 * Maps the end of a script target's command to a target error: its exit code through the
 * configured meanings (see `DEFAULT_EXIT_CODES`), a timeout or cancellation to
 * KT_TARGET_UNAVAILABLE, a command that cannot start to KT_TARGET_CONFIG_INVALID, anything else
 * to KT_TARGET_FAILED. The message carries the exit code and the tail of stderr with every
 * secret spelling replaced (`stderrExcerpt`); never the command's arguments.
 *
 * @example
 * ```ts
 * const e = scriptError(result, { kind: 'script', command: '/usr/local/bin/rotate' }, { username: 'app', action: 'log in' }, 'app', exitCodesOf(undefined), 30000, forms);
 * e?.code; // 'KT_TARGET_AUTH_FAILED' when the command exited 3
 * ```
 */
import { stderrExcerpt } from '../../consumers/exec/scrub.js';
import type { RunResult } from '../../consumers/exec/run.js';
import { KeyturnError } from '../../core/errors.js';
import { targetError, type Attempt, type CommandEndpoint, type TargetErrorCode } from '../target-error.js';
import type { ExitMeaning } from './config.js';

const CODE_OF: Readonly<Record<ExitMeaning, TargetErrorCode>> = {
  authFailed: 'KT_TARGET_AUTH_FAILED',
  userMissing: 'KT_TARGET_USER_MISSING',
  permissionDenied: 'KT_TARGET_PERMISSION_DENIED',
  unavailable: 'KT_TARGET_UNAVAILABLE',
  passwordRejected: 'KT_TARGET_PASSWORD_REJECTED',
  adminRequired: 'KT_TARGET_ADMIN_REQUIRED',
};

/** Start errors that mean the configured command is wrong, not that the system failed. */
const CONFIG_START_ERRORS = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR', 'ENOEXEC']);

/**
 * The error for a finished command, or null when it succeeded. `loginUser` is the user the command
 * logged in as (named by auth and permission failures); `attempt.username` the user acted on.
 */
export function scriptError(
  r: RunResult,
  at: CommandEndpoint,
  attempt: Attempt,
  loginUser: string,
  exitCodes: Readonly<Record<ExitMeaning, number>>,
  timeoutMs: number,
  forms: readonly string[],
): KeyturnError | null {
  let e: KeyturnError;
  if (r.startError !== null) {
    const code = CONFIG_START_ERRORS.has(r.startError) ? 'KT_TARGET_CONFIG_INVALID' : 'KT_TARGET_FAILED';
    e = targetError(code, at, attempt, r.startError, 'the command could not be started');
  } else if (r.timedOut) {
    e = targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, `timed out after ${timeoutMs} ms; its process group was killed`);
  } else if (r.aborted) {
    e = targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, 'aborted (time limit reached or cancelled); the command, when started, was killed with its process group');
  } else if (r.signal !== null) {
    e = targetError('KT_TARGET_FAILED', at, attempt, r.signal, `the command was killed by ${r.signal}`);
  } else if (r.code === 0) {
    return null;
  } else {
    const exit = `exit ${String(r.code)}`;
    const meaning = (Object.keys(exitCodes) as ExitMeaning[]).find((m) => exitCodes[m] === r.code);
    const code = meaning ? CODE_OF[meaning] : 'KT_TARGET_FAILED';
    if (code === 'KT_TARGET_ADMIN_REQUIRED') {
      e = new KeyturnError(code, `${at.kind} target command ${at.command} needs an admin credential to ${attempt.action} (${exit})`, { details: { target: at.kind, command: at.command } });
    } else if (code === 'KT_TARGET_AUTH_FAILED' || code === 'KT_TARGET_PERMISSION_DENIED') {
      e = targetError(code, at, { ...attempt, username: loginUser }, exit);
    } else if (code === 'KT_TARGET_UNAVAILABLE') {
      e = targetError(code, at, attempt, exit, 'the command could not reach the system');
    } else {
      e = targetError(code, at, attempt, exit, code === 'KT_TARGET_FAILED' ? 'the command failed' : undefined);
    }
  }
  const stderr = stderrExcerpt(r.stderrTail, r.stderrTruncated, forms);
  const details = { ...e.details, exitCode: r.code, signal: r.signal, timedOut: r.timedOut };
  return new KeyturnError(e.code, stderr === '' ? e.message : `${e.message}; stderr: ${stderr}`, { details });
}
