/**
 * 0005: MACs that make the audit log's unsigned rows unforgeable without a key Keyturn holds
 * (see docs/audit.md, "Between checkpoints"):
 *
 * - `audit_leaves.leaf_mac`: HMAC-SHA-256 of the row's leaf hash under the audit MAC key
 *   (`audit_keys` kind `mac`, sealed by the key ring); NULL for rows written before this migration.
 * - `audit_head.head_mac`: the same key's HMAC over the head row (size, last leaf hash, compact
 *   range, times); NULL until the log is first opened by a version that has the key.
 * - `audit_checkpoints.nodes`: the compact range at the checkpoint's size (base64, as in
 *   `audit_head.nodes`), from which the events after it are re-verified before the next signing;
 *   NULL for checkpoints signed before this migration.
 *
 * The key itself is created when the log is opened (AuditLog.open): a migration never holds the root key.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_leaves').addColumn('leaf_mac', 'text').execute();
  await db.schema.alterTable('audit_head').addColumn('head_mac', 'text').execute();
  await db.schema.alterTable('audit_checkpoints').addColumn('nodes', 'text').execute();
}
