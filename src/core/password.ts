/**
 * Password policies and the password generator (no I/O).
 *
 * A policy says how long a generated password is, which character classes it draws from
 * (`lower`, `upper`, `digits`, `symbols`), how many characters of each class it must hold at
 * least (`false` leaves a class out), which symbols exist, and which characters are never used.
 * A target adds its own limits (`mergeLimits`): its maximum length caps the length and its
 * excluded characters are removed; a policy that can no longer be met is refused with
 * `KT_PASSWORD_POLICY_UNSATISFIABLE` rather than silently weakened.
 *
 * Generation uses only `crypto.randomInt`, which does rejection sampling internally, so every
 * draw is uniform (never `% n` on random bytes). The required characters of each class are drawn
 * first, the rest from the union of the enabled classes, then a Fisher–Yates shuffle driven by
 * `randomInt` moves the required characters to uniformly random positions.
 *
 * The default symbol set is `-._~`, the RFC 3986 "unreserved" marks: they are never
 * percent-encoded in any part of a URL (so `postgres://user:PASSWORD@host` works unescaped),
 * they are not quotes or backslashes (safe inside SQL string literals on PostgreSQL and MySQL),
 * and they are not separators in key=value connection strings (`;`, `=`, space, quotes), dotenv or
 * YAML comments (`#`), or expansion characters (`$`, `%`, `!`, backtick). `+` is left out because
 * form decoding turns it into a space; `@ : / ? # %` because they delimit or escape URL parts.
 * Widen it with `symbolSet` when a target wants more variety; 66 characters at the default length
 * of 32 already give about 193 bits.
 *
 * @example
 * ```ts
 * const policy = parsePasswordPolicy({ length: 24, symbols: 2, exclude: AMBIGUOUS_CHARS });
 * const password = generatePassword(mergeLimits(policy, { maxLength: 16, excludeChars: '~' }));
 * ```
 */
import { issueLines } from './issues.js';
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { KeyturnError } from './errors.js';

export const LOWER_CHARS = 'abcdefghijklmnopqrstuvwxyz';
export const UPPER_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGIT_CHARS = '0123456789';
/** RFC 3986 unreserved marks: safe unescaped in URLs, SQL literals and connection strings (see the header). */
export const DEFAULT_SYMBOL_SET = '-._~';
/** Characters people confuse when reading a password aloud or off a screen; for `exclude`. */
export const AMBIGUOUS_CHARS = 'Il1O0o';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export const CLASS_NAMES = ['lower', 'upper', 'digits', 'symbols'] as const;
export type CharClassName = (typeof CLASS_NAMES)[number];

/** Printable ASCII that is neither a letter, a digit nor a space. */
const SYMBOL_CHAR = /^[!-/:-@[-`{-~]$/;

const classCount = (fallback: number) =>
  z
    .union([z.literal(false), z.number().int().min(0).max(MAX_PASSWORD_LENGTH)], {
      error: `must be a minimum count (an integer from 0 to ${MAX_PASSWORD_LENGTH}) or false to leave the class out`,
    })
    .default(fallback);

const policyShape = z.strictObject({
  length: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH}`)
    .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH}`)
    .default(32)
    .describe('number of characters'),
  lower: classCount(1).describe('minimum lower-case letters, or false to use none'),
  upper: classCount(1).describe('minimum upper-case letters, or false to use none'),
  digits: classCount(1).describe('minimum digits, or false to use none'),
  symbols: classCount(0).describe('minimum symbols from symbolSet, or false to use none'),
  symbolSet: z
    .string({ error: 'must be a string of symbol characters' })
    .min(1, 'must hold at least one symbol (set symbols: false to use none)')
    .max(94, 'must be at most 94 characters')
    .refine((s) => [...s].every((c) => SYMBOL_CHAR.test(c)), 'must hold only printable ASCII symbols (no letters, digits, spaces or non-ASCII)')
    .default(DEFAULT_SYMBOL_SET)
    .describe('the symbols to draw from'),
  exclude: z.string({ error: 'must be a string of characters' }).max(1024).default('').describe('characters never used'),
});

/** A password policy after defaults: what `generatePassword` takes. */
export type PasswordPolicy = z.output<typeof policyShape>;
/** A password policy as written in keyturn.yaml (every key optional). */
export type PasswordPolicyInput = z.input<typeof policyShape>;

/**
 * The zod schema of a password policy (strict; defaults filled in; refuses a policy that cannot
 * be met on its own, e.g. minimum counts adding up to more than the length).
 *
 * @example
 * ```ts
 * passwordPolicySchema.parse({ symbols: 2 }); // { length: 32, lower: 1, upper: 1, digits: 1, symbols: 2, symbolSet: '-._~', exclude: '' }
 * ```
 */
export const passwordPolicySchema = policyShape.superRefine((policy, ctx) => {
  for (const problem of problemsOf(policy)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});

/** Limits a target puts on passwords (structurally the same as `PasswordLimits` in src/targets/target.ts). */
export interface PasswordLimits {
  maxLength?: number;
  excludeChars?: string;
}

/**
 * Parses a policy from config or API input, or throws KT_PASSWORD_POLICY_INVALID naming each
 * problem by key.
 *
 * @example
 * ```ts
 * const policy = parsePasswordPolicy({ length: 20, symbols: false });
 * ```
 */
export function parsePasswordPolicy(input: unknown): PasswordPolicy {
  const result = passwordPolicySchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = issueLines(result.error.issues);
  throw new KeyturnError('KT_PASSWORD_POLICY_INVALID', `the password policy is not valid: ${problems.join('; ')}`, { details: { problems } });
}

/**
 * Applies a target's limits to a policy: `maxLength` caps the length, `excludeChars` joins the
 * excluded characters. Throws KT_PASSWORD_POLICY_UNSATISFIABLE when the result cannot be met.
 *
 * @example
 * ```ts
 * mergeLimits(policy, { maxLength: 16, excludeChars: "'\\" }).length; // at most 16
 * ```
 */
export function mergeLimits(policy: PasswordPolicy, limits: PasswordLimits): PasswordPolicy {
  const { maxLength, excludeChars } = limits;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new KeyturnError('KT_PASSWORD_POLICY_INVALID', `the target's maxLength must be a positive integer (got ${String(maxLength)})`);
  }
  const merged: PasswordPolicy = {
    ...policy,
    length: maxLength === undefined ? policy.length : Math.min(policy.length, maxLength),
    exclude: distinct(policy.exclude + (excludeChars ?? '')),
  };
  const capped = merged.length < policy.length ? ` (the length ${policy.length} was capped to the target's maxLength ${merged.length})` : '';
  assertSatisfiable(merged, capped);
  return Object.freeze(merged);
}

/**
 * Generates a password meeting the policy: exactly `length` characters, at least the minimum
 * count of each class, none of the excluded characters, only characters of the enabled classes.
 * Throws KT_PASSWORD_POLICY_UNSATISFIABLE when the policy cannot be met.
 *
 * @example
 * ```ts
 * generatePassword(parsePasswordPolicy({ length: 20 })); // e.g. 'q7Vd-kR2xw9LmZ.tB4ne'
 * ```
 */
export function generatePassword(policy: PasswordPolicy): string {
  const { classes, union } = checkedClasses(policy);
  const out: string[] = [];
  for (const c of classes) for (let i = 0; i < c.min; i++) out.push(pick(c.chars));
  while (out.length < policy.length) out.push(pick(union));
  shuffle(out);
  return out.join('');
}

/** A policy's classes and their union, checked satisfiable: worked out once per policy object (a rotation generates from the same one each time). */
const checked = new WeakMap<PasswordPolicy, { classes: ReturnType<typeof enabledClasses>; union: string[] }>();

function checkedClasses(policy: PasswordPolicy): { classes: ReturnType<typeof enabledClasses>; union: string[] } {
  let hit = checked.get(policy);
  if (hit === undefined) {
    assertSatisfiable(policy, '');
    const classes = enabledClasses(policy);
    hit = { classes, union: classes.flatMap((c) => c.chars) };
    // Only a frozen policy cannot change after it was checked.
    if (Object.isFrozen(policy)) checked.set(policy, hit);
  }
  return hit;
}

/** The characters a policy may use, class by class, after exclusions (duplicates removed). */
export function enabledClasses(policy: PasswordPolicy): Array<{ name: CharClassName; chars: string[]; min: number }> {
  const excluded = new Set(policy.exclude);
  const sets: Record<CharClassName, string> = { lower: LOWER_CHARS, upper: UPPER_CHARS, digits: DIGIT_CHARS, symbols: policy.symbolSet };
  const out: Array<{ name: CharClassName; chars: string[]; min: number }> = [];
  for (const name of CLASS_NAMES) {
    const setting = policy[name];
    if (setting === false) continue;
    out.push({ name, chars: [...new Set(sets[name])].filter((c) => !excluded.has(c)), min: setting });
  }
  return out;
}

/** A uniformly random element: `randomInt` rejects out-of-range draws, so there is no modulo bias. */
function pick(chars: readonly string[]): string {
  return chars[randomInt(chars.length)]!;
}

/** Fisher–Yates: every permutation equally likely, each swap index drawn with `randomInt`. */
function shuffle(items: string[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

function assertSatisfiable(policy: PasswordPolicy, context: string): void {
  const problems = problemsOf(policy);
  if (problems.length === 0) return;
  throw new KeyturnError('KT_PASSWORD_POLICY_UNSATISFIABLE', `the password policy cannot be met: ${problems.map((p) => p.message).join('; ')}${context}`, {
    details: { problems: problems.map((p) => p.message) },
  });
}

/** Why a well-formed policy cannot be met (empty when it can). Names classes and counts, never characters. */
function problemsOf(policy: PasswordPolicy): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = [];
  const classes = enabledClasses(policy);
  const required = classes.reduce((sum, c) => sum + c.min, 0);
  if (required > policy.length) {
    problems.push({ path: ['length'], message: `the minimum counts add up to ${required}, more than the length ${policy.length}` });
  }
  for (const c of classes) {
    if (c.min > 0 && c.chars.length === 0) {
      problems.push({ path: [c.name], message: `${c.name} requires ${c.min} character(s) but every ${c.name} character is excluded` });
    }
  }
  if (classes.every((c) => c.chars.length === 0)) {
    problems.push({ path: [], message: 'no character is left to draw from (every class is off or excluded)' });
  }
  return problems;
}

function distinct(chars: string): string {
  return [...new Set(chars)].join('');
}
