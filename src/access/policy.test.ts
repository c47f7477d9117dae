/** Path globs and policy decisions: a matrix of capabilities and patterns, deny by default, an explicit deny wins. */
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { CAPABILITIES } from './capabilities.js';
import { compileGlob, globProblem } from './path-glob.js';
import { adminPolicy, breakGlassOf, decide, parsePolicy } from './policy.js';

describe('path globs', () => {
  it.each([
    ['prod/db/app', 'prod/db/app', true],
    ['prod/db/app', 'prod/db/app2', false],
    ['prod/db/*', 'prod/db/app', true],
    ['prod/db/*', 'prod/db', false],
    ['prod/db/*', 'prod/db/app/x', false],
    ['prod/app-*', 'prod/app-web', true],
    ['prod/app-*', 'prod/api-web', false],
    ['prod/**', 'prod/db/app', true],
    ['prod/**', 'prod/x', true],
    ['prod/**', 'prod', false],
    ['prod/**', 'production/x', false],
    ['**', 'anything/at/all', true],
    ['**/root', 'root', true],
    ['**/root', 'prod/db/root', true],
    ['**/root', 'prod/db/rooted', false],
    ['prod/**/root', 'prod/root', true],
    ['prod/**/root', 'prod/a/b/root', true],
    ['prod/**/root', 'stage/a/root', false],
    ['a.b/*', 'axb/c', false],
  ])('%s on %s: %s', (glob, path, expected) => {
    expect(compileGlob(glob).test(path)).toBe(expected);
  });

  it.each([[''], ['/prod'], ['prod/'], ['prod//db'], ['prod/a**'], ['prod/**/**/x'], ['prod/$x'], ['x'.repeat(513)]])('refuses %j', (glob) => {
    expect(globProblem(glob)).not.toBeNull();
  });
});

const DOC = `
description: the app team
rules:
  - path: prod/app/*
    capabilities: [read, list]
  - path: prod/app/**
    capabilities: [rotate]
  - path: prod/app/root
    capabilities: [deny]
  - path: stage/**
    capabilities: [read, write, delete]
`;

describe('policy decisions', () => {
  const app = parsePolicy('app', DOC);

  it('a matrix: every capability on every pattern, deny by default and a deny that wins', () => {
    const paths = ['prod/app/token', 'prod/app/db/password', 'prod/app/root', 'stage/x/y', 'prod/db/root', 'other'];
    const allowed: Record<string, string[]> = {
      'prod/app/token': ['read', 'list', 'rotate'],
      'prod/app/db/password': ['rotate'],
      'prod/app/root': [],
      'stage/x/y': ['read', 'write', 'delete'],
      'prod/db/root': [],
      other: [],
    };
    for (const path of paths) for (const cap of CAPABILITIES) expect(decide([app], path, cap).allowed, `${cap} on ${path}`).toBe(allowed[path]!.includes(cap));
  });

  it('a deny in one policy wins over a grant in another, even admin', () => {
    const ops = parsePolicy('ops', 'rules:\n  - path: prod/app/root\n    capabilities: [read, admin]\n');
    expect(decide([ops], 'prod/app/root', 'read')).toEqual({ allowed: true });
    expect(decide([ops, app], 'prod/app/root', 'read')).toMatchObject({ allowed: false, reason: expect.stringContaining('policy app denies') });
    expect(decide([adminPolicy, app], 'prod/app/root', 'read').allowed).toBe(false);
    expect(decide([adminPolicy], 'prod/app/root', 'read').allowed).toBe(true);
  });

  it('no policy allows nothing', () => {
    expect(decide([], 'prod/app/token', 'read')).toEqual({ allowed: false, reason: 'no rule grants read on prod/app/token' });
  });

  it.each([
    ['not yaml', ': : :', 'not valid YAML'],
    ['no rules', 'description: x\n', 'rules'],
    ['an unknown capability', 'rules:\n  - path: a\n    capabilities: [sudo]\n', 'rules.0.capabilities.0'],
    ['deny with a grant', 'rules:\n  - path: a\n    capabilities: [deny, read]\n', '`deny` stands alone'],
    ['a bad glob', 'rules:\n  - path: a//b\n    capabilities: [read]\n', 'rules.0.path'],
    ['an unknown key', 'rules:\n  - path: a\n    capabilities: [read]\n    when: always\n', 'rules.0'],
    ['a break-glass deny', 'rules:\n  - path: a\n    capabilities: [deny]\n    breakGlass: true\n', 'cannot be break-glass'],
    ['breakGlass: false', 'rules:\n  - path: a\n    capabilities: [read]\n    breakGlass: false\n', 'rules.0.breakGlass'],
    ['a bad maxTtl', 'rules:\n  - path: a\n    capabilities: [read]\n    breakGlass: { maxTtl: 8d }\n', 'maxTtl'],
  ])('refuses a document with %s, naming where', (_what, text, where) => {
    let caught: unknown;
    try {
      parsePolicy('p', text);
    } catch (e) {
      caught = e;
    }
    expect(isKeyturnError(caught, 'KT_ACCESS_POLICY_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(where);
  });

  it('marks break-glass paths: any matching rule of any policy gates the read, the smallest maxTtl wins', () => {
    const db = parsePolicy('db', 'rules:\n  - path: prod/db/*\n    capabilities: [read]\n  - path: prod/db/root\n    capabilities: [read]\n    breakGlass: true\n');
    const long = parsePolicy('long', 'rules:\n  - path: prod/**\n    capabilities: [list]\n    breakGlass: { maxTtl: 4h }\n');
    expect(breakGlassOf([db], 'prod/db/root')).toEqual({ maxTtlMs: 3_600_000 });
    expect(breakGlassOf([db], 'prod/db/app')).toBeNull();
    expect(breakGlassOf([long], 'prod/db/app')).toEqual({ maxTtlMs: 14_400_000 });
    expect(breakGlassOf([long, db], 'prod/db/root')).toEqual({ maxTtlMs: 3_600_000 });
    expect(breakGlassOf([adminPolicy], 'prod/db/root')).toBeNull();
    // The mark gates; it grants nothing by itself (long grants only list).
    expect(decide([long], 'prod/db/app', 'read').allowed).toBe(false);
  });

  it('refuses a bad policy name', () => {
    expect(() => parsePolicy('Bad Name', DOC)).toThrow(/policy name/);
  });
});
