import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isKeyturnError } from './errors.js';
import { defineRegistry, registryEntry } from './registry.js';

const small = z.strictObject({ type: z.literal('small'), size: z.number({ error: 'must be a number' }) });
const big = z.strictObject({ type: z.literal('big') });

function codeAndMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isKeyturnError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected a KeyturnError');
}

describe('the registry helper', () => {
  const things = defineRegistry({ noun: 'thing', invalid: 'KT_TARGET_CONFIG_INVALID', zod: z }, [
    registryEntry({ kind: 'small', configSchema: small, create: (c, deps: { made: string[] }) => (deps.made.push(`small ${c.size}`), c.size) }),
    registryEntry({ kind: 'big', configSchema: big, create: () => -1 }),
  ]);

  it('one list gives the kinds, the union schema, the entry and create by type', () => {
    expect(things.kinds).toEqual(['small', 'big']);
    expect(things.configSchema.parse({ type: 'big' })).toEqual({ type: 'big' });
    expect(things.entry('small').configSchema).toBe(small);
    expect(things.find('huge')).toBeUndefined();
    const made: string[] = [];
    expect(things.create({ type: 'small', size: 3 }, { made })).toBe(3);
    expect(made).toEqual(['small 3']);
  });

  it('parses with one problem per key, and says which types there are', () => {
    expect(codeAndMessage(() => things.parse({ type: 'small', size: 'x', extra: 1 }))).toMatch(/^KT_TARGET_CONFIG_INVALID: the thing configuration is not valid: size: must be a number; .*"extra"/);
    expect(codeAndMessage(() => things.parse({ type: 'huge' }))).toBe('KT_TARGET_CONFIG_INVALID: the thing configuration is not valid: type: type must be one of: small, big');
    expect(codeAndMessage(() => things.parse('small'))).toContain('a thing must be an object with a type (small, big)');
    expect(things.configSchema.safeParse({ type: 'huge' }).error?.issues[0]?.message).toBe('type must be one of: small, big');
  });

  it('refuses an entry whose kind is not its schema type, and a kind listed twice', () => {
    expect(() => registryEntry({ kind: 'big' as 'small', configSchema: small, create: () => 0 })).toThrow(/its config schema's type is "small"/);
    expect(() =>
      defineRegistry({ noun: 'thing', invalid: 'KT_TARGET_CONFIG_INVALID' }, [
        registryEntry({ kind: 'big', configSchema: big, create: () => 0 }),
        registryEntry({ kind: 'big', configSchema: big, create: () => 1 }),
      ]),
    ).toThrow(/listed twice/);
  });
});
