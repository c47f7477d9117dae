/**
 * An in-memory fake target for fast engine tests: a real Target implementation whose users and
 * passwords live in a Map, with switches that make it refuse every set or test, go down, or fail
 * the next N calls of one kind, and a journal of the calls it got. It follows the Target
 * interface's rules (single-user changes the user's password; alternating-users creates the clone
 * and sets the standby's; a missing user, a foreign standby, a missing admin are the same errors
 * the real targets throw), so the engine cannot tell it from a server. It is not in the production
 * registry: `fakeApplied` hands it to an engine in place of the applied target. The real-server
 * tests (test/targets-*, crash, outage, zero-downtime) stay; this only makes the engine's
 * decisions cheap to test. It passes the Target contract itself (test/fake-target.test.ts).
 *
 * @example
 * ```ts
 * const fake = new FakeTarget({ app: 'First-pass-1' }, { username: 'kt_admin', password: 'Admin-pass-1' });
 * fake.failNext('set', 2);           // the next two sets: KT_TARGET_UNAVAILABLE
 * const engine = engineWith(kt, undefined, { applied: fakeApplied(kt.state, fake), clock });
 * await engine.rotate('app/db');     // retrying, attempt 2
 * fake.logsIn({ username: 'app', password: 'First-pass-1' }); // true: the set never happened
 * ```
 */
import { KeyturnError, type ErrorCode } from '../../src/core/errors.js';
import { AppliedConfig, type AppliedTarget } from '../../src/engine/applied.js';
import type { StateDb } from '../../src/state/db.js';
import { cloneUsername, type Credential, type PasswordLimits, type Strategy, type Target, type TargetContext } from '../../src/targets/target.js';

export type FakeOp = 'set' | 'test';

export interface FakeCall {
  op: FakeOp;
  username: string;
  /** What came of it: 'ok' or the error code thrown. */
  result: 'ok' | ErrorCode;
}

export class FakeTarget implements Target {
  readonly kind = 'fake';
  readonly strategies: readonly Strategy[] = ['single-user', 'alternating-users'];
  readonly passwordLimits: PasswordLimits = {};
  /** User name → password: the "server". */
  readonly users: Map<string, string>;
  /** User name → its memberships (what alternating-users copies from the primary to the clone). */
  readonly memberships = new Map<string, Set<string>>();
  /** Admin name → its password and whether it may change users (`set` checks `ctx.admin` against these). */
  readonly admins = new Map<string, { password: string; mayChangeUsers: boolean }>();
  /** Every call, in order. */
  readonly calls: FakeCall[] = [];
  /** Every set is refused: KT_TARGET_PERMISSION_DENIED. */
  refuseSet = false;
  /** Every test is refused: KT_TARGET_AUTH_FAILED, whatever the password. */
  refuseTest = false;
  /** The target is down: every call is KT_TARGET_UNAVAILABLE. */
  down = false;
  private readonly failures: Record<FakeOp, { left: number; code: ErrorCode }> = { set: { left: 0, code: 'KT_TARGET_UNAVAILABLE' }, test: { left: 0, code: 'KT_TARGET_UNAVAILABLE' } };

  constructor(users: Record<string, string> = {}, admin: Credential | null = null) {
    this.users = new Map(Object.entries(users));
    if (admin) this.admins.set(admin.username, { password: admin.password, mayChangeUsers: true });
  }

  /** The next `n` calls of `op` throw `code` (before changing anything). */
  failNext(op: FakeOp, n: number, code: ErrorCode = 'KT_TARGET_UNAVAILABLE'): void {
    this.failures[op] = { left: n, code };
  }

  /** Whether `cred` would log in now (no call recorded, no switch consulted but `down`). */
  logsIn(cred: Credential): boolean {
    return !this.down && this.users.get(cred.username) === cred.password;
  }

  /** The calls of one kind, as `username` list. */
  callsOf(op: FakeOp): string[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.username);
  }

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    await this.record(
      'set',
      next.username,
      () => {
        if (this.refuseSet) throw this.error('KT_TARGET_PERMISSION_DENIED', next.username, 'set the password');
        if (ctx.admin) {
          const admin = this.admins.get(ctx.admin.username);
          if (admin?.password !== ctx.admin.password) throw this.error('KT_TARGET_AUTH_FAILED', ctx.admin.username, 'log in as the admin');
          if (!admin.mayChangeUsers) throw this.error('KT_TARGET_PERMISSION_DENIED', next.username, 'change the user');
        }
        const primary = ctx.primaryUsername;
        if (ctx.strategy === 'alternating-users') {
          if (next.username !== primary && next.username !== cloneUsername(primary)) throw this.error('KT_TARGET_USERNAME_INVALID', next.username, 'pick the standby');
          if (!this.users.has(primary)) throw this.error('KT_TARGET_USER_MISSING', primary, 'find the primary user');
          if (!ctx.admin) throw this.error('KT_TARGET_ADMIN_REQUIRED', next.username, 'create the standby');
          this.memberships.set(next.username, new Set(this.memberships.get(primary)));
        } else {
          if (!this.users.has(next.username)) throw this.error('KT_TARGET_USER_MISSING', next.username, 'find the user');
          const currentWorks = current !== null && this.users.get(current.username) === current.password;
          // Without an admin the change is made as the user itself: it needs the current password (or is done already).
          if (!ctx.admin && !currentWorks && this.users.get(next.username) !== next.password)
            throw this.error(current ? 'KT_TARGET_AUTH_FAILED' : 'KT_TARGET_ADMIN_REQUIRED', next.username, 'set the password');
        }
        this.users.set(next.username, next.password);
      },
      ctx,
    );
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await this.record(
      'test',
      cred.username,
      () => {
        if (this.refuseTest || this.users.get(cred.username) !== cred.password) throw this.error('KT_TARGET_AUTH_FAILED', cred.username, 'log in');
      },
      ctx,
    );
  }

  private async record(op: FakeOp, username: string, act: () => void, ctx: TargetContext): Promise<void> {
    let result: FakeCall['result'] = 'ok';
    try {
      if (!this.strategies.includes(ctx.strategy)) throw this.error('KT_TARGET_STRATEGY_UNSUPPORTED', username, op);
      if (this.down || ctx.signal.aborted) throw this.error('KT_TARGET_UNAVAILABLE', username, op);
      const failure = this.failures[op];
      if (failure.left > 0) {
        failure.left -= 1;
        throw this.error(failure.code, username, op);
      }
      act();
    } catch (e) {
      result = (e as KeyturnError).code;
      throw e;
    } finally {
      this.calls.push({ op, username, result });
    }
  }

  private error(code: ErrorCode, username: string, action: string): KeyturnError {
    return new KeyturnError(code, `fake target: cannot ${action} for "${username}" (${code})`);
  }
}

/** The applied config of `state` (its policies) whose every target is `fake`, with the admin secret `adminPath`. */
export function fakeApplied(state: StateDb, fake: Target, adminPath: string | undefined = 'admin/db'): AppliedConfig {
  return new (class extends AppliedConfig {
    override target(name: string): Promise<AppliedTarget> {
      return Promise.resolve({ name, target: fake, adminPath });
    }
  })(state);
}
