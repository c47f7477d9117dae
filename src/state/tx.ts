/**
 * One state-database transaction with work deferred to just before its commit.
 *
 * Writers that may record several audit events in one transaction (a rotation step that stores a
 * pending version and records its intent, a finish that moves a stage and records success) run
 * it through {@link transact}; the audit log then queues those events with {@link beforeCommit}
 * and appends them as one batch at the end: one read and one write of the audit head per
 * transaction instead of one per event. The deferred work runs inside the transaction, before
 * COMMIT: if it throws, nothing commits (fail closed, as when each event was written at once).
 *
 * A transaction opened any other way (`db.transaction().execute`) has no such hooks:
 * {@link beforeCommit} returns false and the caller does its work at once. {@link afterCommit}
 * queues work (a notification: nothing that can fail the write) to run once the transaction has
 * committed; it is dropped when the transaction rolls back.
 *
 * @example
 * ```ts
 * await transact(state.db, async (trx) => {
 *   await writeSomething(trx);
 *   beforeCommit(trx, 'audit', () => flushEvents(trx)); // once per key, run last
 * });
 * ```
 */
import type { Kysely, Transaction } from 'kysely';
import type { Schema } from './schema.js';

type Hooks = Map<unknown, () => Promise<void>>;

const hooksOf = new WeakMap<Transaction<Schema>, Hooks>();
const afterOf = new WeakMap<Transaction<Schema>, Map<unknown, () => void>>();

/** Runs `fn` in one transaction, then the work queued with {@link beforeCommit}, then commits, then runs what {@link afterCommit} queued. */
export async function transact<T>(db: Kysely<Schema>, fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
  const after = new Map<unknown, () => void>();
  const result = await db.transaction().execute(async (trx) => {
    const hooks: Hooks = new Map();
    hooksOf.set(trx, hooks);
    afterOf.set(trx, after);
    const result = await fn(trx);
    // A hook may queue another (under a new key): run until none is left.
    while (hooks.size > 0) {
      const [key, hook] = hooks.entries().next().value as [unknown, () => Promise<void>];
      hooks.delete(key);
      await hook();
    }
    hooksOf.delete(trx);
    afterOf.delete(trx);
    return result;
  });
  for (const run of after.values()) run();
  return result;
}

/**
 * Queues `notify` to run once `trx` has committed, once per `key`. False when `trx` was not opened
 * by {@link transact} (the caller cannot know when it commits). `notify` must not throw.
 */
export function afterCommit(trx: Transaction<Schema>, key: unknown, notify: () => void): boolean {
  const after = afterOf.get(trx);
  if (after === undefined) return false;
  if (!after.has(key)) after.set(key, notify);
  return true;
}

/**
 * Queues `hook` to run in `trx` just before it commits, once per `key` (a later call with the
 * same key while it is queued does nothing). False when `trx` was not opened by {@link transact}:
 * the caller must do the work now.
 */
export function beforeCommit(trx: Transaction<Schema>, key: unknown, hook: () => Promise<void>): boolean {
  const hooks = hooksOf.get(trx);
  if (hooks === undefined) return false;
  if (!hooks.has(key)) hooks.set(key, hook);
  return true;
}

/** Runs now, in `trx`, the hook queued under `key` (if any), so work that must follow it sees its writes. */
export async function flushBeforeCommit(trx: Transaction<Schema>, key: unknown): Promise<void> {
  const hook = hooksOf.get(trx)?.get(key);
  if (hook === undefined) return;
  hooksOf.get(trx)!.delete(key);
  await hook();
}
