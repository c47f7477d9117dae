/**
 * 0003: the tamper-evident audit log (see src/audit/ and docs/audit.md).
 *
 * - `audit_leaves`: one row per event, append-only: seq (the leaf index), event id
 *   (`ev_<seq>_<hash prefix>`, found through seq: no index of its own), the RFC 8785 leaf text
 *   exactly as hashed, its RFC 6962 leaf hash (base64) and the event time (epoch ms).
 * - `audit_head`: one row (id 1), updated in the transaction of every append: size, the last
 *   leaf hash (the next event's `prev`), the Merkle compact range, when the last event and the
 *   last checkpoint were written. On PostgreSQL appenders serialize on it with `FOR UPDATE`.
 * - `audit_checkpoints`: the signed checkpoints (C2SP signed notes), one per tree size.
 * - `audit_keys`: the Ed25519 checkpoint signer and the HMAC keys, each sealed by the key ring.
 * - `audit_sink_cursors`: per sink, the next seq to deliver and the last delivery error.
 *
 * On SQLite `seq` is an INTEGER PRIMARY KEY (the 64-bit rowid, no extra index); on PostgreSQL a bigint.
 */
import { SqliteAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable('audit_leaves')
    .addColumn('seq', sqlite ? 'integer' : 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('leaf', 'text', (c) => c.notNull())
    .addColumn('leaf_hash', 'text', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_leaves_time').on('audit_leaves').column('time').execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('prev', 'text', (c) => c.notNull())
    .addColumn('nodes', 'text', (c) => c.notNull())
    .addColumn('last_event_at', 'bigint')
    .addColumn('checkpoint_size', 'bigint', (c) => c.notNull())
    .addColumn('checkpoint_at', 'bigint')
    .execute();
  await sql`insert into audit_head (id, size, prev, nodes, last_event_at, checkpoint_size, checkpoint_at) values (1, 0, ${'0'.repeat(64)}, '', null, 0, null)`.execute(db);

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('size', sqlite ? 'integer' : 'bigint', (c) => c.primaryKey())
    .addColumn('root', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('public', 'text')
    .addColumn('data_key_id', 'text', (c) => c.notNull())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_sink_cursors')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('next_seq', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
