/**
 * 0020: `value_hmacs`, the index `keyturn scan` links a found value to a managed secret with:
 * one row per (keyed hash, version, field) of a stored value, the same `hmac-sha256:<key id>:<base64>`
 * that the version's `secret.put` event carries (`field` ''), plus, for a fields value written
 * since this migration, one row per field's own value (`field` its name). Filled in each put's
 * transaction (src/scan/link/value-index.ts); never a value, only keyed hashes.
 *
 * Backfilled here from the audit log: every successful `secret.put` event with a valueHmac gives
 * its whole-value row. Per-field rows cannot be backfilled (that would mean opening every value):
 * a fields value written before this migration is found by its whole value only.
 */
import { sql, type Kysely } from 'kysely';

const PAGE = 2000;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('value_hmacs')
    .addColumn('value_hmac', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('value_hmacs_pk', ['value_hmac', 'path', 'version_id', 'field'])
    .execute();
  await db.schema.createIndex('value_hmacs_version').on('value_hmacs').columns(['path', 'version_id']).execute();

  // Backfill from the audit log's secret.put events, a page of leaves at a time.
  for (let after = -1; ;) {
    const rows = await sql<{ seq: number | string; leaf: string }>`SELECT seq, leaf FROM audit_leaves WHERE seq > ${after} ORDER BY seq LIMIT ${PAGE}`.execute(db);
    if (rows.rows.length === 0) break;
    const values: { value_hmac: string; path: string; version_id: string; field: string; created_at: number }[] = [];
    for (const row of rows.rows) {
      after = Number(row.seq);
      if (!row.leaf.includes('"action":"secret.put"') || !row.leaf.includes('"valueHmac":"hmac-sha256:')) continue;
      let e: { action?: unknown; outcome?: unknown; path?: unknown; versionId?: unknown; valueHmac?: unknown; time?: unknown };
      try {
        e = JSON.parse(row.leaf) as typeof e;
      } catch {
        continue;
      }
      if (e.action !== 'secret.put' || e.outcome !== 'success' || typeof e.path !== 'string' || typeof e.versionId !== 'string' || typeof e.valueHmac !== 'string') continue;
      values.push({ value_hmac: e.valueHmac, path: e.path, version_id: e.versionId, field: '', created_at: Date.parse(String(e.time)) || 0 });
    }
    for (let i = 0; i < values.length; i += 200) {
      await (db as Kysely<{ value_hmacs: (typeof values)[number] }>)
        .insertInto('value_hmacs')
        .values(values.slice(i, i + 200))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }
}
