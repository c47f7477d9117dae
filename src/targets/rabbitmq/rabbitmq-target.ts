/**
 * The RabbitMQ target: users of the internal database, changed through the management HTTP API
 * (the `rabbitmq_management` plugin) as an admin holding the `administrator` tag.
 *
 * - `single-user`: `GET /api/users/<user>`, then `PUT /api/users/<user>` with the new password
 *   and the user's own tags (a PUT replaces both). The user ends with the new password only:
 *   logins with the old one are refused from that instant; AMQP connections already open stay
 *   open. Without an admin, the user acts with its current credential, which works only when it
 *   holds the `administrator` tag itself (RabbitMQ has no self-service password change); when the
 *   new password already logs in, nothing is done, so a repeated call with a stale `current`
 *   still succeeds.
 * - `alternating-users`: the clone is created when missing WITHOUT a password (an empty password
 *   hash: it cannot log in), then its permissions on every virtual host and its topic permissions
 *   are made equal to the primary's (./permissions.ts: the extra removed, the missing or
 *   different set), read back and compared, and last one PUT gives it the new password and the
 *   primary's tags together. Re-synced on every call. The management API has no transactions: a
 *   call cut short leaves a clone without its new password or with permissions half-synced, and
 *   the next call finishes the job. Not synced: user limits (max-connections, max-channels).
 *
 * `test` opens an AMQP connection (amqplib) with the credential to the configured virtual host.
 * Passwords travel in a JSON body (any character is fine) and in the AMQP PLAIN handshake, which
 * must fit the 4096-byte frame a server accepts before tuning: passwords are capped at
 * 512 characters and user names at 255.
 *
 * @example
 * ```ts
 * const target = new RabbitmqTarget(rabbitmqConfigSchema.parse({ type: 'rabbitmq', host: '127.0.0.1', port: 5672 }));
 * await target.set(ctx, { username: 'app_clone', password: next }, { username: 'app', password: old });
 * await target.test(ctx, { username: 'app_clone', password: next });
 * ```
 */
import { assertStandby, assertStrategy, assertUsername, logsIn, requireAdmin, requireSelf } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { rabbitmqStrategies, type RabbitmqTargetConfig } from './config.js';
import { AccessParseError, parsePermissions, parseTags, parseTopicPermissions, syncRequests, type Access } from './permissions.js';
import { amqpLogin, managementEndpointOf, withManagement, type ManagementApi } from './session.js';

/** RabbitMQ sets no limit; with the password, a name must fit the handshake's first frame. */
const MAX_USERNAME_CHARS = 255;
/** Up to 4 UTF-8 bytes a character: 512 of them and a 255-character name fit a 4096-byte frame. */
const MAX_PASSWORD_CHARS = 512;

const enc = encodeURIComponent;

export class RabbitmqTarget implements Target {
  readonly kind = 'rabbitmq';
  readonly strategies: readonly Strategy[] = rabbitmqStrategies;
  readonly passwordLimits: PasswordLimits = { maxLength: MAX_PASSWORD_CHARS };

  constructor(private readonly config: RabbitmqTargetConfig) {}

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS);
    if (ctx.strategy === 'alternating-users') return this.setStandby(ctx, next);
    if (ctx.admin) return this.setPassword(ctx, ctx.admin, next);
    const self = requireSelf(this.kind, ctx, next, current);
    if (await logsIn(this, ctx, next)) {
      ctx.log.debug({ target: this.kind, username: next.username }, 'the new password already logs in');
      return;
    }
    await this.setPassword(ctx, self, next);
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await amqpLogin(this.config, cred, ctx.signal);
  }

  /** Sets the password of `next.username`, keeping its tags. */
  private async setPassword(ctx: TargetContext, admin: Credential, next: Credential): Promise<void> {
    const action = `set the password of "${next.username}"`;
    await withManagement(this.config, admin, ctx.signal, action, async (api) => {
      const user = await this.user(api, next.username);
      if (!user) throw this.missing(next.username, action);
      await this.putUser(api, next, user.tags);
    });
    ctx.log.debug({ target: this.kind, username: next.username }, 'password set');
  }

  private async setStandby(ctx: TargetContext, next: Credential): Promise<void> {
    const standby = next.username;
    const admin = requireAdmin(this.kind, ctx, `create and sync the standby user "${standby}"`);
    const { isClone } = assertStandby(this.kind, ctx, standby);
    const primary = ctx.primaryUsername;
    await withManagement(this.config, admin, ctx.signal, `rotate the standby user "${standby}"`, async (api) => {
      const source = await this.user(api, primary);
      if (!source) throw this.missing(primary, `copy its permissions to "${standby}"`);
      if (!isClone) {
        // Swapping back to the primary: only its password changes.
        await this.putUser(api, next, source.tags);
        return;
      }
      let created = false;
      if (!(await this.user(api, standby))) {
        // No password hash: the clone cannot log in before its permissions are synced.
        await api.send('PUT', `/users/${enc(standby)}`, { password_hash: '', tags: '' }, standby, `create the standby user "${standby}"`);
        created = true;
      }
      const want = await this.access(api, primary, source.tags);
      const requests = syncRequests(want, await this.access(api, standby, []), standby);
      const sync = `sync the permissions of "${standby}" from "${primary}"`;
      for (const r of requests) await api.send(r.method, r.path, r.body, standby, sync);
      if (requests.length > 0) {
        const left = syncRequests(want, await this.access(api, standby, []), standby);
        if (left.length > 0)
          throw targetError('KT_TARGET_FAILED', managementEndpointOf(this.config), { username: standby, action: sync }, undefined, `${left.length} permission differences remain after syncing`);
      }
      await this.putUser(api, next, source.tags);
      ctx.log.debug({ target: this.kind, username: standby, created, permissionChanges: requests.length }, 'standby user set');
    });
  }

  /** PUT /api/users/<user>: the password and the tags in one request. */
  private async putUser(api: ManagementApi, next: Credential, tags: readonly string[]): Promise<void> {
    await api.send('PUT', `/users/${enc(next.username)}`, { password: next.password, tags: tags.join(',') }, next.username, `set the password of "${next.username}"`, { settingPassword: true });
  }

  /** The user's tags, or null when it does not exist. */
  private async user(api: ManagementApi, name: string): Promise<{ tags: string[] } | null> {
    const action = `read the user "${name}"`;
    const json = await api.get(`/users/${enc(name)}`, name, action);
    if (json === null) return null;
    return { tags: this.parsed(name, action, () => parseTags(json)) };
  }

  /** The user's permissions and topic permissions, with `tags`. */
  private async access(api: ManagementApi, name: string, tags: readonly string[]): Promise<Access> {
    const action = `read the permissions of "${name}"`;
    const permissions = await api.get(`/users/${enc(name)}/permissions`, name, action);
    const topics = await api.get(`/users/${enc(name)}/topic-permissions`, name, action);
    if (permissions === null || topics === null) throw this.missing(name, action);
    return this.parsed(name, action, () => ({ tags, permissions: parsePermissions(permissions), topicPermissions: parseTopicPermissions(topics) }));
  }

  private parsed<T>(name: string, action: string, parse: () => T): T {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof AccessParseError)) throw e;
      throw targetError('KT_TARGET_FAILED', managementEndpointOf(this.config), { username: name, action }, undefined, `the management API's answer is not understood: ${e.message}`);
    }
  }

  private missing(username: string, action: string): Error {
    return targetError('KT_TARGET_USER_MISSING', managementEndpointOf(this.config), { username, action });
  }
}
