/**
 * OIDC issuers in the state database (SQLite and PostgreSQL), and `keyturn oidc put/ls/show/rm`
 * on a real home: a document is checked before it is stored (a bad
 * one is a KT_ code naming the dot-path, and nothing changes), an issuer's `iss` is its own, its
 * policies must exist, every change is audited, and removing an issuer revokes its live sessions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { OidcRepo } from '../src/access/oidc-repo.js';
import { accessAuditHook, oidcAuditHook } from '../src/audit/hooks.js';
import { AuditLog } from '../src/audit/log.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { expectCode } from '../src/contracts/store-contract.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { useCliHome } from './helpers/cli-home.js';
import { postgresState, sqliteState, type TestState } from './helpers/state.js';

const K8S = `description: prod cluster
issuer: https://kubernetes.default.svc.cluster.local
jwksUrl: https://oidc.example.com/k8s/jwks
audiences: [keyturn]
maxSessionTtl: 15m
rules:
  - claims:
      sub: "system:serviceaccount:prod:*"
    policies: [app]
`;
const APP = 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n';

const errorOf = (stderr: string) => (JSON.parse(stderr) as { error: { code: string; message: string } }).error;

describe.each([
  ['sqlite', sqliteState],
  ['postgres', postgresState],
] as Array<[string, (clock?: ManualClock) => Promise<TestState>]>)('OIDC issuers on %s', (_dialect, open) => {
  it('stored, found by name and iss, replaced, listed, removed with their live sessions; audited', async () => {
    const clock = manualClock();
    const t = await open(clock);
    try {
      await AuditLog.initialize(t.state, t.ring, { clock });
      const audit = await AuditLog.open(t.state, t.ring, { clock });
      const access = new AccessRepo(t.state, clock, accessAuditHook(audit));
      const oidc = new OidcRepo(t.state, clock, access, oidcAuditHook(audit));
      await access.putPolicy('app', APP);
      const before = (await audit.head()).size;
      await expectCode(() => oidc.put('k8s', K8S.replace('[app]', '[other]')), 'KT_ACCESS_POLICY_NOT_FOUND');
      await oidc.put('k8s', K8S);
      expect((await oidc.byIss('https://kubernetes.default.svc.cluster.local'))?.name).toBe('k8s');
      expect(await oidc.byIss('https://other.example')).toBeNull();
      clock.advance(1000);
      await oidc.put('k8s', K8S.replace('15m', '30m'));
      expect((await oidc.get('k8s')).maxSessionTtlMs).toBe(1_800_000);
      expect(await oidc.list()).toEqual([
        { name: 'k8s', issuer: 'https://kubernetes.default.svc.cluster.local', description: 'prod cluster', audiences: ['keyturn'], rules: 1, updatedAt: clock.now() },
      ]);
      await expectCode(() => oidc.put('twin', K8S), 'KT_OIDC_ISSUER_INVALID');
      const live = await access.createToken({ policies: ['app'], ttlMs: 60_000, subject: 'oidc:k8s:system:serviceaccount:prod:a' });
      const expired = await access.createToken({ policies: ['app'], ttlMs: 1_000, subject: 'oidc:k8s:system:serviceaccount:prod:b' });
      clock.advance(1_000);
      expect(await oidc.remove('k8s')).toEqual({ name: 'k8s', revokedSessions: 1 });
      await expectCode(() => oidc.get('k8s'), 'KT_OIDC_ISSUER_NOT_FOUND');
      await expectCode(() => oidc.remove('k8s'), 'KT_OIDC_ISSUER_NOT_FOUND');
      const events = (await audit.between(before)).map((r) => JSON.parse(r.leaf) as { action: string; path: string });
      expect(events.map((e) => `${e.action} ${e.path}`)).toEqual([
        'access.oidc.put k8s',
        'access.oidc.put k8s',
        `access.token.create ${live.info.id}`,
        `access.token.create ${expired.info.id}`,
        'access.oidc.remove k8s',
        `access.token.revoke ${live.info.id}`,
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('keyturn oidc', () => {
  const home = useCliHome();

  it('put, ls, show, rm; bad documents are refused with a KT_ code and store nothing', async () => {
    writeFileSync(join(home.dir, 'app.yaml'), APP);
    expect((await home.kt(['policy', 'put', 'app', '-f', join(home.dir, 'app.yaml')])).code).toBe(0);
    const file = join(home.dir, 'k8s.yaml');
    writeFileSync(file, K8S);

    const before = home.dump();
    const refused: Array<[string, string, RegExp]> = [
      [K8S.replace('audiences: [keyturn]\n', ''), 'KT_OIDC_ISSUER_INVALID', /audiences: /],
      [K8S.replace('audiences: [keyturn]', 'audiences: []'), 'KT_OIDC_ISSUER_INVALID', /audiences: /],
      [K8S.replace('https://oidc.example.com', 'http://oidc.example.com'), 'KT_OIDC_ISSUER_INVALID', /jwksUrl: must be https/],
      [`${K8S}algorithms: [RS256, HS256]\n`, 'KT_OIDC_ISSUER_INVALID', /algorithms\.1: HMAC/],
      [`${K8S}algorithms: [none]\n`, 'KT_OIDC_ISSUER_INVALID', /algorithms\.0: "none"/],
      [K8S.replace('15m', '1.5h'), 'KT_OIDC_ISSUER_INVALID', /maxSessionTtl: /],
      [K8S.replace('policies: [app]', 'policies: [nope]'), 'KT_ACCESS_POLICY_NOT_FOUND', /nope/],
      [K8S.replace('    policies: [app]\n', ''), 'KT_OIDC_ISSUER_INVALID', /rules\.0\.policies: /],
      [`${K8S}extra: 1\n`, 'KT_OIDC_ISSUER_INVALID', /extra/],
      ['issuer: [', 'KT_OIDC_ISSUER_INVALID', /not valid YAML/],
    ];
    for (const [doc, code, message] of refused) {
      const r = await home.kt(['oidc', 'put', 'k8s', '-f', '-', '--json'], doc);
      expect(r.code, doc).toBe(code.endsWith('NOT_FOUND') ? 3 : 2);
      expect(errorOf(r.stderr).code, doc).toBe(code);
      expect(errorOf(r.stderr).message, doc).toMatch(message);
    }
    expect((await home.kt(['oidc', 'put', 'Bad Name', '-f', file])).code).toBe(2);
    expect((await home.kt(['oidc', 'put', 'k8s', '-f', join(home.dir, 'missing.yaml'), '--json'])).code).toBe(2);
    expect(home.dump()).toEqual(before);

    const put = await home.kt(['oidc', 'put', 'k8s', '-f', file, '--json']);
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout)).toEqual({
      name: 'k8s',
      description: 'prod cluster',
      issuer: 'https://kubernetes.default.svc.cluster.local',
      jwksUrl: 'https://oidc.example.com/k8s/jwks',
      audiences: ['keyturn'],
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      maxSessionTtlSeconds: 900,
      clockToleranceSeconds: 30,
      subjectClaim: 'sub',
      rules: [{ claims: { sub: 'system:serviceaccount:prod:*' }, policies: ['app'] }],
    });
    // One configuration per iss.
    const twin = await home.kt(['oidc', 'put', 'k8s-twin', '-f', file, '--json']);
    expect([twin.code, errorOf(twin.stderr).code]).toEqual([2, 'KT_OIDC_ISSUER_INVALID']);
    expect(errorOf(twin.stderr).message).toContain('already the issuer k8s');

    const ls = await home.kt(['oidc', 'ls']);
    expect(ls.stdout).toMatch(/k8s\s+https:\/\/kubernetes\.default\.svc\.cluster\.local\s+keyturn\s+1\s+prod cluster/);
    const show = await home.kt(['oidc', 'show', 'k8s']);
    expect(show.stdout).toContain('sub=system:serviceaccount:prod:*');
    expect(show.stdout).toContain('oidc:k8s:<sub>');
    expect(JSON.parse((await home.kt(['oidc', 'show', 'k8s', '--json'])).stdout).document).toBe(K8S);
    expect((await home.kt(['oidc', 'show', 'nope'])).code).toBe(3);

    // A live session of the issuer, an expired one, and a token of another subject.
    const kt = await openKeyturn(loadSettings({ KEYTURN_HOME: home.dir, KEYTURN_LOG_LEVEL: 'silent' }));
    const access = new AccessRepo(kt.state, kt.clock);
    const live = await access.createToken({ policies: ['app'], ttlMs: 600_000, subject: 'oidc:k8s:system:serviceaccount:prod:app' });
    const other = await access.createToken({ policies: ['app'], ttlMs: 600_000, subject: 'oidc:k8s-other:x' });
    await kt.close();

    const rm = await home.kt(['oidc', 'rm', 'k8s', '--json']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(JSON.parse(rm.stdout)).toEqual({ name: 'k8s', revokedSessions: 1 });
    const tokens = JSON.parse((await home.kt(['token', 'ls', '--json'])).stdout) as Array<{ id: string; revokedAt: string | null }>;
    expect(tokens.find((t) => t.id === live.info.id)!.revokedAt).not.toBeNull();
    expect(tokens.find((t) => t.id === other.info.id)!.revokedAt).toBeNull();
    expect((await home.kt(['oidc', 'rm', 'k8s'])).code).toBe(3);
    expect((await home.kt(['oidc', 'ls'])).stdout).toContain('No OIDC issuers');

    const events = await home.kt(['audit', 'tail', '-n', '100', '--json']);
    const actions = events.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; path: string })
      .filter((e) => e.action.startsWith('access.oidc'))
      .map((e) => `${e.action} ${e.path}`);
    expect(actions).toEqual(['access.oidc.put k8s', 'access.oidc.remove k8s']);
  });
});
