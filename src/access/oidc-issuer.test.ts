/** OIDC issuer documents: defaults, claim globs (arrays match on any element), rules granting policies, session subjects. */
import { describe, expect, it } from 'vitest';
import { claimAt, globMatch, parseIssuer, policiesFor, sessionSubject } from './oidc-issuer.js';

const DOC = `issuer: https://token.actions.githubusercontent.com
jwksUrl: http://127.0.0.1:8080/jwks
audiences: [keyturn, https://keyturn.example]
rules:
  - claims: { repository: org/app, ref: [refs/heads/main, "refs/tags/v*"] }
    policies: [app-deploy]
  - claims: { groups: "ops-*" }
    policies: [ops, app-deploy]
`;

describe('OIDC issuer documents', () => {
  it('defaults: RS256, ES256, EdDSA; a 1 h session; 30 s tolerance; subject from sub', () => {
    const i = parseIssuer('gh', DOC);
    expect(i).toMatchObject({ algorithms: ['RS256', 'ES256', 'EdDSA'], maxSessionTtlMs: 3_600_000, clockToleranceMs: 30_000, subjectClaim: 'sub' });
    expect(parseIssuer('gh', `${DOC}clockTolerance: 0s\nmaxSessionTtl: 24h\n`)).toMatchObject({ clockToleranceMs: 0, maxSessionTtlMs: 86_400_000 });
  });

  it.each([
    ['maxSessionTtl: 25h', 'maxSessionTtl: maxSessionTtl is at most 86400 s'],
    ['clockTolerance: 10m', 'clockTolerance: clockTolerance is at most 300 s'],
    ['jwksUrl2: x', 'jwksUrl2'],
    ['algorithms: [HS512]', 'algorithms.0: HMAC'],
  ])('refuses %s', (line, problem) => {
    expect(() => parseIssuer('gh', `${DOC}${line}\n`)).toThrow(problem);
  });

  it.each([
    ['jwksUrl: http://10.0.0.1/jwks', 'jwksUrl: must be https'],
    ['jwksUrl: https://user:pw@idp.example/jwks', 'jwksUrl: must not hold credentials'],
    ['jwksUrl: ftp://idp.example/jwks', 'jwksUrl: must be https'],
    ['jwksUrl: /jwks', 'jwksUrl: must be an absolute URL'],
  ])('refuses %s', (line, problem) => {
    expect(() => parseIssuer('gh', DOC.replace('jwksUrl: http://127.0.0.1:8080/jwks', line))).toThrow(problem);
  });

  it('a dotted claim name reaches into nested claims, unless a top-level claim has that exact name', () => {
    const i = parseIssuer(
      'kc',
      `issuer: https://sso.example/realms/prod
jwksUrl: http://127.0.0.1:8080/jwks
audiences: [keyturn]
rules:
  - claims: { realm_access.roles: ops }
    policies: [ops]
  - claims: { "https://example.com/team": payments }
    policies: [payments]
`,
    );
    expect(claimAt({ realm_access: { roles: ['dev', 'ops'] } }, 'realm_access.roles')).toEqual(['dev', 'ops']);
    expect(policiesFor(i, { realm_access: { roles: ['dev', 'ops'] } })).toEqual(['ops']);
    expect(policiesFor(i, { realm_access: { roles: ['dev'] } })).toEqual([]);
    expect(policiesFor(i, { realm_access: ['ops'] })).toEqual([]);
    expect(policiesFor(i, { 'realm_access.roles': 'ops', realm_access: { roles: ['dev'] } })).toEqual(['ops']);
    expect(policiesFor(i, { 'https://example.com/team': 'payments' })).toEqual(['payments']);
    expect(claimAt({ a: { b: null } }, 'a.b.c')).toBeUndefined();
    expect(claimAt({ a: { toString: 'x' } }, 'a.constructor')).toBeUndefined();
  });

  it('every claim of a rule must match; matching rules add their policies', () => {
    const i = parseIssuer('gh', DOC);
    expect(policiesFor(i, { repository: 'org/app', ref: 'refs/heads/main' })).toEqual(['app-deploy']);
    expect(policiesFor(i, { repository: 'org/app', ref: 'refs/tags/v1.2' })).toEqual(['app-deploy']);
    expect(policiesFor(i, { repository: 'org/app', ref: 'refs/heads/dev' })).toEqual([]);
    expect(policiesFor(i, { repository: 'org/app' })).toEqual([]);
    expect(policiesFor(i, { repository: 'org/app2', ref: 'refs/heads/main' })).toEqual([]);
    expect(policiesFor(i, { groups: ['dev', 'ops-oncall'] })).toEqual(['ops', 'app-deploy']);
    expect(policiesFor(i, { groups: ['dev'] })).toEqual([]);
    expect(policiesFor(i, { groups: { 'ops-x': true } })).toEqual([]);
    expect(policiesFor(i, { repository: 'org/app', ref: 'refs/heads/main', groups: 'ops-1' })).toEqual(['app-deploy', 'ops']);
  });

  it.each([
    ['*', '', true],
    ['a*', 'abc', true],
    ['*c', 'abc', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abcd', false],
    ['system:serviceaccount:prod:*', 'system:serviceaccount:prod:app', true],
    ['system:serviceaccount:prod:*', 'system:serviceaccount:production:app', false],
    ['a.c', 'abc', false],
    ['a*a*a*a*a*a*b', 'a'.repeat(5000), false],
  ])('glob %s on %s: %s', (glob, value, expected) => {
    expect(globMatch(glob, value)).toBe(expected);
  });

  it('the session subject is oidc:NAME:<claim>, other characters kept apart by a hash', () => {
    const i = parseIssuer('gh', DOC);
    expect(sessionSubject(i, { sub: 'repo:org/app:ref:refs/heads/main' })).toBe('oidc:gh:repo:org/app:ref:refs/heads/main');
    expect(sessionSubject(i, { sub: '' })).toBeNull();
    expect(sessionSubject(i, {})).toBeNull();
    const a = sessionSubject(i, { sub: 'auth0|1' })!;
    const b = sessionSubject(i, { sub: 'auth0_1' })!;
    expect(a).toMatch(/^oidc:gh:auth0_1:[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(sessionSubject(i, { sub: 'x'.repeat(400) })!.length).toBe(256);
    expect(sessionSubject(parseIssuer('gh', `${DOC}subjectClaim: repository\n`), { sub: 's', repository: 'org/app' })).toBe('oidc:gh:org/app');
  });
});
