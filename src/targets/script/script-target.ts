/**
 * The script target: any system a command can change, through `set`, `test` and optionally
 * `revoke` commands from keyturn.yaml (MSSQL or MongoDB users, service accounts, keytabs, ...).
 * The commands run without a shell; passwords reach them in KEYTURN_* environment variables or
 * as JSON on stdin, never on the command line (./config.ts refuses a template that would try).
 *
 * - `single-user`: `set` gets the user (`KEYTURN_USERNAME`, the same as `KEYTURN_CURRENT_USERNAME`)
 *   and its new password; the current one and the admin's when known.
 * - `alternating-users`: `set` gets the standby user (`<primary>` or `<primary>_clone`, checked
 *   here) and `KEYTURN_PRIMARY_USERNAME`; creating the clone and re-syncing its rights from the
 *   primary on every call is the command's job.
 * - `test` logs in with the credential and probes; `revoke` (when configured) makes the credential
 *   stop working; without it the engine's cleanup calls `set` with a password nobody holds.
 *
 * Each call is bounded by `timeoutMs` and the context's signal (the command's process group is
 * killed). The exit code says what went wrong (see `DEFAULT_EXIT_CODES`): the command, not
 * Keyturn, decides whether it needs an admin (exit 8). `set` must be idempotent: a retried
 * rotation runs it again with the same new password.
 *
 * @example
 * ```ts
 * const target = new ScriptTarget(scriptConfigSchema.parse({ type: 'script', set: ['/usr/local/bin/pw', 'set'], test: ['/usr/local/bin/pw', 'test'] }));
 * await target.set(ctx, { username: 'app', password: next }, { username: 'app', password: old });
 * ```
 */
import { assertStandby, assertStrategy, assertUsername, requireSelf } from '../checks.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { scriptStrategies, type ScriptTargetConfig } from './config.js';
import { runScript } from './session.js';

/** No system's limit: this keeps names sane. */
const MAX_USERNAME_CHARS = 512;

export class ScriptTarget implements Target {
  readonly kind = 'script';
  readonly strategies: readonly Strategy[] = scriptStrategies;
  readonly passwordLimits: PasswordLimits;
  /** Present only when the config has a `revoke` command (the engine then calls it instead of `set`). */
  readonly revoke?: (ctx: TargetContext, cred: Credential) => Promise<void>;

  constructor(private readonly config: ScriptTargetConfig) {
    this.passwordLimits = { ...(config.passwordLimits ?? {}) };
    if (config.revoke) this.revoke = (ctx, cred) => this.runRevoke(ctx, cred);
  }

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS);
    if (ctx.strategy === 'alternating-users') assertStandby(this.kind, ctx, next.username);
    else if (current && !ctx.admin) requireSelf(this.kind, ctx, next, current);
    const input = { strategy: ctx.strategy, primaryUsername: ctx.primaryUsername, credential: next, current, admin: ctx.admin };
    await runScript(this.config, 'set', input, ctx, `set the password of "${next.username}"`);
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    assertUsername(this.kind, cred.username, MAX_USERNAME_CHARS);
    const input = { strategy: ctx.strategy, primaryUsername: ctx.primaryUsername, credential: cred, current: null, admin: null };
    await runScript(this.config, 'test', input, ctx, 'log in');
  }

  private async runRevoke(ctx: TargetContext, cred: Credential): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, cred.username, MAX_USERNAME_CHARS);
    const input = { strategy: ctx.strategy, primaryUsername: ctx.primaryUsername, credential: cred, current: null, admin: ctx.admin };
    await runScript(this.config, 'revoke', input, ctx, `revoke the password of "${cred.username}"`);
  }
}
