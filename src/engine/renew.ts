/**
 * The `renew` strategy's part of a run (src/targets/target.ts, `Renewer`): the target makes the
 * whole next value (a certificate its CA issues, a key pair), the test step checks it (and may
 * make the run wait: NotYet), and the commit that makes it current records when it needs renewing
 * by itself (`renewals`, migration 0017), which the scheduler's due time takes into account
 * without decrypting anything. A secret with no current value yet gets its first one the same way.
 *
 * @example
 * ```ts
 * const value = await nextFor(scope, run, current, `${run.id}.g1`);
 * await renewalWithin(run.path, versionId, value, renewerOf(scope.subject), clock.now())(trx);
 * ```
 */
import type { Transaction } from 'kysely';
import { KeyturnError } from '../core/errors.js';
import type { SecretValue, Version } from '../core/types.js';
import type { Schema } from '../state/schema.js';
import type { Renewer } from '../targets/target.js';
import { nextValue } from './next-value.js';
import type { RunScope, Subject } from './run-scope.js';
import type { Run } from './runs-repo.js';

/** The earliest a value is renewed by itself after it was made. */
export const MIN_RENEW_AFTER_MS = 60_000;

/** The renewer of a `renew` subject, or KT_TARGET_STRATEGY_UNSUPPORTED when its target has none. */
export function renewerOf(subject: Subject): Renewer {
  const renewer = subject.target?.renewer;
  if (!renewer) {
    throw new KeyturnError('KT_TARGET_STRATEGY_UNSUPPORTED', `the ${subject.target?.kind ?? 'missing'} target of ${subject.policy.path} cannot make values, which the renew strategy needs`, {
      details: { path: subject.policy.path, strategy: 'renew' },
    });
  }
  return renewer;
}

/**
 * The next value of a run: issued by the target (`renew`; `current` null for the first one), else
 * generated (a password, an app secret: ./next-value.ts).
 */
export async function nextFor(scope: RunScope, run: Run, current: Version | null, versionId: string): Promise<SecretValue> {
  const { subject } = scope;
  if (subject.strategy === 'renew') return renewerOf(subject).issue(await scope.targetContext(run), current?.value ?? null, versionId);
  return nextValue(subject.policy, current!.value, subject.target?.passwordLimits, subject.target?.newSecret?.bind(subject.target));
}

/** Writes (in the caller's transaction) when the value of version `versionId` needs renewing by itself; removes the row when it never does. */
export function renewalWithin(path: string, versionId: string, value: SecretValue, renewer: Renewer, now: number): (trx: Transaction<Schema>) => Promise<void> {
  const wanted = renewer.renewAt(value);
  // Never at once: a value that would be due as soon as it is made (a renewBefore as long as its
  // lifetime) would be renewed again and again in one pass; a minute later at the earliest.
  const at = wanted === null ? null : Math.max(wanted, now + MIN_RENEW_AFTER_MS);
  return async (trx) => {
    if (at === null) {
      await trx.deleteFrom('renewals').where('path', '=', path).execute();
      return;
    }
    await trx
      .insertInto('renewals')
      .values({ path, version_id: versionId, renew_at: Math.floor(at), updated_at: now })
      .onConflict((oc) => oc.column('path').doUpdateSet({ version_id: versionId, renew_at: Math.floor(at), updated_at: now }))
      .execute();
  };
}
