/**
 * Finding an hsm-key's objects in a token session: the one private key (and public key) of a
 * label, checked to be ours (the CKA_ID the value names) and protected (sensitive, never
 * extractable, a token object that can sign). Used by the renewer and by `signWithHsmKey`.
 *
 * @example
 * ```ts
 * const handle = privateKeyOf(session, value, place, 'sign');
 * ```
 */
import type { Handle } from 'pkcs11js';
import { hsmError, type HsmPlace } from '../../hsm/errors.js';
import type { TokenSession } from '../../hsm/session.js';
import type { HsmKeyValue } from './value.js';

/** The private key of `value` in the token; KT_TARGET_FAILED when it is missing, not unique, another id, or not protected. */
export function privateKeyOf(session: TokenSession, value: Pick<HsmKeyValue, 'label' | 'id'>, place: HsmPlace, action: string): Handle {
  const mine = session.findKeys(value.label).privateKeys.filter((h) => session.id(h).toString('hex') === value.id);
  if (mine.length === 0) throw hsmError('KT_TARGET_FAILED', place, action, `no private key labelled "${value.label}" with id ${value.id} is in the token (destroyed, or another token)`);
  if (mine.length > 1) throw hsmError('KT_TARGET_FAILED', place, action, `${mine.length} private keys are labelled "${value.label}" with id ${value.id}`);
  assertProtected(session, mine[0]!, value.label, place, action);
  return mine[0]!;
}

/** KT_TARGET_FAILED unless the private key is a sensitive, non-extractable token object that can sign. */
export function assertProtected(session: TokenSession, handle: Handle, label: string, place: HsmPlace, action: string): void {
  const f = session.privateKeyFlags(handle);
  const problems = [f.extractable && 'extractable', !f.sensitive && 'not sensitive', !f.neverExtractable && 'was extractable once', !f.sign && 'cannot sign', !f.token && 'not a token object'].filter(
    (p): p is string => typeof p === 'string',
  );
  if (problems.length > 0) throw hsmError('KT_TARGET_FAILED', place, action, `the private key labelled "${label}" is ${problems.join(', ')}`);
}
