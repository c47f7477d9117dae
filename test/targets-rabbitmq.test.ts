/**
 * The rabbitmq target against the machine's RabbitMQ (AMQP 127.0.0.1:5672, management API
 * 127.0.0.1:15672, guest/guest as admin): the Target contract, then what is particular to
 * RabbitMQ (an administrator rotating itself without an admin; tags and user limits kept by
 * single-user; permissions, topic permissions and tags the primary lost removed from the clone;
 * the longest password; a virtual host the user may not open; open connections surviving a set;
 * a redirecting management URL, never followed with the password).
 */
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneUsername, type Credential, type Strategy, type TargetContext } from '../src/targets/target.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { uniqueName } from '../src/contracts/names.js';
import { createTarget } from '../src/targets/registry.js';
import { rabbitmqFixture, type RabbitmqFixture } from './fixtures/targets/rabbitmq.js';

runTargetContract({
  name: 'rabbitmq (5672, management API 15672)',
  strategies: ['single-user', 'alternating-users'],
  make: rabbitmqFixture,
  skip: {
    'single-user: without an admin, set works from the current credential, and repeats with it once stale':
      "RabbitMQ has no self-service password change: only users tagged administrator may set passwords through the management API, and the contract's users are not; 'an administrator rotates itself without an admin credential' below covers it",
  },
});

describe('rabbitmq target: management API specifics', () => {
  let fx: RabbitmqFixture;
  const users: string[] = [];
  const enc = encodeURIComponent;
  const ctx = (strategy: Strategy, primaryUsername: string, overrides: Partial<TargetContext> = {}): TargetContext => fx.context(strategy, primaryUsername, overrides);
  const password = () => `Pw-${uniqueName()}`;
  const user = async (tags = 'kt-app'): Promise<Credential> => {
    const cred = { username: uniqueName(), password: password() };
    users.push(cred.username, cloneUsername(cred.username));
    await fx.createUser(cred.username, cred.password);
    await fx.api('PUT', `/users/${enc(cred.username)}`, { password: cred.password, tags });
    return cred;
  };

  beforeAll(async () => {
    fx = await rabbitmqFixture();
  });
  afterAll(async () => {
    for (const u of users) await fx.dropUser(u);
    await fx.close();
  });

  it('an administrator rotates itself without an admin credential, and repeats with its stale current; a user without the tag is KT_TARGET_PERMISSION_DENIED', async () => {
    const admin = await user('administrator');
    const next = { username: admin.username, password: password() };
    await fx.target.set(ctx('single-user', admin.username, { admin: null }), next, admin);
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(admin)).toBe(false);
    await fx.target.set(ctx('single-user', admin.username, { admin: null }), next, admin);
    expect(await fx.logsIn(next)).toBe(true);

    const plain = await user();
    await expect(fx.target.set(ctx('single-user', plain.username, { admin: null }), { username: plain.username, password: password() }, plain)).rejects.toMatchObject({
      code: 'KT_TARGET_PERMISSION_DENIED',
    });
    expect(await fx.logsIn(plain)).toBe(true);
  });

  it('single-user keeps the user tags and limits (a PUT of the user replaces its tags)', async () => {
    const cred = await user('monitoring,kt-app');
    await fx.api('PUT', `/user-limits/${enc(cred.username)}/max-connections`, { value: 7 });
    const next = { username: cred.username, password: password() };
    await fx.target.set(ctx('single-user', cred.username), next, cred);
    const after = (await fx.api('GET', `/users/${enc(cred.username)}`)) as { tags: string[]; limits: Record<string, number> };
    expect([...after.tags].sort()).toEqual(['kt-app', 'monitoring']);
    expect(after.limits).toEqual({ 'max-connections': 7 });
    expect(await fx.logsIn(next)).toBe(true);
  });

  it("alternating-users removes from the clone the permissions, topic permissions and tags the primary lost, and copies the primary's tags", async () => {
    const primary = await user('monitoring');
    const vhost = await fx.newMembership();
    await fx.grant(primary.username, vhost);
    let clone = { username: cloneUsername(primary.username), password: password() };
    await fx.target.set(ctx('alternating-users', primary.username), clone, primary);
    expect(await fx.memberships(clone.username)).toContain('tags monitoring');
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(primary.username));

    await fx.api('DELETE', `/permissions/${enc(vhost)}/${enc(primary.username)}`);
    await fx.api('DELETE', `/topic-permissions/%2F/${enc(primary.username)}`);
    await fx.api('PUT', `/users/${enc(primary.username)}`, { password: primary.password, tags: 'policymaker' });
    clone = { ...clone, password: password() };
    await fx.target.set(ctx('alternating-users', primary.username), clone, primary);
    const want = await fx.memberships(primary.username);
    expect(want.filter((l) => l.includes(vhost) || l.startsWith('topic'))).toEqual([`topic ${JSON.stringify([vhost, 'amq.topic', '.*', '^kt\\.'])}`]);
    expect(await fx.memberships(clone.username)).toEqual(want);
    expect(await fx.logsIn(clone)).toBe(true);
  });

  it('a clone created by a set cut short before its password cannot log in, and the next set finishes it', async () => {
    const primary = await user();
    const clone = { username: cloneUsername(primary.username), password: password() };
    // What a set leaves when killed right after creating the clone: a user without a password hash.
    await fx.api('PUT', `/users/${enc(clone.username)}`, { password_hash: '', tags: '' });
    expect(await fx.logsIn({ username: clone.username, password: '' })).toBe(false);
    await fx.target.set(ctx('alternating-users', primary.username), clone, primary);
    expect(await fx.logsIn(clone)).toBe(true);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(primary.username));
  });

  it('takes a password of the declared maximum length in 4-byte characters', async () => {
    const cred = await user();
    const { maxLength } = fx.target.passwordLimits;
    expect(maxLength).toBe(512);
    const next = { username: cred.username, password: `Kt-${'🔑'.repeat(maxLength! - 3)}` };
    expect([...next.password]).toHaveLength(maxLength!);
    await fx.target.set(ctx('single-user', cred.username), next, cred);
    expect(await fx.logsIn(next)).toBe(true);
    await fx.target.test(ctx('single-user', cred.username), next);
  });

  it('test: a user who logs in but may not open the virtual host is KT_TARGET_PERMISSION_DENIED; one missing is too', async () => {
    const cred = await user();
    const elsewhere = createTarget({ ...fx.config(), vhost: await fx.newMembership(), connectTimeoutMs: 5000 });
    await expect(elsewhere.test(ctx('single-user', cred.username), cred)).rejects.toMatchObject({ code: 'KT_TARGET_PERMISSION_DENIED' });
    const nowhere = createTarget({ ...fx.config(), vhost: uniqueName('kt_gone'), connectTimeoutMs: 5000 });
    await expect(nowhere.test(ctx('single-user', cred.username), cred)).rejects.toMatchObject({ code: 'KT_TARGET_PERMISSION_DENIED' });
  });

  it('single-user: a connection opened before set stays open; a new login with the old password is refused', async () => {
    const old = await user();
    const connection = await fx.connect(old);
    try {
      const closed: unknown[] = [];
      connection.on('close', (e) => closed.push(e));
      const next = { username: old.username, password: password() };
      await fx.target.set(ctx('single-user', old.username), next, old);
      const channel = await connection.createChannel();
      await channel.close();
      expect(closed).toEqual([]);
      expect(await fx.logsIn(old)).toBe(false);
    } finally {
      await connection.close();
    }
  });

  it('does not follow a redirect of the management API (it would re-send the password): KT_TARGET_FAILED, nothing changed', async () => {
    const cred = await user();
    const seen: string[] = [];
    const redirecting = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(308, { location: `http://127.0.0.1:15672${req.url}` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = redirecting.address() as { port: number };
      const target = createTarget({ ...fx.config(), managementUrl: `http://127.0.0.1:${port}`, connectTimeoutMs: 5000 });
      await expect(target.set(ctx('single-user', cred.username), { username: cred.username, password: password() }, cred)).rejects.toMatchObject({ code: 'KT_TARGET_FAILED' });
      expect(seen).toEqual(['GET /api/whoami']);
      expect(await fx.logsIn(cred)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => redirecting.close(() => resolve()));
    }
  });
});
