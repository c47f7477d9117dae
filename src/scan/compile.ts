/**
 * Compiles rule specs (gitleaks schema, src/scan/rule.ts) into the rules the detector runs:
 * each regex translated from Go syntax (src/scan/go-regex.ts), checked for catastrophic
 * backtracking with safe-regex2 (a repetition inside a repetition is refused with
 * KT_SCAN_REGEX_UNSAFE: V8 backtracks, so such a regex could stall a scan on one line), and
 * compiled once. `where` names the config file in error messages.
 *
 * @example
 * ```ts
 * const rules = compileRules(DEFAULT_RULES, DEFAULT_ALLOWLISTS, 'the default rules');
 * ```
 */
import safeRegex from 'safe-regex2';
import { KeyturnError } from '../core/errors.js';
import { DEFAULT_VERIFY } from './default-rules.js';
import { fromGoRegex } from './go-regex.js';
import type { Allowlist, AllowlistSpec, Rule, RuleSpec, ScanRules } from './rule.js';

/**
 * The source without `?` quantifiers (optional parts and lazy markers) for the backtracking
 * check: safe-regex2 counts `(?:x)?` and `{0,20}?` as repetitions, so an optional group inside a
 * repetition would be refused, although an optional part cannot make backtracking exponential.
 */
export function withoutOptionals(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') inClass = true;
    if (c === '?' && source[i - 1] !== '(') continue;
    out += c;
  }
  return out;
}

/** Compiles one regex of a config; `field` names it in errors (rule id and key), never its input text beyond the pattern. */
export function compileRegex(pattern: string, field: string, where: string, extraFlags = ''): RegExp {
  let translated: { source: string; flags: string };
  try {
    translated = fromGoRegex(pattern);
  } catch (err) {
    throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${field}: ${(err as Error).message}`);
  }
  if (!safeRegex(withoutOptionals(translated.source), { limit: 40 })) {
    throw new KeyturnError('KT_SCAN_REGEX_UNSAFE', `${where}: ${field}: /${translated.source}/ has a repetition inside a repetition (or cannot be parsed)`);
  }
  try {
    return new RegExp(translated.source, [...new Set(translated.flags + extraFlags)].join(''));
  } catch (err) {
    throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${field}: not a valid regular expression (${(err as Error).message})`);
  }
}

export function compileAllowlist(spec: AllowlistSpec, field: string, where: string): Allowlist {
  const target = spec.regexTarget ?? 'secret';
  if (target !== 'secret' && target !== 'match' && target !== 'line') {
    throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${field}.regexTarget is "${String(target)}": use secret, match or line`);
  }
  const condition = (spec.condition ?? 'OR').toUpperCase();
  if (condition !== 'OR' && condition !== 'AND') throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${field}.condition is "${condition}": use OR or AND`);
  return {
    description: spec.description ?? '',
    and: condition === 'AND',
    regexes: (spec.regexes ?? []).map((r, i) => compileRegex(r, `${field}.regexes[${i}]`, where)),
    regexTarget: target,
    paths: (spec.paths ?? []).map((r, i) => compileRegex(r, `${field}.paths[${i}]`, where)),
    stopwords: (spec.stopwords ?? []).map((w) => w.toLowerCase()),
    commits: spec.commits ?? [],
  };
}

/**
 * Whether a regex is meant to match across lines (a PEM block): it names a line break, `[\s\S]`,
 * the `s` flag, or a class (not a negated one) with `\s` repeated hundreds of times. Such a rule runs on a window of
 * lines from its keyword; every other rule on the keyword's line.
 */
function spansLines(rx: RegExp): boolean {
  return rx.flags.includes('s') || /\\n|\\s\\S|\\S\\s|\[(?!\^)[^\]]*\\s[^\]]*\]\{\d+,\d{3,}\}/.test(rx.source);
}

export function compileRule(spec: RuleSpec, where: string): Rule {
  const field = `rule ${spec.id}`;
  if (spec.regex === undefined && spec.path === undefined) throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${field} has neither regex nor path`);
  const regex = spec.regex === undefined ? null : compileRegex(spec.regex, `${field}.regex`, where, 'g');
  const group = spec.secretGroup ?? 0;
  if (!Number.isInteger(group) || group < 0) throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: ${field}.secretGroup must be a whole number`);
  const verify = DEFAULT_VERIFY[spec.id];
  return {
    id: spec.id,
    description: spec.description ?? spec.id,
    regex,
    secretGroup: group,
    entropy: spec.entropy ?? 0,
    keywords: (spec.keywords ?? []).map((k) => k.toLowerCase()).filter((k) => k.length > 0),
    path: spec.path === undefined ? null : compileRegex(spec.path, `${field}.path`, where),
    tags: spec.tags ?? [],
    allowlists: (spec.allowlists ?? []).map((a, i) => compileAllowlist(a, `${field}.allowlists[${i}]`, where)),
    multiline: regex !== null && spansLines(regex),
    ...(verify === undefined ? {} : { verify }),
  };
}

export function compileRules(rules: readonly RuleSpec[], allowlists: readonly AllowlistSpec[], where: string): ScanRules {
  const seen = new Set<string>();
  for (const r of rules) {
    if (typeof r.id !== 'string' || r.id === '') throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: a rule has no id`);
    if (seen.has(r.id)) throw new KeyturnError('KT_SCAN_CONFIG_INVALID', `${where}: rule id ${r.id} is given twice`);
    seen.add(r.id);
  }
  return { rules: rules.map((r) => compileRule(r, where)), allowlists: allowlists.map((a, i) => compileAllowlist(a, `allowlists[${i}]`, where)) };
}
