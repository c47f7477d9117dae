/**
 * The store-neutral index of an outside primary store (migration 0019, `store_heads`): after each
 * write through Keyturn (put, stage move, delete, restore, purge) the secret's row is read back
 * from the store (`describe` and `versions`, no value) and kept, so the scheduler, metrics and
 * expiry notices know when each secret's current value was made without calling the store. A
 * refresh that fails is logged and left to the next write; it never fails the write.
 *
 * @example
 * ```ts
 * const store = indexedStore(vaultStore, state, log);
 * await store.put('app/key', 'v1');                     // store_heads has app/key, current v1
 * await storeHead(state, 'app/key');                     // { createdAt, currentAt, deletedAt, ... }
 * ```
 */
import type { Logger } from '../core/logger.js';
import { isKeyturnError } from '../core/errors.js';
import type { StateDb } from '../state/db.js';
import type { StoreHeadsTable } from '../state/schema.js';
import type { SecretStore } from './store.js';

const WRITES = new Set(['put', 'moveStage', 'remove', 'restore', 'purge', 'purgeVersion']);

/** Reads `path` back from `store` and keeps its row (none once the secret is gone). */
export async function refreshHead(state: StateDb, store: SecretStore, path: string, now: number): Promise<void> {
  const info = await store.describe(path);
  if (info === null) {
    await state.db.deleteFrom('store_heads').where('path', '=', path).execute();
    return;
  }
  const current = info.deletedAt === null ? (await store.versions(path)).find((v) => v.stages.includes('current')) : undefined;
  const row = { created_at: info.createdAt, current_version_id: current?.id ?? null, current_at: current?.createdAt ?? null, deleted_at: info.deletedAt, updated_at: now };
  await state.db
    .insertInto('store_heads')
    .values({ path, ...row })
    .onConflict((oc) => oc.column('path').doUpdateSet(row))
    .execute();
}

/** The kept row of `path`, or undefined. */
export async function storeHead(state: StateDb, path: string): Promise<StoreHeadsTable | undefined> {
  return state.db.selectFrom('store_heads').selectAll().where('path', '=', path).executeTakeFirst();
}

/** `store`, keeping `store_heads` after each successful write. */
export function indexedStore(store: SecretStore, state: StateDb, log: Pick<Logger, 'warn'>, now: () => number): SecretStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const member: unknown = Reflect.get(target, prop, receiver);
      if (typeof member !== 'function') return member;
      if (typeof prop !== 'string' || !WRITES.has(prop)) return (member as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const result: unknown = await (member as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        const path = args[0] as string;
        await refreshHead(state, target, path, now()).catch((e: unknown) =>
          log.warn({ path, code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'store index not refreshed after a write; the next write refreshes it'),
        );
        return result;
      };
    },
  });
}
