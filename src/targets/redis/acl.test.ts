import { describe, expect, it } from 'vitest';
import { cloneRules, parseAclUser, samePermissions } from './acl.js';

// ACL GETUSER as Redis 7.0 answers it over RESP2 (flat key/value array).
const REDIS7 = [
  'flags',
  ['on', 'skip-sanitize-payload'],
  'passwords',
  ['c592df4a86933b92addc9842402ddf198c638ea9be58916ee6e3734e1e3152f8'],
  'commands',
  '-@all +get +ping',
  'keys',
  '~app:* %R~ro:*',
  'channels',
  '&c2',
  'selectors',
  [['commands', '-@all +set', 'keys', '~w:*', 'channels', '']],
];

describe('redis ACL rules', () => {
  it('copies flags, commands, keys, channels and selectors, never passwords or login flags', () => {
    const user = parseAclUser(REDIS7)!;
    const rules = cloneRules(user);
    expect(rules).toEqual(['skip-sanitize-payload', '-@all', '+get', '+ping', '~app:*', '%R~ro:*', '&c2', '(-@all +set ~w:*)']);
    expect(rules.join(' ')).not.toContain('c592df4a');
  });

  it('reads Redis 6 replies, where keys and channels are lists of patterns', () => {
    const user = parseAclUser(['flags', ['on', 'allchannels'], 'passwords', [], 'commands', '+@all', 'keys', ['app:*', '*'], 'channels', ['*']])!;
    expect(cloneRules(user)).toEqual(['allchannels', '+@all', '~app:*', '~*', '&*']);
  });

  it('says null for a missing user and compares permissions, not passwords', () => {
    expect(parseAclUser(null)).toBeNull();
    const a = parseAclUser(REDIS7)!;
    const b = parseAclUser(REDIS7.map((v, i) => (i === 3 ? ['another-hash'] : v)))!;
    expect(samePermissions(a, b)).toBe(true);
    expect(samePermissions(a, { ...b, keys: ['~app:*'] })).toBe(false);
  });

  it('ignores a sanitize flag on the clone only when the primary has none', () => {
    const primary = parseAclUser(['flags', ['on'], 'commands', '+get', 'keys', '', 'channels', '', 'selectors', []])!;
    expect(samePermissions(primary, { ...primary, flags: ['on', 'sanitize-payload'] })).toBe(true);
    const strict = { ...primary, flags: ['on', 'skip-sanitize-payload'] };
    expect(samePermissions(strict, { ...primary, flags: ['on', 'sanitize-payload'] })).toBe(false);
  });
});
