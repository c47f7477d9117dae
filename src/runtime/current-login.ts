/**
 * Whether a target still accepts a secret's current credential: one login (`Target.test`) with
 * the value the store holds as current, read without a `secret.read` event (it never leaves the
 * process), bounded by a deadline even for a target that ignores its abort signal. `keyturn
 * health` probes each target this way, and a restore checks every restored credential with it.
 *
 * @example
 * ```ts
 * const r = await loginWithCurrent(kt, target, { path: 'prod/db/app' }, 5000); // 'ok' | 'no-current'
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { Strategy, Target } from '../targets/target.js';
import type { Keyturn } from './keyturn.js';

/** Resolves with `work`, or rejects with KT_TARGET_UNAVAILABLE after `ms` even when a target ignores its abort signal. */
export async function within<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new KeyturnError('KT_TARGET_UNAVAILABLE', `no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Logs in to `target` with the current credential of `policy.path`: `ok`, or `no-current` when
 * the secret has no current value; a refusal or an outage throws the target's KT_ error.
 */
export async function loginWithCurrent(kt: Keyturn, target: Target, policy: { readonly path: string; readonly strategy?: Strategy }, timeoutMs: number): Promise<'ok' | 'no-current'> {
  const { asCredential, primaryOf } = await import('../engine/next-value.js');
  const store = kt.store.withoutReadAudit?.() ?? kt.store;
  const current = await store.get(policy.path, { stage: 'current' });
  if (current === null || current === undefined) return 'no-current';
  const cred = asCredential(policy.path, current.value);
  const strategy = policy.strategy ?? 'single-user';
  await within(timeoutMs, (signal) => target.test({ strategy, admin: null, primaryUsername: primaryOf(cred.username), log: kt.log, signal }, cred));
  return 'ok';
}
