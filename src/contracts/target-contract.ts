/**
 * The Target contract: every target (postgres, mysql, redis, generic, ...) runs this suite
 * against its real server. A test may be skipped only by its exact name and with a reason, which
 * is printed in the test name; a skip naming no test of the suite throws (./skips.ts).
 *
 * Each implementation supplies `make`, a fixture (its kind's one in test/fixtures/targets/) that can create and drop users and
 * "memberships" on the server (PostgreSQL group roles, MySQL privileges, Redis ACL rules) and read
 * a user's memberships back in a form where a primary and a faithful clone compare equal. Every
 * test uses fresh, uniquely named users and drops them afterwards. Every failure is caught and
 * checked for the passwords in play (message, details, JSON form, stack), and every log line the
 * target writes is checked the same way.
 *
 * @example
 * ```ts
 * runTargetContract({
 *   name: 'redis',
 *   strategies: ['single-user', 'alternating-users'],
 *   make: redisFixture, // test/fixtures/targets/redis.ts
 *   skip: { 'alternating-users: needs an admin': 'admin null is the default user, which needs no password here' },
 * });
 * ```
 */
import { createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { contractTests } from './skips.js';
import { isKeyturnError, type ErrorCode } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { STRATEGIES, cloneUsername, type Credential, type Strategy, type Target, type TargetContext } from '../targets/target.js';
import { newPassword, uniqueName } from './names.js';
import { caught, errorText } from './consumer-contract.js';

export interface TargetFixture {
  readonly target: Target;
  /** The same target at another port of 127.0.0.1, with a connect timeout of 1 s (null when there is no server). */
  readonly atPort: ((port: number) => Target) | null;
  /** The admin credential `set` gets (null: the target's own default, e.g. Redis's default user). */
  readonly admin: Credential | null;
  /** Creates a login user with this password and at least one membership. */
  createUser(username: string, password: string): Promise<void>;
  /** Drops the user if it exists. */
  dropUser(username: string): Promise<void>;
  /** A new membership the suite can grant (a group role, a privilege, an ACL rule). */
  newMembership(): Promise<string>;
  grant(username: string, membership: string): Promise<void>;
  /** The user's memberships, normalized (user names left out) so a primary and its clone compare equal. */
  memberships(username: string): Promise<string[]>;
  /** An admin credential that lacks the rights `set` needs (dropped by `close`). */
  weakAdmin?(): Promise<Credential>;
  /**
   * dual-key (required there): what the user holds on the target that none of `stored` is (Redis: a
   * password's SHA-256; Kerberos: a kvno whose keys no stored password derives to; SSH: an
   * authorized_keys line no stored key matches); empty when they account for every key.
   */
  unknownKeys?(username: string, stored: readonly Credential[]): Promise<string[]>;
  /** Drops what the fixture made (memberships, weak admins) and closes its connections. */
  close(): Promise<void>;
}

export interface TargetContractSpec {
  name: string;
  /** The strategies the target must declare; the suite runs the tests of each. */
  strategies: readonly Strategy[];
  make(): Promise<TargetFixture>;
  /** Test name → reason it cannot run against this target. */
  skip?: Record<string, string>;
}

/** A TCP port on 127.0.0.1 where nothing listens (bound, read, released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function runTargetContract(spec: TargetContractSpec): void {
  describe(`Target contract: ${spec.name}`, () => {
    let fx: TargetFixture;
    const users: string[] = [];
    /** Every password used in the current test: none may show in an error or a log line. */
    const secrets: string[] = [];
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = createLogger('trace', sink);

    beforeAll(async () => {
      fx = await spec.make();
    });
    afterAll(async () => {
      await fx?.close();
    });
    afterEach(async () => {
      for (const u of users.splice(0)) await fx.dropUser(u);
      const logs = logLines.splice(0).join('');
      for (const s of secrets.splice(0)) expect(logs.includes(s), 'a password reached a log line').toBe(false);
    });

    const { test, checkSkips } = contractTests(`Target contract: ${spec.name}`, spec.skip);

    function ctx(strategy: Strategy, primaryUsername: string, overrides: Partial<TargetContext> = {}): TargetContext {
      return { strategy, admin: fx.admin, primaryUsername, log, signal: AbortSignal.timeout(20_000), ...overrides };
    }

    /** A password for this test, remembered so no error or log line may show it. */
    function password(tricky = false): string {
      // A target whose credentials are not passwords (an SSH key) makes its own.
      const p = fx.target.newSecret ? fx.target.newSecret() : newPassword(tricky);
      secrets.push(p);
      return p;
    }

    async function user(pass: string): Promise<Credential> {
      const username = uniqueName();
      users.push(username, cloneUsername(username));
      await fx.createUser(username, pass);
      return { username, password: pass };
    }

    /** Asserts `fn` throws a KeyturnError with `code` whose every text is free of this test's passwords. */
    async function expectTargetError(fn: () => Promise<unknown>, code: ErrorCode): Promise<void> {
      const e = await caught(fn);
      if (!isKeyturnError(e)) throw e;
      expect(e.code).toBe(code);
      const text = errorText(e);
      for (const s of secrets) expect(text.includes(s), `${code} shows a password`).toBe(false);
    }

    async function works(strategy: Strategy, cred: Credential): Promise<void> {
      await fx.target.test(ctx(strategy, cred.username), cred);
    }

    async function refused(strategy: Strategy, cred: Credential): Promise<void> {
      await expectTargetError(() => fx.target.test(ctx(strategy, cred.username), cred), 'KT_TARGET_AUTH_FAILED');
    }

    test('declares its strategies and password limits', async () => {
      expect([...fx.target.strategies].sort()).toEqual([...spec.strategies].sort());
      const { maxLength, excludeChars } = fx.target.passwordLimits;
      if (maxLength !== undefined) expect(Number.isInteger(maxLength) && maxLength >= 16).toBe(true);
      if (excludeChars !== undefined) expect(typeof excludeChars).toBe('string');
    });

    test('refuses a strategy it does not support', async () => {
      const other = STRATEGIES.find((s) => !fx.target.strategies.includes(s))!;
      const cred = { username: uniqueName(), password: password() };
      await expectTargetError(() => fx.target.set(ctx(other, cred.username), cred, null), 'KT_TARGET_STRATEGY_UNSUPPORTED');
    });

    if (spec.strategies.includes('simple')) {
      test('simple: set and test succeed, twice in a row', async () => {
        const next = { username: 'app', password: password() };
        for (let i = 0; i < 2; i++) {
          await fx.target.set(ctx('simple', 'app'), next, { username: 'app', password: password() });
          await fx.target.test(ctx('simple', 'app'), next);
        }
      });
    }

    if (spec.strategies.includes('single-user')) {
      const S = 'single-user';

      test('single-user: the new password logs in and the old one is refused', async () => {
        const old = await user(password());
        await works(S, old);
        const next = { username: old.username, password: password() };
        await fx.target.set(ctx(S, old.username), next, old);
        await works(S, next);
        await refused(S, old);
      });

      test('single-user: set is idempotent', async () => {
        const old = await user(password());
        const next = { username: old.username, password: password() };
        await fx.target.set(ctx(S, old.username), next, old);
        await fx.target.set(ctx(S, old.username), next, old);
        await works(S, next);
        await refused(S, old);
      });

      test('single-user: a password with quotes, backslashes and specials logs in', async () => {
        const old = await user(password());
        const { excludeChars = '', maxLength } = fx.target.passwordLimits;
        let tricky = [...password(true)].filter((c) => !excludeChars.includes(c)).join('');
        if (maxLength !== undefined) tricky = tricky.slice(-maxLength);
        secrets.push(tricky);
        const next = { username: old.username, password: tricky };
        await fx.target.set(ctx(S, old.username), next, old);
        await works(S, next);
        await refused(S, old);
      });

      test('single-user: a wrong password fails test with KT_TARGET_AUTH_FAILED', async () => {
        const cred = await user(password());
        await refused(S, { username: cred.username, password: password() });
        await refused(S, { username: uniqueName(), password: password() });
        await works(S, cred);
      });

      test('single-user: without an admin, set works from the current credential, and repeats with it once stale', async () => {
        const old = await user(password());
        const next = { username: old.username, password: password() };
        const noAdmin = ctx(S, old.username, { admin: null });
        await fx.target.set(noAdmin, next, old);
        await works(S, next);
        await refused(S, old);
        // A retry after a crash still holds the old current: the new password already works, so this succeeds.
        await fx.target.set(noAdmin, next, old);
        await works(S, next);
      });

      test('single-user: without an admin or a current credential, set needs an admin', async () => {
        const old = await user(password());
        await expectTargetError(() => fx.target.set(ctx(S, old.username, { admin: null }), { username: old.username, password: password() }, null), 'KT_TARGET_ADMIN_REQUIRED');
        await works(S, old);
      });

      test('single-user: a user that does not exist is KT_TARGET_USER_MISSING', async () => {
        const ghost = uniqueName();
        users.push(ghost);
        await expectTargetError(() => fx.target.set(ctx(S, ghost), { username: ghost, password: password() }, null), 'KT_TARGET_USER_MISSING');
        await refused(S, { username: ghost, password: password() });
      });

      test('single-user: an admin whose password is refused is KT_TARGET_AUTH_FAILED and changes nothing', async () => {
        const old = await user(password());
        // A real admin with a wrong password, or (no admin: the default user, which may be nopass) an unknown user.
        const badAdmin = { username: fx.admin?.username ?? uniqueName('kt_admin'), password: password() };
        await expectTargetError(() => fx.target.set(ctx(S, old.username, { admin: badAdmin }), { username: old.username, password: password() }, old), 'KT_TARGET_AUTH_FAILED');
        await works(S, old);
      });

      test('single-user: an admin without the right is KT_TARGET_PERMISSION_DENIED and changes nothing', async () => {
        if (!fx.weakAdmin) throw new Error('the fixture has no weakAdmin: skip this test with a reason');
        const weak = await fx.weakAdmin();
        secrets.push(weak.password);
        const old = await user(password());
        await expectTargetError(() => fx.target.set(ctx(S, old.username, { admin: weak }), { username: old.username, password: password() }, old), 'KT_TARGET_PERMISSION_DENIED');
        await works(S, old);
      });
    }

    if (spec.strategies.includes('dual-key')) {
      const D = 'dual-key';

      test('dual-key: set adds the new credential and the old one keeps working', async () => {
        const old = await user(password());
        const next = { username: old.username, password: password() };
        await fx.target.set(ctx(D, old.username), next, old);
        await works(D, next);
        await works(D, old);
      });

      test('dual-key: set is idempotent', async () => {
        expect(typeof fx.unknownKeys, 'a dual-key fixture must say which keys a user holds (unknownKeys)').toBe('function');
        const old = await user(password());
        const next = { username: old.username, password: password() };
        await fx.target.set(ctx(D, old.username), next, old);
        const once = await fx.unknownKeys!(old.username, [old]);
        await fx.target.set(ctx(D, old.username), next, old);
        await works(D, next);
        await works(D, old);
        // The second set added nothing: the user holds the old and the new key, and the same keys as after one set.
        expect(await fx.unknownKeys!(old.username, [old, next])).toEqual([]);
        expect(await fx.unknownKeys!(old.username, [old])).toEqual(once);
        // And one revoke of the old key leaves the new one alone.
        await fx.target.revoke!(ctx(D, old.username), old);
        await refused(D, old);
        await works(D, next);
      });

      test('dual-key: revoke ends the old credential only; the new one keeps working; revoke again is a no-op', async () => {
        expect(typeof fx.target.revoke, 'a dual-key target must have revoke').toBe('function');
        const old = await user(password());
        const next = { username: old.username, password: password() };
        await fx.target.set(ctx(D, old.username), next, old);
        await fx.target.revoke!(ctx(D, old.username), old);
        await refused(D, old);
        await works(D, next);
        await fx.target.revoke!(ctx(D, old.username), old);
        await works(D, next);
      });

      test('dual-key: a user that does not exist is KT_TARGET_USER_MISSING on set', async () => {
        const ghost = { username: uniqueName(), password: password() };
        users.push(ghost.username);
        await expectTargetError(() => fx.target.set(ctx(D, ghost.username), ghost, null), 'KT_TARGET_USER_MISSING');
      });
    }

    if (spec.strategies.includes('alternating-users')) {
      const A = 'alternating-users';

      test("alternating-users: the first set creates the clone with the primary's memberships; the primary keeps working", async () => {
        const primary = await user(password());
        const clone = { username: cloneUsername(primary.username), password: password() };
        await refused(A, clone);
        await fx.target.set(ctx(A, primary.username), clone, primary);
        await works(A, clone);
        await works(A, primary);
        const want = await fx.memberships(primary.username);
        expect(want.length).toBeGreaterThan(0);
        expect(await fx.memberships(clone.username)).toEqual(want);
      });

      test('alternating-users: set re-syncs the clone after the primary gains a membership and after the clone gains one', async () => {
        const primary = await user(password());
        let clone = { username: cloneUsername(primary.username), password: password() };
        await fx.target.set(ctx(A, primary.username), clone, primary);

        await fx.grant(primary.username, await fx.newMembership());
        expect(await fx.memberships(clone.username)).not.toEqual(await fx.memberships(primary.username));
        clone = { ...clone, password: password() };
        await fx.target.set(ctx(A, primary.username), clone, primary);
        expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(primary.username));

        await fx.grant(clone.username, await fx.newMembership());
        expect(await fx.memberships(clone.username)).not.toEqual(await fx.memberships(primary.username));
        clone = { ...clone, password: password() };
        await fx.target.set(ctx(A, primary.username), clone, primary);
        expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(primary.username));
        await works(A, clone);
        await works(A, primary);
      });

      test('alternating-users: set is idempotent', async () => {
        const primary = await user(password());
        const clone = { username: cloneUsername(primary.username), password: password() };
        await fx.target.set(ctx(A, primary.username), clone, primary);
        const after = await fx.memberships(clone.username);
        await fx.target.set(ctx(A, primary.username), clone, primary);
        expect(await fx.memberships(clone.username)).toEqual(after);
        await works(A, clone);
        await works(A, primary);
      });

      test('alternating-users: the next rotation changes the primary and leaves the clone working', async () => {
        const primary = await user(password());
        const clone = { username: cloneUsername(primary.username), password: password() };
        await fx.target.set(ctx(A, primary.username), clone, primary);
        const again = { username: primary.username, password: password() };
        await fx.target.set(ctx(A, primary.username), again, clone);
        await works(A, again);
        await refused(A, primary);
        await works(A, clone);
        expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(primary.username));
      });

      test('alternating-users: a standby that is neither the primary nor its clone is refused', async () => {
        const primary = await user(password());
        const bystander = await user(password());
        await expectTargetError(() => fx.target.set(ctx(A, primary.username), { username: bystander.username, password: password() }, primary), 'KT_TARGET_USERNAME_INVALID');
        await works(A, bystander);
      });

      test('alternating-users: a missing primary is KT_TARGET_USER_MISSING and no clone appears', async () => {
        const ghost = uniqueName();
        users.push(ghost, cloneUsername(ghost));
        const clone = { username: cloneUsername(ghost), password: password() };
        await expectTargetError(() => fx.target.set(ctx(A, ghost), clone, null), 'KT_TARGET_USER_MISSING');
        await refused(A, clone);
      });

      test('alternating-users: needs an admin', async () => {
        const primary = await user(password());
        const clone = { username: cloneUsername(primary.username), password: password() };
        await expectTargetError(() => fx.target.set(ctx(A, primary.username, { admin: null }), clone, primary), 'KT_TARGET_ADMIN_REQUIRED');
        await refused(A, clone);
      });
    }

    const login = spec.strategies.find((s) => s !== 'simple') ?? 'simple';

    test('an unreachable target fails set and test with KT_TARGET_UNAVAILABLE', async () => {
      if (!fx.atPort) throw new Error('the fixture has no atPort: skip this test with a reason');
      const cred = { username: uniqueName(), password: password() };
      const down = fx.atPort(await unusedPort());
      await expectTargetError(() => down.set(ctx(login, cred.username), cred, cred), 'KT_TARGET_UNAVAILABLE');
      await expectTargetError(() => down.test(ctx(login, cred.username), cred), 'KT_TARGET_UNAVAILABLE');
    });

    test('a server that never answers fails set and test with KT_TARGET_UNAVAILABLE once the connect timeout passes', async () => {
      if (!fx.atPort) throw new Error('the fixture has no atPort: skip this test with a reason');
      const silent = await silentServer();
      try {
        const cred = { username: uniqueName(), password: password() };
        const hung = fx.atPort(silent.port);
        // A signal that never fires: only the target's own connect timeout can end these calls.
        const noDeadline = { signal: new AbortController().signal };
        await expectTargetError(() => hung.set(ctx(login, cred.username, noDeadline), cred, cred), 'KT_TARGET_UNAVAILABLE');
        await expectTargetError(() => hung.test(ctx(login, cred.username, noDeadline), cred), 'KT_TARGET_UNAVAILABLE');
      } finally {
        await silent.close();
      }
    });

    test('an aborted signal stops set and test with KT_TARGET_UNAVAILABLE', async () => {
      const cred = await user(password());
      const next = { username: cred.username, password: password() };
      const aborted = ctx(login, cred.username, { signal: AbortSignal.abort() });
      await expectTargetError(() => fx.target.set(aborted, next, cred), 'KT_TARGET_UNAVAILABLE');
      await expectTargetError(() => fx.target.test(aborted, cred), 'KT_TARGET_UNAVAILABLE');
      await works(login, cred);
    });

    checkSkips();
  });
}
