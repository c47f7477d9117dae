/**
 * The ACME account key, from the target's admin secret (`admin: PATH` in keyturn.yaml, given to
 * the target as `ctx.adminValue`): a PEM private key, as a plain string secret or in the field
 * `accountKey` of a secret of fields. The account key must outlive each run (the CA knows the
 * account by it), so Keyturn never makes one by itself: without an admin secret the issue fails
 * with KT_TARGET_ADMIN_REQUIRED.
 *
 * @example
 * ```ts
 * const key = accountKeyOf(ctx); // KeyObject (EC P-256/P-384 or RSA >= 2048)
 * ```
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { KeyturnError } from '../../core/errors.js';
import { adminRequired } from '../checks.js';
import type { TargetContext } from '../target.js';
import { accountAlg } from './client.js';

export function accountKeyOf(ctx: TargetContext): KeyObject {
  const value = ctx.adminValue ?? null;
  if (value === null) throw adminRequired('acme', ctx, "sign its ACME requests: name a secret holding the account key (a PEM private key, or { accountKey: PEM }) as the target's admin");
  const pem = typeof value === 'string' ? value : typeof value.accountKey === 'string' ? value.accountKey : null;
  if (pem === null) {
    throw new KeyturnError('KT_ACME_ACCOUNT_KEY_INVALID', 'the acme target\'s admin secret holds no account key: store a PEM private key, or { "accountKey": "<PEM>" }', {
      details: { target: 'acme' },
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new KeyturnError('KT_ACME_ACCOUNT_KEY_INVALID', "the acme target's account key (its admin secret) is not a PEM private key", { details: { target: 'acme' } });
  }
  accountAlg(key);
  return key;
}
