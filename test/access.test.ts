/**
 * Tokens and path policies in the state database (SQLite and PostgreSQL), and their commands:
 * only token hashes are stored, an unknown, malformed, expired or revoked token is the same
 * KT_TOKEN_INVALID, policies are checked before they are stored, and every change is audited
 * without the token in it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessRepo, AUTH_CACHE_MS } from '../src/access/access-repo.js';
import { decide } from '../src/access/policy.js';
import { accessAuditHook } from '../src/audit/hooks.js';
import { AuditLog } from '../src/audit/log.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { expectCode } from '../src/contracts/store-contract.js';
import { useCliHome } from './helpers/cli-home.js';
import { postgresState, sqliteState, type TestState } from './helpers/state.js';

const APP = 'description: app team\nrules:\n  - path: prod/app/*\n    capabilities: [read, list]\n  - path: prod/app/root\n    capabilities: [deny]\n';
const HOUR = 3_600_000;

describe.each([
  ['sqlite', sqliteState],
  ['postgres', postgresState],
] as Array<[string, (clock?: ManualClock) => Promise<TestState>]>)('access on %s', (_dialect, open) => {
  async function setup(): Promise<{ t: TestState; clock: ManualClock; access: AccessRepo; audit: AuditLog }> {
    const clock = manualClock();
    const t = await open(clock);
    await AuditLog.initialize(t.state, t.ring, { clock });
    const audit = await AuditLog.open(t.state, t.ring, { clock });
    return { t, clock, audit, access: new AccessRepo(t.state, clock, accessAuditHook(audit)) };
  }

  it('a token authenticates to its policies; only its hash is stored; its use is recorded', async () => {
    const { t, access, clock } = await setup();
    try {
      await access.putPolicy('app', APP);
      const { token, info } = await access.createToken({ policies: ['app'], ttlMs: HOUR, description: 'ci' });
      expect(token).toMatch(/^kt_[A-Za-z0-9_-]{43}$/);
      expect(info).toMatchObject({ policies: ['app'], description: 'ci', expiresAt: clock.now() + HOUR, revokedAt: null, lastUsedAt: null });
      // The database holds the token's SHA-256, never the token.
      const rows = await t.state.db.selectFrom('tokens').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(token.slice(3));
      expect(rows[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      clock.advance(1000);
      const who = await access.authenticate(token);
      expect(who.tokenId).toBe(info.id);
      expect(decide(who.policies, 'prod/app/token', 'read').allowed).toBe(true);
      expect(decide(who.policies, 'prod/app/root', 'read').allowed).toBe(false);
      expect(decide(who.policies, 'prod/db/x', 'read').allowed).toBe(false);
      expect((await access.tokens())[0]!.lastUsedAt).toBe(clock.now());
      // A token stands for its subject; one made without one stands for itself.
      expect(who.subject).toBe(`token:${info.id}`);
      const alice = await access.createToken({ policies: ['app'], subject: 'alice' });
      expect((await access.authenticate(alice.token)).subject).toBe('alice');
      await expectCode(() => access.createToken({ policies: ['app'], subject: 'bad subject' }), 'KT_USAGE');
    } finally {
      await t.close();
    }
  });

  it('a token is trusted again without a read for at most AUTH_CACHE_MS: a change here takes effect at once, one by another instance within that time', async () => {
    const { t, access, clock } = await setup();
    try {
      await access.putPolicy('app', APP);
      const { token, info } = await access.createToken({ policies: ['app'], ttlMs: HOUR });
      const revokedHere = await access.createToken({ policies: ['app'] });
      await access.authenticate(token);
      await access.authenticate(revokedHere.token);
      // Revoked through this process (any repository over the same database): refused at once.
      await new AccessRepo(t.state, clock).revokeToken(revokedHere.info.id);
      await expectCode(() => access.authenticate(revokedHere.token), 'KT_TOKEN_INVALID');
      // Revoked by another instance on the same database: still trusted here until the cache time has passed.
      await access.authenticate(token);
      // (another process: the row changes under this one, which did not make the change)
      await t.state.db.updateTable('tokens').set({ revoked_at: clock.now() }).where('id', '=', info.id).execute();
      expect((await access.authenticate(token)).tokenId).toBe(info.id);
      clock.advance(AUTH_CACHE_MS);
      await expectCode(() => access.authenticate(token), 'KT_TOKEN_INVALID');
      // A cached token never outlives its expiry.
      const short = await access.createToken({ policies: ['app'], ttlMs: 500 });
      await access.authenticate(short.token);
      clock.advance(500);
      await expectCode(() => access.authenticate(short.token), 'KT_TOKEN_INVALID');
    } finally {
      await t.close();
    }
  });

  it('an unknown, malformed, expired or revoked token is KT_TOKEN_INVALID alike', async () => {
    const { t, access, clock } = await setup();
    try {
      const { token, info } = await access.createToken({ policies: ['admin'], ttlMs: HOUR });
      const other = await access.createToken({ policies: ['admin'] });
      for (const bad of ['', 'kt_short', `kt_${'A'.repeat(43)}`, token.toUpperCase(), `${token} `]) await expectCode(() => access.authenticate(bad), 'KT_TOKEN_INVALID');
      clock.advance(HOUR);
      await expectCode(() => access.authenticate(token), 'KT_TOKEN_INVALID');
      await access.authenticate(other.token);
      await access.revokeToken(other.info.id);
      expect((await access.revokeToken(other.info.id)).revokedAt).toBe(clock.now());
      await expectCode(() => access.authenticate(other.token), 'KT_TOKEN_INVALID');
      await expectCode(() => access.revokeToken('tok_nope'), 'KT_TOKEN_NOT_FOUND');
      expect((await access.tokens()).map((x) => x.id).sort()).toEqual([info.id, other.info.id].sort());
    } finally {
      await t.close();
    }
  });

  it('policies: checked before stored, replaced by name, admin built in; a token needs existing policies; every change audited without a token', async () => {
    const { t, access, audit } = await setup();
    try {
      const before = (await audit.head()).size;
      await expectCode(() => access.putPolicy('app', 'rules: []\n'), 'KT_ACCESS_POLICY_INVALID');
      await expectCode(() => access.putPolicy('admin', APP), 'KT_ACCESS_POLICY_RESERVED');
      await expectCode(() => access.policy('app'), 'KT_ACCESS_POLICY_NOT_FOUND');
      await expectCode(() => access.createToken({ policies: ['app'] }), 'KT_ACCESS_POLICY_NOT_FOUND');
      await access.putPolicy('app', APP);
      await access.putPolicy('app', 'rules:\n  - path: "prod/**"\n    capabilities: [read]\n');
      expect((await access.policy('app')).rules.map((r) => r.path)).toEqual(['prod/**']);
      expect((await access.policies()).map((p) => [p.name, p.builtIn])).toEqual([
        ['admin', true],
        ['app', false],
      ]);
      const { token, info } = await access.createToken({ policies: ['app', 'admin'] });
      await access.revokeToken(info.id);
      const events = (await audit.between(before)).map((r) => JSON.parse(r.leaf) as { action: string; path: string });
      expect(events.map((e) => `${e.action} ${e.path}`)).toEqual(['access.policy.put app', 'access.policy.put app', `access.token.create ${info.id}`, `access.token.revoke ${info.id}`]);
      expect(JSON.stringify(await audit.between(0))).not.toContain(token.slice(3));
    } finally {
      await t.close();
    }
  });
});

describe('keyturn token and keyturn policy', () => {
  const home = useCliHome();

  it('policy put, ls, show; token create (printed once), ls, revoke; bad input changes nothing', async () => {
    const file = join(home.dir, 'app.yaml');
    writeFileSync(file, APP);
    const put = await home.kt(['policy', 'put', 'app', '-f', file, '--json']);
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({
      name: 'app',
      rules: [
        { path: 'prod/app/*', capabilities: ['read', 'list'] },
        { path: 'prod/app/root', capabilities: ['deny'] },
      ],
    });
    expect((await home.kt(['policy', 'ls'])).stdout).toMatch(/admin \(built in\)[\s\S]*app/);
    expect((await home.kt(['policy', 'show', 'app'])).stdout).toContain('prod/app/root');

    const before = home.dump();
    const bad = await home.kt(['policy', 'put', 'other', '-f', '-', '--json'], 'rules:\n  - path: a//b\n    capabilities: [read]\n');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('KT_ACCESS_POLICY_INVALID');
    expect((await home.kt(['token', 'create', '--policy', 'nope'])).code).toBe(3);
    expect((await home.kt(['token', 'create', '--policy', 'app', '--ttl', '1.5h'])).code).toBe(2);
    expect(home.dump()).toEqual(before);

    const created = await home.kt(['token', 'create', '--policy', 'app', '--ttl', '24h', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = JSON.parse(created.stdout) as { token: string; id: string };
    expect(token).toMatch(/^kt_/);
    const plain = await home.kt(['token', 'create', '--policy', 'admin', '-q']);
    expect(plain.stdout).toMatch(/^kt_[A-Za-z0-9_-]{43}\n$/);
    const ls = await home.kt(['token', 'ls']);
    expect(ls.stdout).toContain(id);
    expect(ls.stdout).not.toContain(token);
    expect(JSON.stringify(home.dump())).not.toContain(token.slice(3));
    expect((await home.kt(['token', 'revoke', id, '--json'])).code).toBe(0);
    expect(JSON.parse((await home.kt(['token', 'ls', '--json'])).stdout).find((x: { id: string }) => x.id === id).revokedAt).not.toBeNull();
    expect((await home.kt(['token', 'revoke', 'tok_nope'])).code).toBe(3);

    // policy rm: gone, audited; admin stays; an unknown name is 3.
    writeFileSync(file, 'rules:\n  - path: prod/db/root\n    capabilities: [read]\n    breakGlass: { maxTtl: 2h }\n');
    expect((await home.kt(['policy', 'put', 'db', '-f', file])).code).toBe(0);
    expect(JSON.parse((await home.kt(['policy', 'show', 'db', '--json'])).stdout).rules).toEqual([{ path: 'prod/db/root', capabilities: ['read'], breakGlass: { maxTtlSeconds: 7200 } }]);
    expect((await home.kt(['policy', 'show', 'db'])).stdout).toMatch(/prod\/db\/root\s+read\s+yes \(at most 120m\)/);
    expect(JSON.parse((await home.kt(['policy', 'rm', 'db', '--json'])).stdout)).toEqual({ name: 'db', deleted: true });
    expect((await home.kt(['policy', 'show', 'db'])).code).toBe(3);
    expect((await home.kt(['policy', 'rm', 'db'])).code).toBe(3);
    expect(JSON.parse((await home.kt(['policy', 'rm', 'admin', '--json'])).stderr).error.code).toBe('KT_ACCESS_POLICY_RESERVED');
    expect((await home.kt(['audit', 'tail', '-n', '1'])).stdout).toMatch(/access\.policy\.delete\s+success.*\sdb/);
  });
});
