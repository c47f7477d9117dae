/**
 * 0008: who a token stands for. `tokens.subject` names the person or workload (`alice`,
 * `ci:deploy`, `oidc:k8s:system:serviceaccount:prod:app`); two tokens of one subject are one
 * identity where distinct identities are required (break-glass approvals). Existing tokens keep
 * null, read as `token:<id>`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tokens').addColumn('subject', 'text').execute();
}
