/**
 * 0010: OIDC issuers for `POST /v1/auth/oidc/login`. `oidc_issuers`: one row per configured issuer,
 * its name, the exact `iss` it accepts (unique: a JWT's `iss` picks at most one issuer), and its
 * YAML document (checked when stored: docs/access.md).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oidc_issuers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('issuer', 'text', (c) => c.notNull().unique())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
