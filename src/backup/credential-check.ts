/**
 * After a restore: which restored credentials their targets no longer accept. A backup taken
 * before a rotation holds, as current, the credential the rotation replaced; the target now
 * refuses it. {@link checkRestoredCredentials} logs in (the target's `test`, the login probe the
 * engine's verify step uses) with the current credential of every secret whose applied policy
 * has a target, and sorts each into `ok`, `stale` (the target refused it:
 * KT_BACKUP_CREDENTIAL_STALE) or `unknown` (the target could not tell: unreachable, timed out, or
 * the secret has nothing to log in with, with that code). {@link rotateStale} re-runs the rotation
 * of each stale secret on the restored home: with an admin credential (single-user with `admin`,
 * or alternating users) it sets a new password and recovers.
 *
 * Reading the values for the check is not audited as a read (as `keyturn health` does); the
 * rotations are audited as any rotation. Nothing here undoes or changes the restore.
 *
 * @example
 * ```ts
 * const check = await checkRestoredCredentials(kt);
 * for (const s of check.stale) console.warn(`${s.code} ${s.path}`);
 * const runs = await rotateStale(kt, check.stale);
 * ```
 */
import { isKeyturnError, type ErrorCode } from '../core/errors.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { loginWithCurrent } from '../runtime/current-login.js';
import type { SecretPolicy } from '../engine/applied.js';
import type { Strategy } from '../targets/target.js';

export interface CredentialFinding {
  readonly path: string;
  /** The target's name in keyturn.yaml. */
  readonly target: string;
  /** KT_BACKUP_CREDENTIAL_STALE when the target refused it; else why it could not be checked. */
  readonly code: ErrorCode;
}

export interface CredentialCheck {
  /** Secrets with a target whose login was tried. */
  readonly checked: number;
  /** Paths whose current credential logs in. */
  readonly ok: readonly string[];
  readonly stale: readonly CredentialFinding[];
  readonly unknown: readonly CredentialFinding[];
}

export interface StaleRotation {
  readonly path: string;
  /** The run's status (`done`, `retrying`, `failed`, ...), or `error` when no run could start. */
  readonly status: string;
  readonly runId: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export interface CheckOptions {
  /** The limit on each login, in milliseconds (default: the policy's `rotation.timeoutMs`). */
  readonly timeoutMs?: number;
  /** Logins at once (default 8). */
  readonly concurrency?: number;
}

type Outcome = { kind: 'ok' } | { kind: 'stale' | 'unknown'; code: ErrorCode } | { kind: 'skip' };

/** Logs in to the policy's target with the secret's current credential. */
async function checkOne(kt: Keyturn, policy: SecretPolicy & { target: string }, options: CheckOptions): Promise<Outcome> {
  try {
    const { target } = await kt.applied.target(policy.target);
    const strategy: Strategy = policy.strategy ?? 'single-user';
    // A target with no outside system (generic) has nothing to log in to.
    if (strategy === 'simple' || !target.strategies.some((s) => s !== 'simple')) return { kind: 'skip' };
    if ((await loginWithCurrent(kt, target, { path: policy.path, strategy }, options.timeoutMs ?? policy.rotation.timeoutMs)) === 'no-current') {
      return { kind: 'unknown', code: (await kt.store.describe(policy.path)) ? 'KT_STAGE_NOT_SET' : 'KT_SECRET_NOT_FOUND' };
    }
    return { kind: 'ok' };
  } catch (e) {
    if (isKeyturnError(e, 'KT_TARGET_AUTH_FAILED')) return { kind: 'stale', code: 'KT_BACKUP_CREDENTIAL_STALE' };
    const code: ErrorCode = isKeyturnError(e) ? e.code : 'KT_INTERNAL';
    kt.log.debug({ path: policy.path, code }, 'restored credential not checked');
    return { kind: 'unknown', code };
  }
}

/**
 * Checks every restored secret with a target (see the module header); never throws for what a
 * target answers, only when the applied policies cannot be read.
 */
export async function checkRestoredCredentials(kt: Keyturn, options: CheckOptions = {}): Promise<CredentialCheck> {
  const policies = (await kt.applied.policies()).filter((p): p is SecretPolicy & { target: string } => p.target !== undefined);
  const outcomes: Outcome[] = new Array<Outcome>(policies.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < policies.length) {
      const i = next++;
      outcomes[i] = await checkOne(kt, policies[i]!, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, policies.length) }, worker));
  const ok: string[] = [];
  const stale: CredentialFinding[] = [];
  const unknown: CredentialFinding[] = [];
  policies.forEach((p, i) => {
    const o = outcomes[i]!;
    if (o.kind === 'ok') ok.push(p.path);
    else if (o.kind === 'stale') stale.push({ path: p.path, target: p.target, code: o.code });
    else if (o.kind === 'unknown') unknown.push({ path: p.path, target: p.target, code: o.code });
  });
  return { checked: ok.length + stale.length + unknown.length, ok, stale, unknown };
}

/**
 * Rotates each stale secret now, one after the other, on the restored home; a rotation that
 * fails is reported (its run retries later, as any run), never thrown.
 */
export async function rotateStale(kt: Keyturn, stale: readonly Pick<CredentialFinding, 'path'>[]): Promise<StaleRotation[]> {
  const out: StaleRotation[] = [];
  if (stale.length === 0) return out;
  const engine = await kt.engine();
  for (const { path } of stale) {
    try {
      const run = await engine.rotate(path);
      out.push({ path, status: run.status, runId: run.id, error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null });
    } catch (e) {
      const error = isKeyturnError(e) ? { code: e.code, message: e.message } : { code: 'KT_INTERNAL', message: 'unexpected error' };
      out.push({ path, status: 'error', runId: null, error });
    }
  }
  return out;
}
