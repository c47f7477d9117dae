/**
 * The ssh target: the key pair an account logs in with over SSH. The credential is
 * `{ username, password }` where `password` is the account's PRIVATE key as text (OpenSSH or
 * PEM, see ./keys.ts); `newSecret` makes a fresh Ed25519 one, and the public key is derived from
 * it whenever needed. The target changes the account's authorized_keys file (`authorizedKeysPath`)
 * by running a small POSIX sh program over SSH (./authorized-keys.ts: the key on its stdin, the
 * file replaced atomically with mode 0600 and its owner kept), as `ctx.admin` (`{ username,
 * password: the admin's private key }`, normally root) or, without an admin, as the account
 * itself with its current key.
 *
 * - `dual-key`: `set` appends the new public key (once: a key already there is not added again);
 *   the old key keeps working. `revoke` removes exactly the lines holding that key (a key already
 *   gone is success). The engine's cleanup revokes the old key after the policy's `grace`, and a
 *   failed run revokes the key it added. Without an admin, `revoke` logs in with the very key it
 *   removes (refused: it is gone already).
 * - `single-user`: `set` adds the new key and removes the current one's line in one rewrite of
 *   the file: the old key is refused from then on. Without an admin the account does it with its
 *   current key, or with the new one when the current is already refused (a retry after a crash).
 *
 * `test` logs in with the key and runs `true`. Errors: a refused key is KT_TARGET_AUTH_FAILED,
 * no connection KT_TARGET_UNAVAILABLE, an account `id` does not know KT_TARGET_USER_MISSING, a
 * login that cannot write the file KT_TARGET_PERMISSION_DENIED, a host key other than `hostKey`
 * KT_TARGET_CONFIG_INVALID.
 *
 * @example
 * ```ts
 * const target = new SshTarget(sshConfigSchema.parse({ type: 'ssh', host: 'web1', hostKey: 'SHA256:...' }));
 * const next = { username: 'deploy', password: target.newSecret() };
 * await target.set(ctx, next, current);
 * await target.test(ctx, next);
 * ```
 */
import { KeyturnError, isKeyturnError } from '../../core/errors.js';
import { assertStrategy, requireSelf } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { editCommand, isSshUsername, type KeyEdit } from './authorized-keys.js';
import { sshStrategies, type SshTargetConfig } from './config.js';
import { editError } from './errors.js';
import { BadKeyError, newPrivateKey, publicKeyOf, type PublicKey } from './keys.js';
import { endpointOf, withSsh } from './session.js';

export class SshTarget implements Target {
  readonly kind = 'ssh';
  readonly strategies: readonly Strategy[] = sshStrategies;
  readonly passwordLimits: PasswordLimits = {};

  constructor(private readonly config: SshTargetConfig) {}

  /** A fresh Ed25519 private key, OpenSSH text. */
  newSecret(): string {
    return newPrivateKey();
  }

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    this.assertUsername(next.username);
    const action = `add a key to "${next.username}"`;
    const key = await this.publicKey(next, 'KT_TARGET_PASSWORD_REJECTED', action);
    let remove: string | null = null;
    if (ctx.strategy === 'single-user' && current && current.username === next.username) {
      const old = await this.publicKey(current, 'KT_TARGET_FAILED', action).catch(() => null);
      if (old && old.blob !== key.blob) remove = old.blob;
    }
    const edit: KeyEdit = { add: key.line, remove };
    if (ctx.admin) {
      await this.edit(ctx, ctx.admin, next.username, edit, action);
    } else {
      // The account edits its own file: with its current key, or the new one once the current is refused.
      const self = requireSelf(this.kind, ctx, next, current);
      try {
        await this.edit(ctx, self, next.username, edit, action);
      } catch (e) {
        if (!isKeyturnError(e, 'KT_TARGET_AUTH_FAILED') || e.details?.username !== self.username) throw e;
        await this.edit(ctx, next, next.username, edit, action);
      }
    }
    ctx.log.debug({ target: this.kind, username: next.username, key: key.fingerprint, removed: remove !== null }, 'authorized key set');
  }

  /** Removes the lines holding `cred`'s public key from its account's authorized_keys; a key already gone is success. */
  async revoke(ctx: TargetContext, cred: Credential): Promise<void> {
    this.assertUsername(cred.username);
    const action = `remove a key of "${cred.username}"`;
    const key = await this.publicKey(cred, 'KT_TARGET_FAILED', action);
    const edit: KeyEdit = { add: null, remove: key.blob };
    try {
      await this.edit(ctx, ctx.admin ?? cred, cred.username, edit, action);
    } catch (e) {
      // No such account, or (without an admin) the key itself refused: nothing left to remove.
      if (isKeyturnError(e, 'KT_TARGET_USER_MISSING')) return;
      if (!ctx.admin && isKeyturnError(e, 'KT_TARGET_AUTH_FAILED')) return;
      throw e;
    }
    ctx.log.debug({ target: this.kind, username: cred.username, key: key.fingerprint }, 'authorized key revoked');
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    this.assertUsername(cred.username);
    await withSsh(this.config, cred, ctx.signal, 'log in', async (run) => {
      const r = await run('true', '', 'run true');
      if (r.code !== 0) throw targetError('KT_TARGET_FAILED', endpointOf(this.config), { username: cred.username, action: 'run true' }, r.code === null ? 'killed' : `exit ${r.code}`);
    });
  }

  /** Runs the authorized_keys program for `username`'s file, logged in as `login`. */
  private async edit(ctx: TargetContext, login: Credential, username: string, edit: KeyEdit, action: string): Promise<void> {
    const { command, stdin } = editCommand(username, this.config.authorizedKeysPath, edit);
    await withSsh(this.config, login, ctx.signal, action, async (run) => {
      const r = await run(command, stdin, action);
      if (r.code !== 0) throw editError(r.code, endpointOf(this.config), { username, action }, login.username);
    });
  }

  private async publicKey(cred: Credential, code: 'KT_TARGET_PASSWORD_REJECTED' | 'KT_TARGET_FAILED', action: string): Promise<PublicKey> {
    try {
      return await publicKeyOf(cred.password);
    } catch (e) {
      if (!(e instanceof BadKeyError)) throw e;
      throw targetError(code, endpointOf(this.config), { username: cred.username, action }, 'key', `the credential's private key is ${e.message}`);
    }
  }

  private assertUsername(username: string): void {
    if (!isSshUsername(username)) {
      throw new KeyturnError('KT_TARGET_USERNAME_INVALID', 'the ssh user name must be a portable account name (letters, digits, ".", "_", "-", not first; at most 64)', {
        details: { target: this.kind },
      });
    }
  }
}
