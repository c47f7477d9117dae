/**
 * The PostgreSQL target.
 *
 * - `single-user`: with an admin, `ALTER ROLE <user> PASSWORD ...` on the admin's connection;
 *   without one, the user logs in with its current password and changes its own
 *   (`ALTER ROLE CURRENT_USER`). When the new password already logs in, nothing is done, so a
 *   repeated call with a stale `current` still succeeds.
 * - `alternating-users`: in one transaction on the admin's connection, the standby
 *   (`<user>_clone`) is created LOGIN when missing, its role memberships are made equal to the
 *   primary's (grant missing, revoke extra), and its password is set. A crash leaves either the
 *   old world or the new one, never a clone with a password and half its memberships.
 *
 * The admin's connection is kept open between calls (./admin-sessions.ts; `close()` ends it);
 * logins and a user's own password change always use a fresh connection.
 *
 * Passwords travel as SCRAM-SHA-256 verifiers computed here (see ./scram.ts), so the plain value
 * never reaches the server's statement log. Identifiers go through `escapeIdentifier`, literals
 * through `escapeLiteral`. The admin needs CREATEROLE (PostgreSQL 15: enough to create roles,
 * change non-superuser passwords and grant memberships in non-superuser roles).
 *
 * @example
 * ```ts
 * const target = new PostgresTarget({ type: 'postgres', host: '127.0.0.1', port: 5432, database: 'app' });
 * await target.set(ctx, { username: 'app_clone', password: next }, { username: 'app', password: old });
 * await target.test(ctx, { username: 'app_clone', password: next });
 * ```
 */
import { assertStandby, assertStrategy, assertUsername, logsIn, requireAdmin, requireSelf } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { postgresStrategies, type PostgresTargetConfig } from './config.js';
import { AdminSessions } from './admin-sessions.js';
import { syncMemberships } from './memberships.js';
import { passwordSql } from './scram.js';
import { endpointOf, withPgClient } from './session.js';

/** NAMEDATALEN - 1: longer names are silently truncated by the server, so they are refused. */
const MAX_NAME_BYTES = 63;

export class PostgresTarget implements Target {
  readonly kind = 'postgres';
  readonly strategies: readonly Strategy[] = postgresStrategies;
  /** No character is unsafe (verifiers or escaped literals); SCRAM sends no password, so no length cap. */
  readonly passwordLimits: PasswordLimits = {};

  private readonly admins: AdminSessions;

  constructor(private readonly config: PostgresTargetConfig) {
    this.admins = new AdminSessions(config);
  }

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_NAME_BYTES, { measure: (s) => Buffer.byteLength(s, 'utf8') });
    if (ctx.strategy === 'alternating-users') return this.setStandby(ctx, next);
    if (ctx.admin) return this.setAsAdmin(ctx, ctx.admin, next);
    return this.setOwnPassword(ctx, next, current);
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await withPgClient(this.config, cred, ctx.signal, 'log in', (_client, run) => run('SELECT 1', [], cred.username, 'run SELECT 1'));
  }

  /** Ends the admin connection kept between calls. */
  async close(): Promise<void> {
    await this.admins.close();
  }

  private async setAsAdmin(ctx: TargetContext, admin: Credential, next: Credential): Promise<void> {
    const action = `set the password of "${next.username}"`;
    await this.admins.use(admin, ctx.signal, action, async (client, run) => {
      await run(`ALTER ROLE ${client.escapeIdentifier(next.username)} PASSWORD ${await passwordSql(client, next.password)}`, [], next.username, action);
    });
    ctx.log.debug({ target: this.kind, username: next.username }, 'password set by the admin');
  }

  private async setOwnPassword(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    const self = requireSelf(this.kind, ctx, next, current);
    if (await logsIn(this, ctx, next)) {
      ctx.log.debug({ target: this.kind, username: next.username }, 'the new password already logs in');
      return;
    }
    const action = `change its own password`;
    await withPgClient(this.config, self, ctx.signal, action, async (client, run) => {
      await run(`ALTER ROLE CURRENT_USER PASSWORD ${await passwordSql(client, next.password)}`, [], next.username, action);
    });
  }

  private async setStandby(ctx: TargetContext, next: Credential): Promise<void> {
    const admin = requireAdmin(this.kind, ctx, `create and sync the standby user "${next.username}"`);
    const { isClone } = assertStandby(this.kind, ctx, next.username);
    const primary = ctx.primaryUsername;
    const standby = next.username;
    await this.admins.use(admin, ctx.signal, `rotate the standby user "${standby}"`, async (client, run) => {
      await run('BEGIN', [], standby, 'begin a transaction');
      try {
        const exists = async (role: string) => (await run('SELECT 1 FROM pg_roles WHERE rolname = $1', [role], role, `look up "${role}"`)).rowCount === 1;
        if (!(await exists(primary))) throw targetError('KT_TARGET_USER_MISSING', endpointOf(this.config), { username: primary, action: `copy its memberships to "${standby}"` });
        const id = client.escapeIdentifier(standby);
        const password = await passwordSql(client, next.password);
        let created = false;
        if (isClone && !(await exists(standby))) {
          await run(`CREATE ROLE ${id} LOGIN PASSWORD ${password}`, [], standby, `create the standby user "${standby}"`);
          created = true;
        }
        const changes = isClone ? await syncMemberships(client, run, primary, standby) : 0;
        if (!created) await run(`ALTER ROLE ${id}${isClone ? ' WITH LOGIN' : ''} PASSWORD ${password}`, [], standby, `set the password of "${standby}"`);
        await run('COMMIT', [], standby, 'commit the transaction');
        ctx.log.debug({ target: this.kind, username: standby, created, membershipChanges: changes }, 'standby user set');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }
}
