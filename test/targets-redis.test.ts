/**
 * The redis target against the machine's Redis (127.0.0.1:6379, default user without a
 * password as admin): the Target contract, then what is particular to Redis ACLs (selectors,
 * channels and read-only key patterns copied; sessions already authenticated survive a
 * single-user set; the in-memory warning without an ACL file).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/core/logger.js';
import { cloneUsername, type Credential, type Strategy, type TargetContext } from '../src/targets/target.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { redisConnection, redisFixture, type RedisFixture } from './fixtures/targets/redis.js';
import { uniqueName } from '../src/contracts/names.js';

const NO_ADMIN_REASON = 'with no admin credential the target acts as the default user, which needs no password on this machine';

runTargetContract({
  name: 'redis (6379)',
  strategies: ['single-user', 'alternating-users', 'dual-key'],
  make: redisFixture,
  skip: {
    'single-user: without an admin or a current credential, set needs an admin': NO_ADMIN_REASON,
    'alternating-users: needs an admin': NO_ADMIN_REASON,
  },
});

describe('redis target: ACL specifics', () => {
  let fx: RedisFixture;
  const users: string[] = [];
  const ctx = (strategy: Strategy, primaryUsername: string, log = createLogger('silent')): TargetContext => fx.context(strategy, primaryUsername, { log });
  const user = async (...rules: string[]): Promise<Credential> => {
    const cred = { username: uniqueName(), password: `Pw-${uniqueName()}` };
    users.push(cred.username, cloneUsername(cred.username));
    await fx.call('ACL', 'SETUSER', cred.username, 'on', `>${cred.password}`, ...rules);
    return cred;
  };

  beforeAll(async () => {
    fx = await redisFixture();
  });
  afterAll(async () => {
    for (const u of users) await fx.dropUser(u);
    await fx.close();
  });

  it('copies flags, read-only key patterns, channels and selectors, and drops what the primary lacks', async () => {
    const p = await user('skip-sanitize-payload', '-@all', '+get', '+ping', '~app:*', '%R~ro:*', 'resetchannels', '&news', '(+set ~w:*)');
    const clone = { username: cloneUsername(p.username), password: `Pw-${uniqueName()}` };
    await fx.target.set(ctx('alternating-users', p.username), clone, p);
    const want = await fx.memberships(p.username);
    expect(want).toEqual(expect.arrayContaining(['skip-sanitize-payload', '%R~ro:*', '&news', '(-@all +set ~w:*)']));
    expect(await fx.memberships(clone.username)).toEqual(want);
    await fx.target.test(ctx('alternating-users', p.username), clone);

    await fx.call('ACL', 'SETUSER', clone.username, '+flushall', '(+del ~x:*)');
    await fx.call('ACL', 'SETUSER', p.username, 'clearselectors', '+hget');
    await fx.target.set(ctx('alternating-users', p.username), clone, p);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
  });

  it('keeps syncing a clone that holds a payload-sanitizing flag the primary lacks (no rule clears it)', async () => {
    const p = await user('+ping', '~app:*');
    const clone = { username: cloneUsername(p.username), password: `Pw-${uniqueName()}` };
    await fx.target.set(ctx('alternating-users', p.username), clone, p);
    await fx.call('ACL', 'SETUSER', clone.username, 'sanitize-payload', '+flushall');
    const next = { ...clone, password: `Pw-${uniqueName()}` };
    await fx.target.set(ctx('alternating-users', p.username), next, p);
    await fx.target.test(ctx('alternating-users', p.username), next);
    expect((await fx.memberships(clone.username)).filter((r) => r !== 'sanitize-payload')).toEqual(await fx.memberships(p.username));
  });

  it('single-user: a session authenticated before set keeps working; a new login with the old password is refused', async () => {
    const old = await user('+ping');
    const session = redisConnection();
    await session.connect();
    try {
      await session.call('AUTH', old.username, old.password);
      const next = { username: old.username, password: `Pw-${uniqueName()}` };
      await fx.target.set(ctx('single-user', old.username), next, old);
      expect(await session.call('PING')).toBe('PONG');
      await expect(fx.target.test(ctx('single-user', old.username), old)).rejects.toMatchObject({ code: 'KT_TARGET_AUTH_FAILED' });
      await fx.target.test(ctx('single-user', old.username), next);
      const reply = (await fx.call('ACL', 'GETUSER', old.username)) as unknown[];
      expect(reply[2]).toBe('passwords');
      expect(reply[3]).toHaveLength(1);
    } finally {
      session.disconnect();
    }
  });

  it('warns that the change lives in memory when the server has no ACL file', async () => {
    expect(await fx.call('CONFIG', 'GET', 'aclfile')).toEqual(['aclfile', '']);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const old = await user('+ping');
    await fx.target.set(ctx('single-user', old.username, createLogger('warn', sink)), { username: old.username, password: `Pw-${uniqueName()}` }, old);
    expect(lines.join('')).toContain('no ACL file');
  });
});
