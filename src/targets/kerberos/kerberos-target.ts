/**
 * The Kerberos target: principals of an MIT Kerberos KDC whose keys derive from a password. The
 * credential is `{ username: principal, password }` (`app` or `svc/host`, the realm added when
 * missing). Everything goes through MIT's own tools (./session.ts), passwords on their stdin.
 *
 * - `single-user`: `kadmin cpw` (remote kadmin as `ctx.admin`, or `kadmin.local` with
 *   `kadminLocal`) gives the principal new keys from the new password, with a new kvno; the old
 *   keys are gone. Without an admin the principal changes its own password with `kpasswd`
 *   (current password first); when the new password already gets a ticket nothing is done.
 * - `dual-key`: `kadmin cpw -keepold` adds the new password's keys as a new kvno and keeps the
 *   old kvno's keys; `revoke` drops an old kvno with `purgekeys -keepkvno <its kvno + 1>` (that kvno
 *   and any older one). MIT's KDC answers a password login (AS request) with the NEWEST kvno's
 *   keys only, so from `set` on only the new password gets a ticket from `kinit`. What the old
 *   kvno keeps working for is what Kerberos keeps old keys for: a service whose keytab holds it
 *   still accepts the tickets issued under it before the change, until revoke. So in dual-key,
 *   `test` of a password that no longer gets a ticket checks whether the KDC still holds its keys
 *   at an older kvno (the keys extracted with `ktadd -norandkey`, compared with the ones ktutil
 *   derives from the password and the KDC's salt): held means it works, gone means refused.
 *   The newest kvno cannot be dropped while older ones remain (MIT has no such operation): a
 *   `revoke` of it is KT_TARGET_FAILED, unless it is the principal's only key (then `cpw
 *   -randkey`: a key nobody holds).
 * - `keytab`: after `set` and `revoke`, the keys the KDC holds for the principal (dual-key: the new
 *   kvno and, until revoke, the previous one) are extracted with `ktadd -norandkey` into a private
 *   folder and written to the keytab path atomically (temp file, mode, rename).
 *
 * Extracting keys (dual-key's `test` fallback and `revoke`, and `keytab`) needs kadmin.local or
 * an admin with kadmind's `e` (extract-keys) privilege.
 *
 * `test` runs `kinit` for the principal into a throwaway credential cache. Errors carry the tool's
 * name only (./errors.ts).
 *
 * @example
 * ```ts
 * const target = new KerberosTarget(kerberosConfigSchema.parse({ type: 'kerberos', realm: 'EXAMPLE.ORG', host: 'kdc.example.org' }));
 * await target.set(ctx, { username: 'app', password: next }, { username: 'app', password: old });
 * await target.test(ctx, { username: 'app', password: next });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modeBits } from '../../consumers/file/config.js';
import { writeFileAtomic } from '../../consumers/file/atomic-write.js';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import { adminRequired, assertStrategy, assertUsername, requireSelf } from '../checks.js';
import { targetError, type Attempt } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { kerberosStrategies, type KerberosTargetConfig } from './config.js';
import { fullPrincipal, isPrincipalName, matchingKvnos, newestKvno, parseKeys, type KeyEntry } from './keys.js';
import { endpointOf, withKerberos, type Workspace } from './session.js';

/** A line on a tool's prompt: no line breaks or NUL; MIT's prompts read at most 1023 bytes. */
const MAX_PASSWORD_CHARS = 256;

export class KerberosTarget implements Target {
  readonly kind = 'kerberos';
  readonly strategies: readonly Strategy[] = kerberosStrategies;
  readonly passwordLimits: PasswordLimits = { maxLength: MAX_PASSWORD_CHARS };

  constructor(private readonly config: KerberosTargetConfig) {}

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    const principal = this.principal(next.username);
    const action = `set the password of "${next.username}"`;
    this.assertPassword(next, action);
    const admin = this.config.kadminLocal === true || ctx.admin !== null;
    if (!admin && (ctx.strategy === 'dual-key' || this.config.keytab))
      throw adminRequired(this.kind, ctx, ctx.strategy === 'dual-key' ? `add a key to "${next.username}"` : `write the keytab of "${next.username}"`);
    await withKerberos(this.config, ctx.signal, action, async (ws) => {
      if (ctx.strategy === 'dual-key') {
        // The new password already getting a ticket means its keys are the newest kvno: done (a repeat adds no kvno).
        if (await this.getsTicket(ws, principal, next)) ctx.log.debug({ target: this.kind, username: next.username }, 'the new key is already the newest');
        else await this.kadmin(ws, ctx, `cpw -keepold ${principal}`, [next.password, next.password], { username: next.username, action: `add a key to "${next.username}"` });
      } else if (admin) {
        await this.kadmin(ws, ctx, `cpw ${principal}`, [next.password, next.password], { username: next.username, action });
      } else {
        const self = requireSelf(this.kind, ctx, next, current);
        // A retry after a crash may hold a stale current: the new password getting a ticket already means done.
        if (await this.getsTicket(ws, principal, next)) return;
        this.assertPassword(self, 'change its own password');
        await ws.run('kpasswd', [principal], [self.password, next.password, next.password], { username: next.username, action: 'change its own password' }, next.username);
      }
      await this.writeKeytab(ctx, ws, principal, next.username);
    });
    ctx.log.debug({ target: this.kind, username: next.username, strategy: ctx.strategy }, 'password set');
  }

  /**
   * Ends `cred`'s keys: the kvno that holds them and any older one are purged; the newer ones
   * stay. A password whose keys are gone already is success. See the module comment for the
   * newest kvno.
   */
  async revoke(ctx: TargetContext, cred: Credential): Promise<void> {
    const principal = this.principal(cred.username);
    const action = `remove a key of "${cred.username}"`;
    if (this.config.kadminLocal !== true && ctx.admin === null) throw adminRequired(this.kind, ctx, action);
    await withKerberos(this.config, ctx.signal, action, async (ws) => {
      const attempt = { username: cred.username, action };
      const held = await this.heldKeys(ws, ctx, principal, attempt);
      if (held === null || held.length === 0 || !this.passwordUsable(cred)) return;
      const kvnos = matchingKvnos(held, await this.derivedKeys(ws, principal, cred.password, held, attempt));
      if (kvnos.length === 0) return;
      const kvno = kvnos[0]!;
      const newest = newestKvno(held);
      if (kvno < newest) {
        await this.kadmin(ws, ctx, `purgekeys -keepkvno ${kvno + 1} ${principal}`, [], attempt);
      } else if (held.every((k) => k.kvno === kvno)) {
        // Its only key: a random one nobody holds takes its place.
        await this.kadmin(ws, ctx, `cpw -randkey ${principal}`, [], attempt);
      } else {
        throw targetError('KT_TARGET_FAILED', endpointOf(this.config), attempt, undefined, "MIT Kerberos cannot drop a principal's newest key while it keeps older ones");
      }
      ctx.log.debug({ target: this.kind, username: cred.username, kvno }, 'key removed');
      await this.writeKeytab(ctx, ws, principal, cred.username);
    });
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    const principal = this.principal(cred.username);
    const attempt = { username: cred.username, action: 'log in' };
    if (!this.passwordUsable(cred)) throw targetError('KT_TARGET_AUTH_FAILED', endpointOf(this.config), attempt, undefined);
    await withKerberos(this.config, ctx.signal, 'log in', async (ws) => {
      try {
        await this.kinit(ws, principal, cred);
      } catch (e) {
        // dual-key: a password whose keys the KDC still holds at an older kvno works (see the module comment).
        if (!isKeyturnError(e, 'KT_TARGET_AUTH_FAILED') || ctx.strategy !== 'dual-key' || (this.config.kadminLocal !== true && ctx.admin === null)) throw e;
        const held = await this.heldKeys(ws, ctx, principal, { username: cred.username, action: 'read the keys of the principal' });
        if (held === null || held.length === 0) throw e;
        const kvnos = matchingKvnos(held, await this.derivedKeys(ws, principal, cred.password, held, attempt));
        if (kvnos.length === 0) throw e;
        ctx.log.debug({ target: this.kind, username: cred.username, kvno: kvnos[0] }, 'no ticket for this password, but the KDC still holds its keys at an older kvno');
      }
    });
  }

  private principal(username: string): string {
    assertUsername(this.kind, username, 256, { noSpaces: true });
    if (!isPrincipalName(username)) {
      throw new KeyturnError('KT_TARGET_USERNAME_INVALID', `the kerberos principal name must be name[/instance][@REALM] of letters, digits, ".", "_" and "-"`, {
        details: { target: this.kind },
      });
    }
    return fullPrincipal(username, this.config.realm);
  }

  /** A password a prompt line can carry: not empty, no line break or NUL, at most MAX_PASSWORD_CHARS. */
  private passwordUsable(cred: Credential): boolean {
    return cred.password !== '' && !/[\r\n\0]/.test(cred.password) && [...cred.password].length <= MAX_PASSWORD_CHARS;
  }

  private assertPassword(cred: Credential, action: string): void {
    if (!this.passwordUsable(cred))
      throw targetError(
        'KT_TARGET_PASSWORD_REJECTED',
        endpointOf(this.config),
        { username: cred.username, action },
        undefined,
        `empty, over ${MAX_PASSWORD_CHARS} characters, or holding a line break or NUL`,
      );
  }

  private async kinit(ws: Workspace, principal: string, cred: Credential): Promise<void> {
    await ws.run('kinit', [principal], [cred.password], { username: cred.username, action: 'log in' }, cred.username);
  }

  /** True when the password gets a ticket; false when the KDC refuses it; other failures propagate. */
  private async getsTicket(ws: Workspace, principal: string, cred: Credential): Promise<boolean> {
    try {
      await this.kinit(ws, principal, cred);
      return true;
    } catch (e) {
      if (isKeyturnError(e, 'KT_TARGET_AUTH_FAILED')) return false;
      throw e;
    }
  }

  /** Runs one kadmin query: kadmin.local, or remote kadmin authenticating as the admin (its password the first stdin line). */
  private async kadmin(ws: Workspace, ctx: TargetContext, query: string, secrets: readonly string[], attempt: Attempt): Promise<string> {
    if (this.config.kadminLocal === true) return (await ws.run('kadmin.local', ['-r', this.config.realm, '-q', query], secrets, attempt, 'kadmin.local')).stdout;
    const admin = ctx.admin;
    if (!admin) throw adminRequired(this.kind, ctx, attempt.action);
    const adminPrincipal = this.principal(admin.username);
    if (!this.passwordUsable(admin)) throw targetError('KT_TARGET_AUTH_FAILED', endpointOf(this.config), { username: admin.username, action: attempt.action });
    const server = `${this.config.adminHost ?? this.config.host}:${this.config.adminPort}`;
    const args = ['-r', this.config.realm, '-s', server, '-p', adminPrincipal, '-q', query];
    return (await ws.run('kadmin', args, [admin.password, ...secrets], attempt, admin.username)).stdout;
  }

  /** Extracts the principal's keys (every kvno the KDC holds) into a keytab in the private folder; null when the principal does not exist. */
  private async extract(ws: Workspace, ctx: TargetContext, principal: string, attempt: Attempt): Promise<string | null> {
    const file = join(ws.dir, `keys-${randomBytes(6).toString('hex')}.keytab`);
    try {
      await this.kadmin(ws, ctx, `ktadd -norandkey -k ${file} ${principal}`, [], attempt);
    } catch (e) {
      if (isKeyturnError(e, 'KT_TARGET_USER_MISSING')) return null;
      throw e;
    }
    return file;
  }

  private async heldKeys(ws: Workspace, ctx: TargetContext, principal: string, attempt: Attempt): Promise<KeyEntry[] | null> {
    const file = await this.extract(ws, ctx, principal, attempt);
    if (file === null) return null;
    return parseKeys((await ws.run('klist', ['-k', '-K', '-e', `FILE:${file}`], [], attempt, attempt.username)).stdout);
  }

  /** The keys `password` derives to (with the KDC's salt), for each encryption type in `like`. */
  private async derivedKeys(ws: Workspace, principal: string, password: string, like: readonly KeyEntry[], attempt: Attempt): Promise<KeyEntry[]> {
    const enctypes = [...new Set(like.map((k) => k.enctype))];
    // Each addent prompts for the password (the next stdin line); -f asks the KDC for the salt.
    const lines = enctypes.flatMap((e) => [`addent -password -p ${principal} -k 1 -e ${e} -f`, password]);
    const out = await ws.run('ktutil', [], [...lines, 'list -e -k', 'quit'], attempt, attempt.username);
    return parseKeys(out.stdout);
  }

  /** With `keytab` configured: the keys the KDC holds for the principal, written there atomically. */
  private async writeKeytab(ctx: TargetContext, ws: Workspace, principal: string, username: string): Promise<void> {
    const keytab = this.config.keytab;
    if (!keytab) return;
    const attempt = { username, action: `write the keytab of "${username}"` };
    const file = await this.extract(ws, ctx, principal, attempt);
    if (file === null) throw targetError('KT_TARGET_USER_MISSING', endpointOf(this.config), attempt);
    const owner = keytab.owner ? { uid: keytab.owner.uid, gid: keytab.owner.gid ?? -1 } : undefined;
    const written = await writeFileAtomic(keytab.path, await readFile(file), modeBits(keytab), owner).catch((e: unknown) => {
      throw targetError('KT_TARGET_FAILED', endpointOf(this.config), attempt, (e as { code?: string }).code, `cannot write ${keytab.path}`);
    });
    ctx.log.debug({ target: this.kind, username, keytab: keytab.path, written }, 'keytab written');
  }
}
