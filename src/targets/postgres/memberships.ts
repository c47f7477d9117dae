/**
 * Role memberships (pg_auth_members) for `alternating-users`: reads a role's memberships and
 * makes the clone's equal to the primary's: grants the missing ones (with ADMIN OPTION when the
 * primary has it), revokes the extra ones, then reads them back and fails if they still differ
 * (PostgreSQL 16 only revokes memberships granted by the revoking role, so a grant made by
 * someone else must not pass silently).
 *
 * @example
 * ```ts
 * const changes = await syncMemberships(client, run, 'app', 'app_clone'); // statements issued
 * ```
 */
import type pg from 'pg';
import { KeyturnError } from '../../core/errors.js';
import type { PgRun } from './session.js';

/** Group role name → whether the member holds ADMIN OPTION on it. */
export type Memberships = Map<string, boolean>;

// One row per group role: PostgreSQL 16 can hold several grants of one role (one per grantor).
const MEMBERSHIPS_SQL = `
  SELECT g.rolname AS role, bool_or(m.admin_option) AS admin
  FROM pg_auth_members m
  JOIN pg_roles g ON g.oid = m.roleid
  JOIN pg_roles u ON u.oid = m.member
  WHERE u.rolname = $1
  GROUP BY g.rolname
  ORDER BY g.rolname`;

export async function readMemberships(run: PgRun, role: string): Promise<Memberships> {
  const { rows } = await run<{ role: string; admin: boolean }>(MEMBERSHIPS_SQL, [role], role, `read the memberships of "${role}"`);
  return new Map(rows.map((r) => [r.role, r.admin]));
}

/** The statements that turn `clone`'s memberships into `primary`'s. */
export function membershipStatements(client: Pick<pg.Client, 'escapeIdentifier'>, primary: Memberships, clone: Memberships, cloneName: string): string[] {
  const id = (name: string) => client.escapeIdentifier(name);
  const out: string[] = [];
  for (const [role, admin] of clone) {
    if (!primary.has(role)) out.push(`REVOKE ${id(role)} FROM ${id(cloneName)}`);
    else if (admin && !primary.get(role)) out.push(`REVOKE ADMIN OPTION FOR ${id(role)} FROM ${id(cloneName)}`);
  }
  for (const [role, admin] of primary) {
    if (!clone.has(role) || (admin && !clone.get(role))) out.push(`GRANT ${id(role)} TO ${id(cloneName)}${admin ? ' WITH ADMIN OPTION' : ''}`);
  }
  return out;
}

/** Syncs and verifies; returns the number of statements issued. */
export async function syncMemberships(client: Pick<pg.Client, 'escapeIdentifier'>, run: PgRun, primary: string, clone: string): Promise<number> {
  const want = await readMemberships(run, primary);
  // A role cannot be a member of itself: the primary's membership in the clone, if any, stays out.
  want.delete(clone);
  const statements = membershipStatements(client, want, await readMemberships(run, clone), clone);
  for (const sql of statements) await run(sql, [], clone, `sync the role memberships of "${clone}" from "${primary}"`);
  if (statements.length === 0) return 0;
  const left = membershipStatements(client, want, await readMemberships(run, clone), clone);
  if (left.length > 0) {
    throw new KeyturnError(
      'KT_TARGET_PERMISSION_DENIED',
      `the role memberships of "${clone}" still differ from "${primary}" after syncing (${left.length} left; a membership granted by another role cannot be revoked by the admin)`,
      {
        details: { target: 'postgres', username: clone },
      },
    );
  }
  return statements.length;
}
