/**
 * What a channel's references stand for, looked up when a notification is sent (never at apply,
 * never stored): `${env:VAR}` in the environment of the process that sends, `{ secret, field }` in
 * the store (the current version; a field of a JSON value, or the whole value when it is a
 * string). A reference that cannot be resolved is KT_NOTIFY_SECRET_UNAVAILABLE, naming the
 * reference, never what it would have held. One lookup per reference per {@link RefResolver}.
 *
 * @example
 * ```ts
 * const refs = refResolver(kt.store, kt.settings.env);
 * await refs.resolve('${env:HOOK_SECRET}'); // the variable's text
 * await refs.resolve({ secret: 'notify/slack', field: 'url' });
 * ```
 */
import { KeyturnError, isKeyturnError } from '../core/errors.js';
import type { SecretStore } from '../stores/store.js';
import { describeRef, ENV_REF, type ValueRef } from './schema.js';

export interface RefResolver {
  /** A reference's text; a plain string (a literal URL or header) as it is. */
  resolve(ref: ValueRef): Promise<string>;
}

function unavailable(ref: ValueRef, why: string): KeyturnError {
  return new KeyturnError('KT_NOTIFY_SECRET_UNAVAILABLE', `${describeRef(ref)}: ${why}`);
}

/** A resolver over `store` and `env` (a lookup of the sending process's environment). */
export function refResolver(store: Pick<SecretStore, 'get'>, env: (name: string) => string | undefined): RefResolver {
  const cache = new Map<string, Promise<string>>();
  const lookup = async (ref: ValueRef): Promise<string> => {
    if (typeof ref === 'string') {
      const m = ENV_REF.exec(ref);
      if (!m) return ref;
      const v = env(m[1]!);
      if (v === undefined || v === '') throw unavailable(ref, `the environment variable ${m[1]!} is not set in the process that sends notifications`);
      return v;
    }
    let version;
    try {
      version = await store.get(ref.secret, { stage: 'current' });
    } catch (e) {
      throw unavailable(ref, isKeyturnError(e) ? `${e.code}` : 'it cannot be read');
    }
    if (!version) throw unavailable(ref, 'no such secret');
    const value = version.value;
    if (ref.field === undefined) {
      if (typeof value !== 'string') throw unavailable(ref, 'the value has fields: name one with field:');
      return value;
    }
    const field = typeof value === 'string' ? undefined : value[ref.field];
    if (typeof field !== 'string' || field === '') throw unavailable(ref, `no text field "${ref.field}"`);
    return field;
  };
  return {
    resolve: (ref) => {
      const key = typeof ref === 'string' ? `s:${ref}` : `r:${ref.secret}#${ref.field ?? ''}`;
      let hit = cache.get(key);
      if (!hit) {
        hit = lookup(ref);
        cache.set(key, hit);
      }
      return hit;
    },
  };
}
