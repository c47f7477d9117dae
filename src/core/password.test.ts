/**
 * Password policies and the generator: constraints hold over many generations, impossible
 * policies are refused with the right code, the union draw is uniform (chi-square), and the
 * required characters land at uniformly random positions (the shuffle works).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyturnError, type ErrorCode } from './errors.js';
import {
  AMBIGUOUS_CHARS,
  DEFAULT_SYMBOL_SET,
  DIGIT_CHARS,
  LOWER_CHARS,
  UPPER_CHARS,
  enabledClasses,
  generatePassword,
  mergeLimits,
  parsePasswordPolicy,
  passwordPolicySchema,
  type PasswordPolicy,
} from './password.js';

function expectCode(fn: () => unknown, code: ErrorCode): Error {
  try {
    fn();
  } catch (e) {
    if (!isKeyturnError(e)) throw e;
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const count = (s: string, chars: string) => [...s].filter((c) => chars.includes(c)).length;

/** Asserts every constraint of `policy` on `password`. */
function expectMeets(password: string, policy: PasswordPolicy): void {
  expect(password).toHaveLength(policy.length);
  const allowed = new Set(enabledClasses(policy).flatMap((c) => c.chars));
  expect([...password].filter((c) => !allowed.has(c) || policy.exclude.includes(c))).toEqual([]);
  const sets = { lower: LOWER_CHARS, upper: UPPER_CHARS, digits: DIGIT_CHARS, symbols: policy.symbolSet };
  for (const name of ['lower', 'upper', 'digits', 'symbols'] as const) {
    const min = policy[name];
    if (min === false) expect(count(password, sets[name])).toBe(0);
    else expect(count(password, sets[name])).toBeGreaterThanOrEqual(min);
  }
}

/**
 * Upper critical value of the chi-square distribution with `df` degrees of freedom at p = 0.001,
 * by the Wilson–Hilferty approximation: (X/df)^(1/3) is close to normal with mean 1 - 2/(9df)
 * and variance 2/(9df), so the critical value is df·(1 - 2/(9df) + z·√(2/(9df)))³ with z = 3.0902,
 * the standard normal quantile at 0.999. For df ≥ 30 it is within 0.2 of the tabulated values.
 */
function chiSquareCritical001(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Pearson's statistic of observed counts against a uniform expectation. */
function chiSquareUniform(counts: Map<string, number>, categories: readonly string[], total: number): number {
  const expected = total / categories.length;
  return categories.reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
}

function tally(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  return counts;
}

describe('password policy schema', () => {
  it('fills in the documented defaults', () => {
    expect(parsePasswordPolicy({})).toEqual({ length: 32, lower: 1, upper: 1, digits: 1, symbols: 0, symbolSet: DEFAULT_SYMBOL_SET, exclude: '' });
    expect(parsePasswordPolicy(undefined).length).toBe(32);
  });

  it('the default symbols need no escaping in URLs, SQL literals, connection strings or dotenv files', () => {
    for (const c of DEFAULT_SYMBOL_SET) {
      expect(encodeURIComponent(c)).toBe(c);
      expect(`'"\\\`;=#$%&+@:/?!*()[]{}<>|^ `).not.toContain(c);
    }
  });

  it('refuses malformed policies with KT_PASSWORD_POLICY_INVALID naming the key', () => {
    const bad: Array<[unknown, string]> = [
      [{ length: 7 }, 'length'],
      [{ length: 1025 }, 'length'],
      [{ length: 12.5 }, 'length'],
      [{ digits: -1 }, 'digits'],
      [{ upper: true }, 'upper'],
      [{ symbolSet: 'ab' }, 'symbolSet'],
      [{ symbolSet: '' }, 'symbolSet'],
      [{ symbolSet: '!é' }, 'symbolSet'],
      [{ colour: 'red' }, 'colour'],
    ];
    for (const [input, key] of bad) {
      const e = expectCode(() => parsePasswordPolicy(input), 'KT_PASSWORD_POLICY_INVALID');
      expect(e.message).toContain(key);
    }
  });

  it('refuses, at parse time, a policy that could never be met', () => {
    const r = passwordPolicySchema.safeParse({ length: 8, lower: 3, upper: 3, digits: 3 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('add up to 9, more than the length 8');
    expectCode(() => parsePasswordPolicy({ digits: 2, exclude: DIGIT_CHARS }), 'KT_PASSWORD_POLICY_INVALID');
    expectCode(() => parsePasswordPolicy({ lower: false, upper: false, digits: false, symbols: false }), 'KT_PASSWORD_POLICY_INVALID');
  });
});

describe('mergeLimits', () => {
  const policy = parsePasswordPolicy({ length: 40, symbols: 2, exclude: 'x' });

  it('caps the length and joins the exclusions', () => {
    const merged = mergeLimits(policy, { maxLength: 16, excludeChars: '~.x' });
    expect(merged.length).toBe(16);
    expect([...merged.exclude].sort().join('')).toBe('.x~');
    expect(mergeLimits(policy, { maxLength: 100 }).length).toBe(40);
    expect(mergeLimits(policy, {})).toEqual(policy);
  });

  it('refuses a result whose minimum counts exceed the capped length', () => {
    const strict = parsePasswordPolicy({ length: 20, lower: 4, upper: 4, digits: 4, symbols: 4 });
    const e = expectCode(() => mergeLimits(strict, { maxLength: 12 }), 'KT_PASSWORD_POLICY_UNSATISFIABLE');
    expect(e.message).toContain('add up to 16, more than the length 12');
    expect(e.message).toContain("capped to the target's maxLength 12");
  });

  it('refuses a result where a required class has no character left', () => {
    const e = expectCode(() => mergeLimits(policy, { excludeChars: DEFAULT_SYMBOL_SET }), 'KT_PASSWORD_POLICY_UNSATISFIABLE');
    expect(e.message).toContain('symbols requires 2');
    // A class with no minimum may lose all its characters.
    const optional = parsePasswordPolicy({ symbols: 0 });
    const merged = mergeLimits(optional, { excludeChars: DEFAULT_SYMBOL_SET });
    for (let i = 0; i < 200; i++) expectMeets(generatePassword(merged), merged);
  });

  it('refuses a maxLength that is not a positive integer', () => {
    expectCode(() => mergeLimits(policy, { maxLength: 0 }), 'KT_PASSWORD_POLICY_INVALID');
    expectCode(() => mergeLimits(policy, { maxLength: 3.5 }), 'KT_PASSWORD_POLICY_INVALID');
  });
});

describe('generatePassword', () => {
  it('meets every constraint over many generations, for several policies', () => {
    const policies = [
      parsePasswordPolicy({}),
      parsePasswordPolicy({ length: 8, lower: 2, upper: 2, digits: 2, symbols: 2 }),
      parsePasswordPolicy({ length: 24, symbols: 3, symbolSet: '!#%+=@^', exclude: AMBIGUOUS_CHARS }),
      parsePasswordPolicy({ length: 64, upper: false, symbols: false, digits: 10 }),
      mergeLimits(parsePasswordPolicy({ length: 48, symbols: 1 }), { maxLength: 20, excludeChars: '\'"\\-' }),
    ];
    for (const policy of policies) {
      const seen = new Set<string>();
      for (let i = 0; i < 1000; i++) {
        const password = generatePassword(policy);
        expectMeets(password, policy);
        seen.add(password);
      }
      expect(seen.size).toBe(1000);
    }
  });

  it('draws optional classes from the union too (symbols: 0 allows symbols, false forbids them)', () => {
    const allowed = parsePasswordPolicy({ length: 64, symbols: 0 });
    const text = Array.from({ length: 50 }, () => generatePassword(allowed)).join('');
    expect(count(text, DEFAULT_SYMBOL_SET)).toBeGreaterThan(0);
    const forbidden = parsePasswordPolicy({ length: 64, symbols: false });
    expect(count(Array.from({ length: 50 }, () => generatePassword(forbidden)).join(''), DEFAULT_SYMBOL_SET)).toBe(0);
  });

  it('refuses an unsatisfiable policy object with KT_PASSWORD_POLICY_UNSATISFIABLE', () => {
    const policy: PasswordPolicy = { length: 8, lower: 5, upper: 5, digits: false, symbols: false, symbolSet: DEFAULT_SYMBOL_SET, exclude: '' };
    expectCode(() => generatePassword(policy), 'KT_PASSWORD_POLICY_UNSATISFIABLE');
    expectCode(() => generatePassword({ ...policy, lower: 1, upper: 1, exclude: UPPER_CHARS }), 'KT_PASSWORD_POLICY_UNSATISFIABLE');
  });
});

describe('generatePassword distribution', () => {
  // With every minimum at 0, every character is a draw from the union of the classes.
  const policy = parsePasswordPolicy({ length: 1000, lower: 0, upper: 0, digits: 0, symbols: 0 });
  const union = enabledClasses(policy).flatMap((c) => c.chars);
  const df = union.length - 1;

  it('the critical-value helper matches the chi-square table at p = 0.001', () => {
    expect(Math.abs(chiSquareCritical001(60) - 99.607)).toBeLessThan(0.2);
    expect(Math.abs(chiSquareCritical001(100) - 149.449)).toBeLessThan(0.2);
  });

  it('the chi-square check catches modulo bias (the test has power)', () => {
    // What `% n` on random bytes does: 256 is not a multiple of 66, so some characters come up 4/256, others 3/256.
    const bytes = randomBytes(200_000);
    const biased = Array.from(bytes, (b) => union[b % union.length]!).join('');
    expect(chiSquareUniform(tally(biased), union, biased.length)).toBeGreaterThan(chiSquareCritical001(df));
  });

  it('characters drawn from the union are uniform: chi-square below the p = 0.001 critical value', () => {
    // 200 passwords of 1000 characters: about 3030 expected per character. A fair generator
    // exceeds the critical value in 1 run out of 1000.
    const text = Array.from({ length: 200 }, () => generatePassword(policy)).join('');
    expect(text).toHaveLength(200_000);
    const counts = tally(text);
    expect([...counts.keys()].sort()).toEqual([...union].sort());
    expect(chiSquareUniform(counts, union, text.length)).toBeLessThan(chiSquareCritical001(df));
  });

  it('required characters do not cluster: a class is as likely at the first position as at the last', () => {
    // 3 required digits, 9 draws from lower+digits (36 characters). After a fair shuffle every
    // position holds a digit with probability (3 + 9·10/36) / 12 = 11/24. Without the shuffle the
    // first 3 positions would always be digits. Each position's count is binomial; two positions
    // are tested, so each gets half of the 0.001 false-alarm budget: |z| < 3.48.
    const p = 11 / 24;
    const n = 20_000;
    const skewed = parsePasswordPolicy({ length: 12, lower: 0, upper: false, digits: 3, symbols: false });
    let first = 0;
    let last = 0;
    for (let i = 0; i < n; i++) {
      const password = generatePassword(skewed);
      if (DIGIT_CHARS.includes(password[0]!)) first++;
      if (DIGIT_CHARS.includes(password[11]!)) last++;
    }
    const sd = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(first - n * p) / sd).toBeLessThan(3.48);
    expect(Math.abs(last - n * p) / sd).toBeLessThan(3.48);
  });
});
