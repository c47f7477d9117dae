/**
 * The Redis target: ACL users (Redis >= 6).
 *
 * - `single-user`: `ACL SETUSER <user> resetpass >new` in one command. The user ends with exactly
 *   one password, the new one: the old one is refused from that instant, as with PostgreSQL's
 *   ALTER ROLE. Connections already authenticated stay authenticated (Redis checks passwords only
 *   at AUTH/HELLO), so running clients keep working until they reconnect; clients that connect
 *   with the old password before their consumer got the new one are refused. Keeping the old
 *   password as well would leave an unknown number of passwords on the user after a crash or
 *   a rollback; the strategies that keep the old login alive are `alternating-users` and `dual-key`.
 * - `alternating-users`: the standby gets the primary's ACL rules (flags, commands, keys,
 *   channels, selectors from `ACL GETUSER`, see ./acl.ts) and its new password in ONE
 *   `ACL SETUSER <clone> <reset rules> <rules> on >new`: atomic, so the clone is never seen half-synced,
 *   and re-synced on every call. The result is read back and compared.
 * - `dual-key`: `ACL SETUSER <user> >new` adds the new password next to the user's others, so the
 *   old one keeps working; `revoke` removes one by its SHA-256 (`ACL SETUSER <user> !<hash>`), only
 *   if the user still has it. The engine's cleanup revokes the old password after `grace`, and a
 *   failed run revokes the one it added, so the user ends with the passwords the store knows.
 *
 * ACL changes live in memory: with an ACL file they are saved (`ACL SAVE`) before `set` returns;
 * without one the change is lost on restart (logged as a warning), and the previous password
 * comes back, which the store still knows. The admin is `ctx.admin`, else the default user
 * without a password. Passwords are sent as command arguments (hashed by Redis): any character
 * and length is fine.
 *
 * @example
 * ```ts
 * const target = new RedisTarget({ type: 'redis', host: '127.0.0.1', port: 6379 });
 * await target.set(ctx, { username: 'app_clone', password: next }, { username: 'app', password: old });
 * ```
 */
import { createHash } from 'node:crypto';
import { isKeyturnError } from '../../core/errors.js';
import { assertStandby, assertStrategy, assertUsername } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { cloneRules, parseAclUser, RESET_RULES, samePermissions, type AclUser } from './acl.js';
import { redisStrategies, type RedisTargetConfig } from './config.js';
import { endpointOf, withRedis, type RedisCall } from './session.js';

/** Redis sets no limit; this keeps names sane. */
const MAX_USERNAME_CHARS = 512;

export class RedisTarget implements Target {
  readonly kind = 'redis';
  readonly strategies: readonly Strategy[] = redisStrategies;
  readonly passwordLimits: PasswordLimits = {};

  constructor(private readonly config: RedisTargetConfig) {}

  async set(ctx: TargetContext, next: Credential, _current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS, { noSpaces: true });
    const standby = next.username;
    const action = `set the password of "${standby}"`;
    const isClone = ctx.strategy === 'alternating-users' && assertStandby(this.kind, ctx, standby).isClone;
    await withRedis(this.config, ctx.admin, ctx.signal, action, async (call) => {
      if (ctx.strategy === 'alternating-users') {
        // The standby copies the primary, which must exist whichever of the two is changed.
        const primary = ctx.primaryUsername;
        const source = await this.user(call, primary);
        if (!source) throw this.missing(primary, `copy its ACL rules to "${standby}"`);
        if (isClone) {
          const sync = `sync the ACL rules of "${standby}" from "${primary}"`;
          await call(['ACL', 'SETUSER', standby, ...RESET_RULES, ...cloneRules(source), 'on', `>${next.password}`], standby, sync);
          const copy = await this.user(call, standby);
          if (!copy || !samePermissions(source, copy)) {
            throw targetError('KT_TARGET_FAILED', endpointOf(this.config), { username: standby, action: sync }, undefined, "the ACL rules read back differ from the primary's");
          }
          return this.persist(ctx, call, standby);
        }
      } else if (!(await this.user(call, standby))) {
        throw this.missing(standby, action);
      }
      if (ctx.strategy === 'dual-key') {
        // Added next to the user's other passwords (adding one it has already changes nothing); the old one goes at revoke.
        await call(['ACL', 'SETUSER', standby, `>${next.password}`], standby, `add a password to "${standby}"`);
        return this.persist(ctx, call, standby);
      }
      // single-user, or alternating-users swapping back to the primary: only the password changes.
      await call(['ACL', 'SETUSER', standby, 'resetpass', `>${next.password}`], standby, action);
      await this.persist(ctx, call, standby);
    });
  }

  /**
   * Removes `cred`'s password from its user, by its SHA-256 (`!<hash>`: the password itself is not
   * sent), only when the user still has it; the user's other passwords stay.
   */
  async revoke(ctx: TargetContext, cred: Credential): Promise<void> {
    assertUsername(this.kind, cred.username, MAX_USERNAME_CHARS, { noSpaces: true });
    const action = `remove a password of "${cred.username}"`;
    await withRedis(this.config, ctx.admin, ctx.signal, action, async (call) => {
      const user = await this.user(call, cred.username);
      if (!user) return;
      const hash = createHash('sha256').update(cred.password, 'utf8').digest('hex');
      if (!user.passwords.includes(hash)) return;
      await call(['ACL', 'SETUSER', cred.username, `!${hash}`], cred.username, action);
      await this.persist(ctx, call, cred.username);
    });
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await withRedis(this.config, cred, ctx.signal, 'log in', async (call) => {
      try {
        await call(['PING'], cred.username, 'run PING');
      } catch (e) {
        // AUTH succeeded: a user whose rules leave out PING still logs in.
        if (!isKeyturnError(e, 'KT_TARGET_PERMISSION_DENIED')) throw e;
      }
    });
  }

  private async user(call: RedisCall, name: string): Promise<AclUser | null> {
    return parseAclUser(await call(['ACL', 'GETUSER', name], name, `read the ACL rules of "${name}"`));
  }

  private missing(username: string, action: string): Error {
    return targetError('KT_TARGET_USER_MISSING', endpointOf(this.config), { username, action });
  }

  /** `ACL SAVE` when the server has an ACL file; a warning when it has none or cannot tell. */
  private async persist(ctx: TargetContext, call: RedisCall, username: string): Promise<void> {
    let aclfile: string;
    try {
      const reply = await call(['CONFIG', 'GET', 'aclfile'], username, 'find the ACL file');
      aclfile = Array.isArray(reply) ? String(reply[1] ?? '') : '';
    } catch (e) {
      if (!isKeyturnError(e, 'KT_TARGET_PERMISSION_DENIED')) throw e;
      ctx.log.warn({ target: this.kind, username }, 'the Redis admin may not run CONFIG GET: if the server uses an ACL file, run ACL SAVE or the change is lost on restart');
      return;
    }
    if (aclfile === '') {
      ctx.log.warn({ target: this.kind, username }, 'Redis has no ACL file: the change lives in memory (and in redis.conf only after CONFIG REWRITE); a restart brings back the previous password');
      return;
    }
    await call(['ACL', 'SAVE'], username, 'save the ACL file');
  }
}
