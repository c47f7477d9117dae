/**
 * The MySQL/MariaDB target. Accounts are `'user'@'<userHost>'` (config, default '%').
 *
 * - `single-user`: with an admin, `ALTER USER ... IDENTIFIED BY ...`; without one, the user logs
 *   in with its current password and changes its own (MariaDB `SET PASSWORD = PASSWORD(...)`,
 *   MySQL `ALTER USER CURRENT_USER() ... REPLACE ...`). When the new password already logs in,
 *   nothing is done, so a repeated call with a stale `current` still succeeds.
 * - `alternating-users`: the clone is created when missing with the same host part, LOCKED, so
 *   it cannot log in before its grants are synced. On every call its grants are made equal to the
 *   primary's (`SHOW GRANTS` of both, see ./grants.ts: revoke the extra, grant the missing, then
 *   read back and compare), and last `ALTER USER ... IDENTIFIED BY ... ACCOUNT UNLOCK`. MySQL DDL
 *   is not transactional: a call cut short leaves the old password or a locked clone, and the
 *   next call finishes the job. Not synced: REQUIRE (TLS) options and resource limits.
 *
 * Literals are quoted for a NO_BACKSLASH_ESCAPES session (./quote.ts), so every character is
 * safe in a password. MariaDB sets no maximum password length (mysql_native_password hashes
 * it; 100 000 characters were checked on 10.11), so none is declared.
 *
 * @example
 * ```ts
 * const target = new MysqlTarget(mysqlConfigSchema.parse({ type: 'mysql', host: '127.0.0.1', port: 3306 }));
 * await target.set(ctx, { username: 'app_clone', password: next }, { username: 'app', password: old });
 * ```
 */
import { isKeyturnError } from '../../core/errors.js';
import { assertStandby, assertStrategy, assertUsername, logsIn, requireAdmin, requireSelf } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { mysqlStrategies, type MysqlTargetConfig } from './config.js';
import { GrantParseError, grantSyncStatements, parseGrants, type Grants } from './grants.js';
import { account, sqlString } from './quote.js';
import { endpointOf, withMysql, type MysqlRun } from './session.js';

/** MariaDB's limit (mysql.global_priv.User); MySQL's is 32 and the server refuses longer ones itself. */
const MAX_USERNAME_CHARS = 128;

export class MysqlTarget implements Target {
  readonly kind = 'mysql';
  readonly strategies: readonly Strategy[] = mysqlStrategies;
  readonly passwordLimits: PasswordLimits = {};

  constructor(private readonly config: MysqlTargetConfig) {}

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS);
    if (ctx.strategy === 'alternating-users') return this.setStandby(ctx, next);
    if (ctx.admin) return this.setAsAdmin(ctx, ctx.admin, next);
    return this.setOwnPassword(ctx, next, current);
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await withMysql(this.config, cred, ctx.signal, { action: 'log in' }, (run) => run('SELECT 1', cred.username, 'run SELECT 1'));
  }

  private acct(user: string): string {
    return account(user, this.config.userHost);
  }

  private async setAsAdmin(ctx: TargetContext, admin: Credential, next: Credential): Promise<void> {
    const action = `set the password of "${next.username}"`;
    await withMysql(this.config, admin, ctx.signal, { action, literals: true }, async (run) => {
      await run(`ALTER USER ${this.acct(next.username)} IDENTIFIED BY ${sqlString(next.password)}`, next.username, action);
    });
  }

  private async setOwnPassword(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    const self = requireSelf(this.kind, ctx, next, current);
    if (await logsIn(this, ctx, next)) return;
    const action = 'change its own password';
    await withMysql(this.config, self, ctx.signal, { action, literals: true }, async (run) => {
      const [row] = await run('SELECT VERSION() AS v', self.username, action);
      const mariadb = String(row?.v ?? '').includes('MariaDB');
      const sql = mariadb ? `SET PASSWORD = PASSWORD(${sqlString(next.password)})` : `ALTER USER CURRENT_USER() IDENTIFIED BY ${sqlString(next.password)} REPLACE ${sqlString(self.password)}`;
      await run(sql, self.username, action);
    });
  }

  private async setStandby(ctx: TargetContext, next: Credential): Promise<void> {
    const standby = next.username;
    const admin = requireAdmin(this.kind, ctx, `create and sync the standby user "${standby}"`);
    const { isClone } = assertStandby(this.kind, ctx, standby);
    const primary = ctx.primaryUsername;
    const password = sqlString(next.password);
    await withMysql(this.config, admin, ctx.signal, { action: `rotate the standby user "${standby}"`, literals: true }, async (run) => {
      const primaryGrants = await this.grantsOf(run, primary);
      if (!primaryGrants) throw targetError('KT_TARGET_USER_MISSING', endpointOf(this.config), { username: primary, action: `copy its grants to "${standby}"` });
      if (!isClone) {
        await run(`ALTER USER ${this.acct(standby)} IDENTIFIED BY ${password}`, standby, `set the password of "${standby}"`);
        return;
      }
      let cloneGrants = await this.grantsOf(run, standby);
      if (!cloneGrants) {
        await run(`CREATE USER ${this.acct(standby)} IDENTIFIED BY ${password} ACCOUNT LOCK`, standby, `create the standby user "${standby}"`);
        cloneGrants = (await this.grantsOf(run, standby))!;
      }
      const statements = grantSyncStatements(primaryGrants, cloneGrants, this.acct(standby));
      const action = `sync the grants of "${standby}" from "${primary}"`;
      for (const sql of statements) await run(sql, standby, action);
      if (statements.length > 0) {
        const left = grantSyncStatements(primaryGrants, (await this.grantsOf(run, standby))!, this.acct(standby));
        if (left.length > 0) throw targetError('KT_TARGET_FAILED', endpointOf(this.config), { username: standby, action }, undefined, `${left.length} grant differences remain after syncing`);
      }
      await run(`ALTER USER ${this.acct(standby)} IDENTIFIED BY ${password} ACCOUNT UNLOCK`, standby, `set the password of "${standby}"`);
      ctx.log.debug({ target: this.kind, username: standby, grantChanges: statements.length }, 'standby user set');
    });
  }

  /** The parsed grants of `user`, or null when the account does not exist. */
  private async grantsOf(run: MysqlRun, user: string): Promise<Grants | null> {
    let rows: Record<string, unknown>[];
    try {
      rows = await run(`SHOW GRANTS FOR ${this.acct(user)}`, user, `read the grants of "${user}"`);
    } catch (e) {
      if (isKeyturnError(e, 'KT_TARGET_USER_MISSING')) return null;
      throw e;
    }
    try {
      return parseGrants(rows.map((r) => String(Object.values(r)[0])));
    } catch (e) {
      if (!(e instanceof GrantParseError)) throw e;
      throw targetError('KT_TARGET_FAILED', endpointOf(this.config), { username: user, action: `read the grants of "${user}"` }, undefined, `line ${e.lineNumber} of SHOW GRANTS is not understood`);
    }
  }
}
