/**
 * The SecretStore contract: every store (embedded, Vault, AWS, ...) runs this suite against a
 * real instance. A test may be skipped only with a reason, which is printed in the test name.
 *
 * @example
 * ```ts
 * runStoreContract({
 *   name: 'embedded (SQLite)',
 *   make: async ({ clock, options }) => { ...; return { store, close }; },
 *   skip: { 'prunes old unlabeled versions past the maximum, never inside the retention hold': 'the service prunes on its own schedule' },
 * });
 * ```
 */
import { afterEach, describe, expect } from 'vitest';
import { contractTests } from './skips.js';
import { DAY_MS, manualClock, type ManualClock } from '../core/clock.js';
import { isKeyturnError, type ErrorCode, type KeyturnError } from '../core/errors.js';
import type { SecretStore } from '../stores/store.js';
import type { Stage } from '../core/types.js';

export interface ContractOptions {
  maxValueBytes: number;
  maxVersions: number;
  retentionMs: number;
  purgeProtection: boolean;
}

export interface ContractSubject {
  store: SecretStore;
  close(): Promise<void>;
}

export interface StoreContractSpec {
  name: string;
  make(ctx: { clock: ManualClock; options: ContractOptions }): Promise<ContractSubject>;
  /** Test name → reason it cannot run against this store. */
  skip?: Record<string, string>;
}

const DEFAULTS: ContractOptions = { maxValueBytes: 64 * 1024, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true };

/** Asserts that `fn` rejects with the given KT_ code. */
export async function expectCode(fn: () => Promise<unknown> | unknown, code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  if (!isKeyturnError(caught)) throw caught;
  expect(caught.code).toBe(code);
}

/** The KeyturnError that `fn` rejects with (fails the test when it resolves or throws something else). */
export async function rejection(fn: () => Promise<unknown>): Promise<KeyturnError> {
  try {
    await fn();
  } catch (e) {
    if (isKeyturnError(e)) return e;
    throw e;
  }
  throw new Error('expected a KeyturnError, but it resolved');
}

/** Everything observable through the interface, values included, for before/after comparisons. */
export async function snapshotStore(store: SecretStore): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const deleted of [false, true]) {
    for await (const path of store.list('', { deleted })) {
      const info = await store.describe(path);
      if (deleted) {
        out[path] = { info };
        continue;
      }
      const versions = await store.versions(path);
      const values = [];
      for (const v of versions) values.push((await store.get(path, { versionId: v.id }))?.value);
      out[path] = { info, versions, values };
    }
  }
  return out;
}

async function all(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function stagesOf(store: SecretStore, path: string): Promise<Record<string, Stage[]>> {
  const out: Record<string, Stage[]> = {};
  for (const v of await store.versions(path)) out[v.number] = v.stages;
  return out;
}

export function runStoreContract(spec: StoreContractSpec): void {
  describe(`SecretStore contract: ${spec.name}`, () => {
    let subject: ContractSubject | undefined;
    let clock: ManualClock;

    async function open(options: Partial<ContractOptions> = {}): Promise<SecretStore> {
      clock = manualClock();
      subject = await spec.make({ clock, options: { ...DEFAULTS, ...options } });
      return subject.store;
    }

    afterEach(async () => {
      await subject?.close();
      subject = undefined;
    });

    const { test, checkSkips } = contractTests(`SecretStore contract: ${spec.name}`, spec.skip);

    test('stores a string and reads it back as current', async () => {
      const store = await open();
      const v = await store.put('app/session', 'first value');
      expect(v).toMatchObject({ number: 1, stages: ['current'], kind: 'string', value: 'first value' });
      const got = await store.get('app/session');
      expect(got).toMatchObject({ id: v.id, number: 1, value: 'first value', stages: ['current'] });
      expect(await store.get('app/session', { stage: 'current' })).toMatchObject({ id: v.id });
    });

    test('stores a JSON object of fields', async () => {
      const store = await open();
      const value = { username: 'app', password: 'p@ss', port: 5432, nested: { a: [1, 2] } };
      await store.put('db/app', value);
      const got = await store.get('db/app');
      expect(got?.kind).toBe('json');
      expect(got?.value).toEqual(value);
    });

    test('a new current version moves the old one to previous; history is newest first', async () => {
      const store = await open();
      const v1 = await store.put('a/b', 'one');
      clock.advance(1000);
      const v2 = await store.put('a/b', 'two');
      clock.advance(1000);
      const v3 = await store.put('a/b', 'three');
      const history = await store.versions('a/b');
      expect(history.map((h) => h.number)).toEqual([3, 2, 1]);
      expect(history.map((h) => h.id)).toEqual([v3.id, v2.id, v1.id]);
      expect(history.map((h) => h.stages)).toEqual([['current'], ['previous'], []]);
      expect((await store.get('a/b', { stage: 'previous' }))?.value).toBe('two');
      expect(history[0]!.createdAt).toBeGreaterThan(history[2]!.createdAt);
    });

    test('a pending version leaves current alone', async () => {
      const store = await open();
      const v1 = await store.put('a/b', 'one');
      const p = await store.put('a/b', 'two', { stages: ['pending'] });
      expect(p.stages).toEqual(['pending']);
      expect((await store.get('a/b'))?.id).toBe(v1.id);
      expect((await store.get('a/b', { stage: 'pending' }))?.value).toBe('two');
      expect(await store.get('a/b', { stage: 'previous' })).toBeNull();
    });

    test('put is idempotent on the version id and refuses a different value under it', async () => {
      const store = await open();
      const first = await store.put('a/b', 'one', { versionId: 'run-1' });
      const again = await store.put('a/b', 'one', { versionId: 'run-1' });
      expect(again.id).toBe('run-1');
      expect(again.number).toBe(first.number);
      expect(await store.versions('a/b')).toHaveLength(1);
      const before = await snapshotStore(store);
      await expectCode(() => store.put('a/b', 'other', { versionId: 'run-1' }), 'KT_VERSION_CONFLICT');
      expect(await snapshotStore(store)).toEqual(before);
    });

    test('moveStage is a compare-and-set on version ids', async () => {
      const store = await open();
      const v1 = await store.put('a/b', 'one');
      const v2 = await store.put('a/b', 'two', { stages: ['pending'] });
      const before = await snapshotStore(store);
      await expectCode(() => store.moveStage('a/b', 'current', v2.id, v2.id), 'KT_STAGE_CONFLICT');
      await expectCode(() => store.moveStage('a/b', 'current', v2.id, null), 'KT_STAGE_CONFLICT');
      await expectCode(() => store.moveStage('a/b', 'current', 'no-such-version', v1.id), 'KT_VERSION_NOT_FOUND');
      expect(await snapshotStore(store)).toEqual(before);

      await store.moveStage('a/b', 'current', v2.id, v1.id);
      expect(await stagesOf(store, 'a/b')).toEqual({ 1: ['previous'], 2: ['current'] });
      // Repeating a move that already happened is a no-op only when expectFrom says so.
      await store.moveStage('a/b', 'current', v2.id, v2.id);
      await expectCode(() => store.moveStage('a/b', 'current', v2.id, v1.id), 'KT_STAGE_CONFLICT');
    });

    test('a stage can be removed and set on no version', async () => {
      const store = await open();
      await store.put('a/b', 'one');
      const p = await store.put('a/b', 'two', { stages: ['pending'] });
      await store.moveStage('a/b', 'pending', null, p.id);
      expect(await store.get('a/b', { stage: 'pending' })).toBeNull();
      await store.moveStage('a/b', 'pending', p.id, null);
      expect((await store.get('a/b', { stage: 'pending' }))?.id).toBe(p.id);
    });

    test('rollback: moving current back to previous swaps the two', async () => {
      const store = await open();
      const v1 = await store.put('a/b', 'one');
      const v2 = await store.put('a/b', 'two');
      await store.moveStage('a/b', 'current', v1.id, v2.id);
      expect(await stagesOf(store, 'a/b')).toEqual({ 1: ['current'], 2: ['previous'] });
      expect((await store.get('a/b'))?.value).toBe('one');
    });

    test('of two racing compare-and-sets exactly one wins', async () => {
      const store = await open();
      const v1 = await store.put('race/x', 'one');
      const a = await store.put('race/x', 'a', { stages: [] });
      const b = await store.put('race/x', 'b', { stages: [] });
      await Promise.all([1, 2, 3, 4].map(() => store.describe('race/x')));
      const results = await Promise.allSettled([store.moveStage('race/x', 'current', a.id, v1.id), store.moveStage('race/x', 'current', b.id, v1.id)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(isKeyturnError(loser.reason, 'KT_STAGE_CONFLICT')).toBe(true);
      const current = (await store.get('race/x'))!;
      expect([a.id, b.id]).toContain(current.id);
      expect((await store.get('race/x', { stage: 'previous' }))?.id).toBe(v1.id);
    });

    test('put with expectCurrentVersion writes only over that current version (0: create only)', async () => {
      const store = await open();
      const v1 = await store.put('cas/a', 'one', { expectCurrentVersion: 0 });
      expect(v1).toMatchObject({ number: 1, stages: ['current'] });
      const before = await snapshotStore(store);
      const refused = await rejection(() => store.put('cas/a', 'again', { expectCurrentVersion: 0, metadata: { owner: 'someone' } }));
      expect(refused).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { path: 'cas/a', expected: 0, actual: 1, exists: true } });
      expect(refused.message).not.toContain('again');
      const stale = await rejection(() => store.put('cas/a', 'two', { expectCurrentVersion: 2 }));
      expect(stale).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 2, actual: 1 } });
      expect(stale.message).toMatch(/current version 2\b.*current version is 1\b/);
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) await expectCode(() => store.put('cas/a', 'two', { expectCurrentVersion: bad }), 'KT_USAGE');
      expect(await snapshotStore(store)).toEqual(before);

      // Expecting a version of a secret that does not exist creates nothing.
      const missing = await rejection(() => store.put('cas/none', 'x', { expectCurrentVersion: 1 }));
      expect(missing).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 1, actual: 0, exists: false } });
      expect(await store.describe('cas/none')).toBeNull();
      expect(await snapshotStore(store)).toEqual(before);

      expect((await store.put('cas/a', 'two', { expectCurrentVersion: 1 })).number).toBe(2);
      // It is the version staged current that counts, not the newest one.
      expect((await store.put('cas/a', 'next', { stages: ['pending'], expectCurrentVersion: 2 })).number).toBe(3);
      await expectCode(() => store.put('cas/a', 'three', { expectCurrentVersion: 3 }), 'KT_VERSION_MISMATCH');
      const v4 = await store.put('cas/a', 'four', { versionId: 'cas-run-1', expectCurrentVersion: 2 });
      expect(v4).toMatchObject({ number: 4, stages: ['current'] });
      // Retrying the same put (same id and value) returns it again: it writes nothing to check.
      expect((await store.put('cas/a', 'four', { versionId: 'cas-run-1', expectCurrentVersion: 2 })).id).toBe('cas-run-1');
      await expectCode(() => store.put('cas/a', 'other', { versionId: 'cas-run-1', expectCurrentVersion: 4 }), 'KT_VERSION_CONFLICT');
      expect((await store.versions('cas/a')).map((v) => v.number)).toEqual([4, 3, 2, 1]);
      // A deleted secret says so, whatever is expected.
      await store.remove('cas/a');
      await expectCode(() => store.put('cas/a', 'five', { expectCurrentVersion: 4 }), 'KT_SECRET_DELETED');
      await expectCode(() => store.put('cas/a', 'five', { expectCurrentVersion: 0 }), 'KT_SECRET_DELETED');
    });

    test('of two racing puts expecting the same current version exactly one wins', async () => {
      const store = await open();
      await store.put('race/put', 'one');
      // Reads side by side first, so that a pooled store has a connection ready for each writer.
      await Promise.all([1, 2, 3, 4].map(() => store.describe('race/put')));
      const results = await Promise.allSettled([store.put('race/put', 'a', { expectCurrentVersion: 1 }), store.put('race/put', 'b', { expectCurrentVersion: 1 })]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: string; number: number }>).value;
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(loser.reason).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 1, actual: 2 } });
      expect(winner.number).toBe(2);
      expect((await store.versions('race/put')).map((v) => v.number)).toEqual([2, 1]);
      expect((await store.get('race/put'))?.id).toBe(winner.id);

      // Create only: of two puts that each expect no secret, one creates it.
      const created = await Promise.allSettled([store.put('race/new', 'a', { expectCurrentVersion: 0 }), store.put('race/new', 'b', { expectCurrentVersion: 0 })]);
      expect(created.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((created.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 0, actual: 1 } });
      expect(await store.versions('race/new')).toHaveLength(1);
    });

    test('reads by version id and number; unknown versions and unset stages are told apart', async () => {
      const store = await open();
      const v1 = await store.put('a/b', 'one');
      await store.put('a/b', 'two');
      expect((await store.get('a/b', { versionId: v1.id }))?.value).toBe('one');
      expect((await store.get('a/b', { number: 2 }))?.value).toBe('two');
      await expectCode(() => store.get('a/b', { versionId: 'nope' }), 'KT_VERSION_NOT_FOUND');
      await expectCode(() => store.get('a/b', { number: 99 }), 'KT_VERSION_NOT_FOUND');
      await expectCode(() => store.get('a/b', { stage: 'staging' as Stage }), 'KT_STAGE_UNKNOWN');
      expect(await store.get('a/b', { stage: 'pending' })).toBeNull();
      expect(await store.get('missing/secret')).toBeNull();
      expect(await store.describe('missing/secret')).toBeNull();
      await expectCode(() => store.versions('missing/secret'), 'KT_SECRET_NOT_FOUND');
    });

    test('lists paths under a prefix, sorted, by whole segments', async () => {
      const store = await open();
      for (const p of ['prod/db/b', 'prod/db/a', 'prod', 'production/x', 'prod_1/y', 'dev/z']) await store.put(p, 'v');
      expect(await all(store.list(''))).toEqual(['dev/z', 'prod', 'prod/db/a', 'prod/db/b', 'prod_1/y', 'production/x']);
      expect(await all(store.list('prod'))).toEqual(['prod', 'prod/db/a', 'prod/db/b']);
      expect(await all(store.list('prod/'))).toEqual(['prod', 'prod/db/a', 'prod/db/b']);
      expect(await all(store.list('prod/db'))).toEqual(['prod/db/a', 'prod/db/b']);
      expect(await all(store.list('nothing'))).toEqual([]);
      await expectCode(() => all(store.list('../x')), 'KT_PATH_DOT_SEGMENT');
    });

    test('keeps metadata: type, description, owner and tags', async () => {
      const store = await open();
      await store.put('app/k', 'v', { metadata: { type: 'app-secret', description: 'session key', owner: 'team-a', tags: { env: 'prod' } } });
      expect(await store.describe('app/k')).toMatchObject({ type: 'app-secret', description: 'session key', owner: 'team-a', tags: { env: 'prod' }, versionCount: 1, deletedAt: null });
      await store.put('app/k', 'v2');
      expect((await store.describe('app/k'))?.type).toBe('app-secret');
      await store.setMetadata('app/k', { owner: 'team-b', tags: { env: 'prod', tier: '1' } });
      expect(await store.describe('app/k')).toMatchObject({ owner: 'team-b', description: 'session key', tags: { env: 'prod', tier: '1' }, versionCount: 2 });
      await expectCode(() => store.setMetadata('app/k', { tags: { 'bad key!': 'x' } }), 'KT_TAG_INVALID');
    });

    test('soft delete hides a secret until it is restored, with its versions intact', async () => {
      const store = await open();
      await store.put('app/k', 'one');
      await store.put('app/k', 'two');
      const versionsBefore = await store.versions('app/k');
      await expectCode(() => store.remove('app/k', { recoveryDays: 6 }), 'KT_RECOVERY_DAYS_INVALID');
      await expectCode(() => store.remove('app/k', { recoveryDays: 91 }), 'KT_RECOVERY_DAYS_INVALID');
      const removed = await store.remove('app/k', { recoveryDays: 7 });
      expect(removed.deletedAt).toBe(clock.now());
      expect(removed.purgeAfter).toBe(clock.now() + 7 * DAY_MS);
      expect(await all(store.list(''))).toEqual([]);
      expect(await all(store.list('', { deleted: true }))).toEqual(['app/k']);
      await expectCode(() => store.get('app/k'), 'KT_SECRET_DELETED');
      await expectCode(() => store.put('app/k', 'three'), 'KT_SECRET_DELETED');
      await expectCode(() => store.remove('app/k'), 'KT_SECRET_DELETED');
      await store.restore('app/k');
      await expectCode(() => store.restore('app/k'), 'KT_SECRET_NOT_DELETED');
      expect(await store.versions('app/k')).toEqual(versionsBefore);
      expect((await store.get('app/k'))?.value).toBe('two');
    });

    test('purge protection holds a deleted secret until its recovery window ends', async () => {
      const store = await open({ purgeProtection: true });
      await store.put('app/k', 'one');
      await expectCode(() => store.purge('app/k'), 'KT_SECRET_NOT_DELETED');
      await store.remove('app/k', { recoveryDays: 7 });
      await expectCode(() => store.purge('app/k'), 'KT_PURGE_PROTECTED');
      clock.advance(7 * DAY_MS - 1);
      await expectCode(() => store.purge('app/k'), 'KT_PURGE_PROTECTED');
      expect(await store.describe('app/k')).not.toBeNull();
      clock.advance(1);
      await store.purge('app/k');
      expect(await store.describe('app/k')).toBeNull();
      await expectCode(() => store.purge('app/k'), 'KT_SECRET_NOT_FOUND');
      // The path is free again, and numbering starts over.
      expect((await store.put('app/k', 'new')).number).toBe(1);
    });

    test('without purge protection a deleted secret can be purged at once', async () => {
      const store = await open({ purgeProtection: false });
      await store.put('app/k', 'one');
      await store.remove('app/k');
      await store.purge('app/k');
      expect(await store.describe('app/k')).toBeNull();
    });

    test('prunes old unlabeled versions past the maximum, never inside the retention hold', async () => {
      const store = await open({ maxVersions: 3, retentionMs: 7 * DAY_MS });
      for (let i = 1; i <= 5; i++) await store.put('app/k', `v${i}`);
      expect((await store.versions('app/k')).map((v) => v.number)).toEqual([5, 4, 3, 2, 1]);
      clock.advance(8 * DAY_MS);
      await store.put('app/k', 'v6');
      const kept = await store.versions('app/k');
      expect(kept.map((v) => v.number)).toEqual([6, 5, 4]);
      expect(kept.map((v) => v.stages)).toEqual([['current'], ['previous'], []]);
    });

    test('a pending version is never pruned', async () => {
      const store = await open({ maxVersions: 2, retentionMs: 0 });
      await store.put('app/k', 'v1');
      const pending = await store.put('app/k', 'p', { stages: ['pending'] });
      clock.advance(1);
      await store.put('app/k', 'v3');
      await store.put('app/k', 'v4');
      const ids = (await store.versions('app/k')).map((v) => v.id);
      expect(ids).toContain(pending.id);
    });

    test('bad input gets its own code and changes nothing', async () => {
      const store = await open({ maxValueBytes: 1024 });
      await store.put('ok/path', { username: 'u', password: 'p' });
      const before = await snapshotStore(store);
      const bad: Array<[string, ErrorCode]> = [
        ['', 'KT_PATH_EMPTY'],
        ['a/../b', 'KT_PATH_DOT_SEGMENT'],
        ['..', 'KT_PATH_DOT_SEGMENT'],
        ['a//b', 'KT_PATH_EMPTY_SEGMENT'],
        ['a/b/', 'KT_PATH_EMPTY_SEGMENT'],
        ['/a/b', 'KT_PATH_LEADING_SLASH'],
        ['a/b\nc', 'KT_PATH_CONTROL_CHAR'],
        ['a/\u0000', 'KT_PATH_CONTROL_CHAR'],
        ['a b', 'KT_PATH_INVALID_CHAR'],
        ['a/é', 'KT_PATH_INVALID_CHAR'],
        ['x'.repeat(513), 'KT_PATH_TOO_LONG'],
      ];
      for (const [path, code] of bad) {
        await expectCode(() => store.put(path, 'v'), code);
        await expectCode(() => store.get(path), code);
      }
      expect((await store.put('x'.repeat(512), 'fits')).number).toBe(1);
      await store.remove('x'.repeat(512));
      await store.restore('x'.repeat(512));
      const afterOk = await snapshotStore(store);
      await expectCode(() => store.put('ok/path', 'x'.repeat(1025)), 'KT_VALUE_TOO_LARGE');
      await expectCode(() => store.put('ok/path', { big: 'x'.repeat(1024) }), 'KT_VALUE_TOO_LARGE');
      await expectCode(() => store.put('ok/path', [1, 2] as never), 'KT_VALUE_NOT_OBJECT');
      await expectCode(() => store.put('ok/path', null as never), 'KT_VALUE_NOT_OBJECT');
      await expectCode(() => store.put('ok/path', { 'bad name': 'x' }), 'KT_VALUE_FIELD_INVALID');
      await expectCode(() => store.put('ok/path', 'v', { stages: ['live' as Stage] }), 'KT_STAGE_UNKNOWN');
      await expectCode(() => store.moveStage('ok/path', 'live' as Stage, null, null), 'KT_STAGE_UNKNOWN');
      await expectCode(() => store.get('ok/path', { versionId: 'missing' }), 'KT_VERSION_NOT_FOUND');
      await expectCode(() => store.moveStage('nope/path', 'current', null, null), 'KT_SECRET_NOT_FOUND');
      expect(await snapshotStore(store)).toEqual(afterOk);
      expect(Object.keys(before as object)).toEqual(['ok/path']);
    });

    checkSkips();
  });
}
