/**
 * The check before a checkpoint in the background (src/audit/log.ts checkInBackground, the worker
 * src/audit/check-worker.ts): a group commit that makes a checkpoint due does not check and sign
 * inside its transaction; a worker thread reads the rows back on its own connection, and the
 * checkpoint is signed afterwards at the size that was checked. What is checked, and what a
 * problem does, stay as without it: nothing is signed over a changed row, and the next due append
 * fails with the problem. The worker is the built one (dist/audit/check-worker.js: `npm test`
 * builds first).
 */
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/log.js';
import { verifyStoredLog } from '../src/audit/stored-verify.js';
import { isKeyturnError } from '../src/core/errors.js';
import { postgresState, sqliteState, type TestState } from './helpers/state.js';

const CTX = { actor: 'token:tok_bench', source: 'api', correlationId: null };
const EVERY = 20;

/** `n` reads' events appended together, as a server's concurrent reads are (one group commit). */
async function reads(audit: AuditLog, n: number, from = 0): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => audit.append({ action: 'secret.read', outcome: 'success', path: `app/s${from + i}` })));
}

describe('the check before a checkpoint, in the background (SQLite)', () => {
  let t: TestState & { file: string };
  let audit: AuditLog;

  beforeEach(async () => {
    t = await sqliteState();
    audit = await AuditLog.open(t.state, t.ring, { context: CTX, checkpointEvery: EVERY });
    expect(audit.checkInBackground(), 'dist/audit/check-worker.js is built (npm run build)').toBe(true);
  });
  afterEach(async () => {
    await audit.stopBackgroundCheck();
    await t.close();
  });

  const sizes = async (): Promise<number[]> => (await audit.checkpoints()).map((c) => c.size);
  const headSize = async (): Promise<number> => (await audit.head()).size;

  it('the group that makes a checkpoint due commits without it; the checkpoint is signed afterwards at the size checked, and verifies', async () => {
    await reads(audit, EVERY + 5);
    // The group committed with the checkpoint still due: it is signed once the background check has ended.
    expect(await sizes()).toEqual([1]);
    await audit.whenChecked();
    expect(await sizes()).toEqual([1, EVERY + 6]);
    for (let k = 1; k <= 4; k++) {
      await reads(audit, EVERY, 100 * k);
      await audit.whenChecked();
    }
    const all = await sizes();
    expect(all).toHaveLength(6);
    expect(all.at(-1)).toBe(await headSize());
    expect((await audit.head()).checkpointSize).toBe(all.at(-1));
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, size: await headSize(), problems: [] });
  });

  it('appends go on while the check runs; a checkpoint signed meanwhile by `audit checkpoint` wins, and no second one is signed at a smaller size', async () => {
    await reads(audit, EVERY + 1);
    // Signed now, at the full size, in its own transaction (checked there): the background one finds it and signs nothing.
    const cp = await audit.checkpoint();
    await audit.whenChecked();
    expect(await sizes()).toEqual([1, cp.size]);
    expect(cp.size).toBe(await headSize());
    expect(await verifyStoredLog(audit)).toMatchObject({ ok: true, problems: [] });
  });

  it('a row changed before the background check: nothing is signed over it, and the next due append fails with KT_AUDIT_LEAF_CHANGED', async () => {
    await reads(audit, 5);
    // A keyless writer changes an uncovered row (its text) through another connection.
    const db = new DatabaseSync(t.file);
    try {
      db.prepare("UPDATE audit_leaves SET leaf = replace(leaf, 'app/s3', 'app/s9') WHERE seq = 4").run();
    } finally {
      db.close();
    }
    await reads(audit, EVERY, 100);
    await audit.whenChecked();
    expect(await sizes()).toEqual([1]);
    // Due, and the background check failed: the next append checks in its transaction and refuses, as without the worker.
    await expect(reads(audit, 1, 200)).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_LEAF_CHANGED') && /event 4 /.test(e.message));
    await expect(audit.checkpoint()).rejects.toSatisfy((e) => isKeyturnError(e, 'KT_AUDIT_LEAF_CHANGED'));
    expect(await sizes()).toEqual([1]);
  });

  it('more than twice checkpointEvery events uncovered (the worker is behind): the append checks and signs in its transaction', async () => {
    await reads(audit, 2 * EVERY + 3);
    // One group over the bound: signed inside that group's transaction, at its size.
    expect(await sizes()).toEqual([1, 2 * EVERY + 4]);
    await audit.whenChecked();
    expect(await sizes()).toEqual([1, 2 * EVERY + 4]);
  });

  it('appends inside a caller transaction check and sign there, as before', async () => {
    await t.state.db.transaction().execute(async (trx) => {
      await audit.appendBatch(
        Array.from({ length: EVERY }, (_, i) => ({ action: 'secret.put' as const, outcome: 'success' as const, path: `app/w${i}` })),
        trx,
      );
    });
    expect(await sizes()).toEqual([1, EVERY + 1]);
  });

  it('after the worker stops, due checkpoints are checked in the appending transaction again', async () => {
    await audit.stopBackgroundCheck();
    await reads(audit, EVERY);
    expect(await sizes()).toEqual([1, EVERY + 1]);
  });
});

describe('where the background check is not offered', () => {
  let t: TestState;
  afterEach(async () => t.close());

  it('PostgreSQL: checkInBackground says no, and checkpoints are signed in the appending transaction', async () => {
    t = await postgresState();
    const audit = await AuditLog.open(t.state, t.ring, { context: CTX, checkpointEvery: EVERY });
    expect(audit.checkInBackground()).toBe(false);
    await reads(audit, EVERY);
    expect((await audit.checkpoints()).map((c) => c.size)).toEqual([1, EVERY + 1]);
  });
});
