/**
 * A secret's metadata patch, checked as every store checks it (one rule, src/stores/*) (type, description and owner: text of at most 1024
 * characters or null; tags: keys of [A-Za-z0-9._/-], values of at most 256 characters).
 *
 * @example
 * ```ts
 * checkMetadata({ owner: 'team-a', tags: { env: 'prod' } }); // the patch, checked
 * ```
 */
import { KeyturnError } from './errors.js';
import type { SecretMetadata } from './types.js';
import { printable } from './values.js';

/** A tag key: 1 to 128 of [A-Za-z0-9._/-] (keyturn.yaml's tags: are checked by it too). */
export const TAG_KEY = /^[A-Za-z0-9._/-]{1,128}$/;

export function checkMetadata(m: Partial<SecretMetadata>): Partial<SecretMetadata> {
  const out: Partial<SecretMetadata> = {};
  for (const key of ['type', 'description', 'owner'] as const) {
    const v = m[key];
    if (v === undefined) continue;
    if (v !== null && (typeof v !== 'string' || v.length > 1024)) throw new KeyturnError('KT_USAGE', `metadata ${key} must be text of at most 1024 characters`);
    out[key] = v;
  }
  if (m.tags !== undefined) {
    for (const [k, v] of Object.entries(m.tags)) {
      if (!TAG_KEY.test(k) || typeof v !== 'string' || v.length > 256) {
        throw new KeyturnError('KT_TAG_INVALID', `tag "${printable(k)}" must be key=value with a key of [A-Za-z0-9._/-] and a value of at most 256 characters`);
      }
    }
    out.tags = { ...m.tags };
  }
  return out;
}
