/**
 * The state layer's hot-path pieces, on both dialects where they apply: statements compiled once
 * (src/state/prepared.ts), work deferred to just before a commit (src/state/tx.ts) with the audit
 * events of one transaction appended as one batch, and SQLite checkpoints in a worker thread
 * (src/state/sqlite-checkpointer.ts), and the read cache kept while SQLite's committed state is
 * unchanged (src/state/read-cache.ts).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/log.js';
import type { Kysely, Transaction } from 'kysely';
import { openState, type StateDb } from '../src/state/db.js';
import type { Schema } from '../src/state/schema.js';
import { prepared } from '../src/state/prepared.js';
import { readCache } from '../src/state/read-cache.js';
import { BACKGROUND_CHECKPOINT_AFTER } from '../src/state/sqlite-adapter.js';
import { beforeCommit, transact } from '../src/state/tx.js';
import { postgresState, sqliteState, tempDir, type TestState } from './helpers/state.js';

const byPath = prepared((db, p) => db.selectFrom('secrets').select(['path', 'next_version']).where('path', '=', p('path')).where('next_version', '>=', 1));
const bump = prepared((db, p) =>
  db
    .updateTable('secrets')
    .set({ next_version: p('n') })
    .where('path', '=', p('path')),
);

/** A secret row (no versions): enough for statements and commits to work on. */
async function addSecretIn(db: Kysely<Schema> | Transaction<Schema>, path: string): Promise<void> {
  await db
    .insertInto('secrets')
    .values({ id: `s_${path}`, path, type: null, description: null, owner: null, tags: '{}', created_at: 1, updated_at: 1, deleted_at: null, purge_after: null, next_version: 1 })
    .execute();
}

describe.each([
  ['sqlite', sqliteState],
  ['postgres', postgresState],
] as Array<[string, () => Promise<TestState>]>)('on %s', (_dialect, open) => {
  it('a prepared statement runs with its named parameters, keeps its compiled constants, and refuses a missing parameter', async () => {
    const t = await open();
    try {
      await addSecretIn(t.state.db, 'a/one');
      await addSecretIn(t.state.db, 'a/two');
      expect(await byPath.rows(t.state, t.state.db, { path: 'a/one' })).toEqual([{ path: 'a/one', next_version: 1 }]);
      expect(await bump.changes(t.state, t.state.db, { path: 'a/two', n: 7 })).toBe(1);
      expect(await bump.changes(t.state, t.state.db, { path: 'a/none', n: 7 })).toBe(0);
      // The same compiled statement, other values; inside a transaction too.
      await t.state.db.transaction().execute(async (trx) => {
        expect(await byPath.first(t.state, trx, { path: 'a/two' })).toEqual({ path: 'a/two', next_version: 7 });
      });
      await expect(byPath.rows(t.state, t.state.db, {})).rejects.toThrow('no value for parameter "path"');
    } finally {
      await t.close();
    }
  });

  it('a read outside the transaction never sees its uncommitted rows, then sees them once committed', async () => {
    const t = await open();
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let inserted!: () => void;
      const didInsert = new Promise<void>((r) => (inserted = r));
      const tx = t.state.db.transaction().execute(async (trx) => {
        await addSecretIn(trx, 'u/one');
        inserted();
        await held;
      });
      await didInsert;
      // The transaction is open with its row written: a read now must not return it (on SQLite it waits for the commit).
      const during = byPath.first(t.state, t.state.db, { path: 'u/one' });
      const settled = await Promise.race([during.then(() => 'answered'), new Promise((r) => setImmediate(() => r('waiting')))]);
      if (settled === 'answered') expect(await during).toBeUndefined();
      release();
      await tx;
      expect(await byPath.first(t.state, t.state.db, { path: 'u/one' })).toEqual({ path: 'u/one', next_version: 1 });
    } finally {
      await t.close();
    }
  });

  it('work queued with beforeCommit runs once per key, last, inside the transaction; if it fails nothing commits', async () => {
    const t = await open();
    try {
      const order: string[] = [];
      await transact(t.state.db, async (trx) => {
        expect(beforeCommit(trx, 'k', async () => void order.push('hook'))).toBe(true);
        expect(beforeCommit(trx, 'k', async () => void order.push('second hook, same key'))).toBe(true);
        await addSecretIn(trx, 'b/one');
        order.push('body');
      });
      expect(order).toEqual(['body', 'hook']);
      await expect(
        transact(t.state.db, async (trx) => {
          await addSecretIn(trx, 'b/two');
          beforeCommit(trx, 'k', async () => {
            throw new Error('hook failed');
          });
        }),
      ).rejects.toThrow('hook failed');
      expect((await t.state.db.selectFrom('secrets').select('path').execute()).map((r) => r.path)).toEqual(['b/one']);
      // A transaction opened another way has no hooks: the caller must do the work itself.
      await t.state.db.transaction().execute(async (trx) => {
        expect(beforeCommit(trx, 'k', async () => undefined)).toBe(false);
      });
    } finally {
      await t.close();
    }
  });

  it('audit events recorded in one transaction are appended as one batch before it commits, in the order recorded, after any appended at once', async () => {
    const t = await open();
    try {
      await AuditLog.initialize(t.state, t.ring);
      const log = await AuditLog.open(t.state, t.ring);
      const before = (await log.head()).size;
      await transact(t.state.db, async (trx) => {
        await log.appendWithin({ action: 'secret.put', path: 'c/one', outcome: 'success' }, trx);
        await log.appendWithin({ action: 'secret.rotate', path: 'c/one', outcome: 'intent' }, trx);
        // Queued, not written yet: the head moves only at the end.
        expect((await trx.selectFrom('audit_leaves').select('seq').where('seq', '>=', before).execute()).length).toBe(0);
        // An event appended at once in the same transaction comes after those queued before it.
        await log.append({ action: 'secret.read', path: 'c/one', outcome: 'success' }, trx);
        await log.appendWithin({ action: 'secret.rotate', path: 'c/one', outcome: 'success' }, trx);
      });
      const rows = await log.between(before);
      const events = rows.map((r) => JSON.parse(r.leaf) as { action: string; outcome: string });
      expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(['secret.put:success', 'secret.rotate:intent', 'secret.read:success', 'secret.rotate:success']);
      expect((await log.head()).size).toBe(before + 4);
    } finally {
      await t.close();
    }
  });
});

describe.each([
  ['sqlite', sqliteState],
  ['postgres', postgresState],
] as Array<[string, () => Promise<TestState>]>)('audit group commit on %s', (_dialect, open) => {
  it('appends made in one turn of the event loop share one commit (so do those made while a group is written); each resolves with its own events; a bad one fails alone', async () => {
    const t = await open();
    try {
      await AuditLog.initialize(t.state, t.ring);
      const log = await AuditLog.open(t.state, t.ring);
      const before = (await log.head()).size;
      const transaction = t.state.db.transaction.bind(t.state.db);
      let transactions = 0;
      t.state.db.transaction = () => {
        transactions += 1;
        return transaction();
      };
      // 50 appends at once (as concurrent requests make them): one commit for all.
      const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ action: 'secret.read', path: `g/${i}`, outcome: 'success' })));
      expect(transactions).toBe(1);
      // Appends made while a group is being written wait for it and share the next commit.
      transactions = 0;
      const first = log.append({ action: 'secret.read', path: 'w/0', outcome: 'success' });
      await new Promise((r) => setImmediate(r));
      const later = Array.from({ length: 9 }, (_, i) => log.append({ action: 'secret.read', path: `w/${i + 1}`, outcome: 'success' }));
      await Promise.all([first, ...later]);
      expect(transactions).toBe(2);
      expect(appended.map((a) => a.seq)).toEqual(Array.from({ length: 50 }, (_, i) => before + i));
      // A group with an event the log refuses: that caller fails, the others are written.
      const results = await Promise.allSettled([
        log.append({ action: 'secret.read', path: 'h/0', outcome: 'success' }),
        log.append({ action: 'secret.read', path: 'h/1', outcome: 'success' }),
        log.append({ action: 'Not An Action', path: 'h/2', outcome: 'success' }),
        log.append({ action: 'secret.read', path: 'h/3', outcome: 'success' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const paths = (await log.between(before + 60)).map((r) => (JSON.parse(r.leaf) as { path: string }).path);
      expect(paths).toEqual(['h/0', 'h/1', 'h/3']);
    } finally {
      await t.close();
    }
  });
});

/** Two connections to one new SQLite file (this process and, say, the CLI beside it), closed and removed after `fn`. */
async function withTwoConnections(fn: (one: StateDb, other: StateDb) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const file = join(tmp.dir, 'state.db');
  const one = await openState({ sqliteFile: file });
  const other = await openState({ sqliteFile: file });
  try {
    await fn(one, other);
  } finally {
    await other.close();
    await one.close();
    tmp.remove();
  }
}

describe('SQLite read batches', () => {
  it('reads of one event-loop turn share a read transaction that ends after the turn; a write in the same turn ends it first, even after another process committed', async () => {
    await withTwoConnections(async (one, other) => {
      await addSecretIn(one.db, 'r/one');
      const raw = (one.sqlite as unknown as { raw: { isTransaction: boolean } }).raw;
      expect(await byPath.first(one, one.db, { path: 'r/one' })).toEqual({ path: 'r/one', next_version: 1 });
      // The batch is open until this turn ends.
      expect(raw.isTransaction).toBe(true);
      // Another connection commits meanwhile; this one's batch still reads its snapshot...
      await addSecretIn(other.db, 'r/two');
      expect(await byPath.first(one, one.db, { path: 'r/two' })).toBeUndefined();
      // ...and a write that returns rows (SQLite would refuse it from the stale snapshot: SQLITE_BUSY) ends the batch first.
      const inserted = await one.db
        .insertInto('secrets')
        .values({ id: 's_r/three', path: 'r/three', type: null, description: null, owner: null, tags: '{}', created_at: 1, updated_at: 1, deleted_at: null, purge_after: null, next_version: 1 })
        .returning('path')
        .executeTakeFirstOrThrow();
      expect(inserted.path).toBe('r/three');
      expect(await byPath.first(one, one.db, { path: 'r/two' })).toEqual({ path: 'r/two', next_version: 1 });
      await new Promise((r) => setImmediate(r));
      expect(raw.isTransaction).toBe(false);
    });
  });
});

describe('SQLite read cache', () => {
  const turn = () => new Promise((r) => setImmediate(r));

  it("answers again across turns while nothing changes; reads again after a write to a table it watches, another connection's commit, or inside a write transaction; not after a write elsewhere", async () => {
    await withTwoConnections(async (one, other) => {
      const cache = readCache<Array<{ path: string; next_version: number }>>({ tables: ['secrets'], maxEntries: 10, maxBytes: 1 << 20, bytesOf: () => 100 });
      let reads = 0;
      const get = () =>
        cache.get(one, 'k', () => {
          reads++;
          return byPath.rows(one, one.db, { path: 'c/one' });
        });
      /** After `write` and a turn: what a read answers, and how many times the cache has read. */
      const after = async (write: () => Promise<unknown>, nextVersion: number, expectedReads: number): Promise<void> => {
        await write();
        await turn();
        expect(await get()).toEqual([{ path: 'c/one', next_version: nextVersion }]);
        expect(reads).toBe(expectedReads);
      };
      await addSecretIn(one.db, 'c/one');
      expect(await get()).toEqual([{ path: 'c/one', next_version: 1 }]);
      await after(async () => undefined, 1, 1);
      // A write by this connection to a table it does not watch: still cached.
      await after(() => one.db.insertInto('kt_settings').values({ name: 'c', value: 'x' }).execute(), 1, 1);
      // A write by this connection to the table it watches (through a prepared statement too): read again.
      await after(() => bump.changes(one, one.db, { path: 'c/one', n: 2 }), 2, 2);
      // Another connection (the CLI beside a server) commits: the next turn reads again and sees it.
      await after(() => bump.changes(other, other.db, { path: 'c/one', n: 3 }), 3, 3);
      // Even a write to a table it does not watch, by another connection.
      await after(() => other.db.insertInto('kt_settings').values({ name: 'd', value: 'x' }).execute(), 3, 4);
      // Inside a write transaction its rows are not committed: no cached answer, nothing kept.
      await one.db.transaction().execute(async (trx) => {
        await bump.changes(one, trx, { path: 'c/one', n: 4 });
        expect(one.sqlite?.readVersion?.(['secrets'])).toBeUndefined();
        expect(await cache.get(one, 'k', () => byPath.rows(one, trx, { path: 'c/one' }))).toEqual([{ path: 'c/one', next_version: 4 }]);
      });
      await after(async () => undefined, 4, 5);
    });
  });

  it('reads every time on PostgreSQL (no token)', async () => {
    const t = await postgresState();
    try {
      await addSecretIn(t.state.db, 'p/one');
      const cache = readCache<unknown[]>({ tables: ['secrets'], maxEntries: 10, maxBytes: 1 << 20, bytesOf: () => 1 });
      let reads = 0;
      for (let i = 0; i < 3; i++) await cache.get(t.state, 'k', () => (reads++, byPath.rows(t.state, t.state.db, { path: 'p/one' })));
      expect(reads).toBe(3);
    } finally {
      await t.close();
    }
  });
});

describe('SQLite checkpoints in a worker thread', () => {
  it(`after ${BACKGROUND_CHECKPOINT_AFTER} commits, the WAL is copied into the database file by the worker, not by a commit`, async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'state.db');
    const state = await openState({ sqliteFile: file });
    try {
      for (let i = 0; i < BACKGROUND_CHECKPOINT_AFTER; i++) await transact(state.db, (trx) => addSecretIn(trx, `d/${i}`));
      const fileBefore = statSync(file).size;
      // About 2 MB more: far under the main connection's backstop (10,000 pages), so only the worker checkpoints it.
      const blob = 'x'.repeat(8000);
      for (let i = 0; i < 256; i++)
        await transact(state.db, async (trx) => {
          await addSecretIn(trx, `e/${i}`);
          await trx.updateTable('secrets').set({ description: blob }).where('path', '=', `e/${i}`).execute();
        });
      await expect.poll(() => statSync(file).size, { timeout: 20_000, interval: 50 }).toBeGreaterThan(fileBefore + 2_000_000);
    } finally {
      await state.close();
      tmp.remove();
    }
  });

  it('closing a database whose checkpointer runs keeps every commit', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'state.db');
    try {
      const state = await openState({ sqliteFile: file });
      for (let i = 0; i < BACKGROUND_CHECKPOINT_AFTER + 20; i++) await transact(state.db, (trx) => addSecretIn(trx, `f/${i}`));
      await state.close();
      const again = await openState({ sqliteFile: file });
      const n = await again.db
        .selectFrom('secrets')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(BACKGROUND_CHECKPOINT_AFTER + 20);
      await again.close();
    } finally {
      tmp.remove();
    }
  });
});
