/**
 * Maps a failed run of an MIT Kerberos tool (kinit, kadmin, kpasswd, ...) to a target error code
 * by fixed phrases of MIT's messages (com_err texts, printed in the C locale). The tool's output
 * itself is never passed on: only the tool's name and, for an unknown failure, its exit code ride
 * along (`details.driverCode`).
 *
 * @example
 * ```ts
 * kerberosError({ tool: 'kinit', exitCode: 1, stderr: 'kinit: Password incorrect while getting initial credentials' }, at, attempt, 'app'); // KT_TARGET_AUTH_FAILED
 * ```
 */
import type { KeyturnError } from '../../core/errors.js';
import { targetError, type Attempt, type Endpoint, type TargetErrorCode } from '../target-error.js';

/** How a tool run failed: its name, exit code (null: killed or not started), what it printed on stderr. */
export interface ToolFailure {
  readonly tool: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  /** The spawn error's code (ENOENT: the tool is not installed). */
  readonly spawnError?: string;
}

interface Rule {
  readonly phrase: RegExp;
  readonly code: TargetErrorCode;
  readonly reason?: string;
}

/** In order: the first phrase found wins. */
const RULES: readonly Rule[] = [
  // The credential (a principal's, or the admin's) was refused; an unknown client is a refused login too.
  { phrase: /Password incorrect|Incorrect password|Preauthentication failed|Decrypt integrity check failed|not found in Kerberos database/i, code: 'KT_TARGET_AUTH_FAILED' },
  { phrase: /Clients credentials have been revoked|Client's entry in database has expired|Password has expired/i, code: 'KT_TARGET_AUTH_FAILED' },
  { phrase: /Operation requires .* privilege|Insufficient access|Operation not permitted/i, code: 'KT_TARGET_PERMISSION_DENIED' },
  { phrase: /Principal does not exist/i, code: 'KT_TARGET_USER_MISSING' },
  {
    phrase:
      /Password is too short|Password does not contain enough character classes|password dictionary|Cannot reuse password|Password change rejected|Password is too soon to change|password quality/i,
    code: 'KT_TARGET_PASSWORD_REJECTED',
    reason: 'the password policy refused it',
  },
  {
    phrase:
      /Cannot contact any KDC|Communication failure with server|Cannot resolve|Connection refused|timed out|Cannot find KDC|unable to reach|Network is unreachable|No route to host|Cannot connect/i,
    code: 'KT_TARGET_UNAVAILABLE',
    reason: 'the KDC or kadmind did not answer',
  },
  {
    phrase: /Cannot open DB2 database|Cannot find\/read stored master key|No such file or directory while initializing/i,
    code: 'KT_TARGET_CONFIG_INVALID',
    reason: 'kadmin.local cannot open the KDC database (kdcProfile?)',
  },
];

/** The KeyturnError for a failed tool run; `login` (who authenticated) is named on auth and permission failures. */
export function kerberosError(f: ToolFailure, at: Endpoint, attempt: Attempt, login: string): KeyturnError {
  if (f.spawnError !== undefined) {
    const reason = f.spawnError === 'ENOENT' ? `${f.tool} is not installed (MIT Kerberos client tools: krb5-user)` : `${f.tool} could not be started`;
    return targetError('KT_TARGET_CONFIG_INVALID', at, attempt, f.spawnError, reason);
  }
  const rule = RULES.find((r) => r.phrase.test(f.stderr));
  if (!rule) return targetError('KT_TARGET_FAILED', at, attempt, f.exitCode === null ? f.tool : `${f.tool} exit ${f.exitCode}`);
  if (rule.code === 'KT_TARGET_AUTH_FAILED' || rule.code === 'KT_TARGET_PERMISSION_DENIED') return targetError(rule.code, at, { ...attempt, username: login }, f.tool);
  return targetError(rule.code, at, attempt, f.tool, rule.reason);
}
