/**
 * The scanner's rule model, in gitleaks' schema: a rule has an id, a regex (its `secretGroup`
 * is the secret, else the first group that matched, else the whole match), an optional minimum
 * Shannon `entropy`, `keywords` (the regex runs only where one appears), an optional `path`
 * regex (the rule applies only to files whose path matches; a rule with only `path` reports the
 * file itself) and allowlists. {@link RuleSpec} is what a config file says; {@link Rule} is the
 * compiled form the detector runs (src/scan/compile.ts builds it).
 *
 * @example
 * ```ts
 * const spec: RuleSpec = { id: 'acme-token', regex: '\\b(acme_[a-z0-9]{32})\\b', keywords: ['acme_'] };
 * ```
 */

/** An allowlist, in gitleaks' schema: a finding it matches is not reported. */
export interface AllowlistSpec {
  readonly description?: string;
  /** OR (the default): any one check allows; AND: all the checks given must. */
  readonly condition?: 'OR' | 'AND';
  readonly regexes?: readonly string[];
  /** What `regexes` are tested against: the secret (default), the whole match or the line. */
  readonly regexTarget?: 'secret' | 'match' | 'line';
  readonly paths?: readonly string[];
  /** Words that, found in the secret (any case), allow it. */
  readonly stopwords?: readonly string[];
  /** Commit ids (full or prefix) whose findings are allowed (with --git). */
  readonly commits?: readonly string[];
}

export interface RuleSpec {
  readonly id: string;
  readonly description?: string;
  readonly regex?: string;
  readonly secretGroup?: number;
  readonly entropy?: number;
  readonly keywords?: readonly string[];
  readonly path?: string;
  readonly tags?: readonly string[];
  readonly allowlists?: readonly AllowlistSpec[];
}

/** A rule as the detector runs it. */
export interface Rule {
  readonly id: string;
  readonly description: string;
  readonly regex: RegExp | null;
  readonly secretGroup: number;
  readonly entropy: number;
  /** Lower-case keywords; empty means the regex runs on every line. */
  readonly keywords: readonly string[];
  readonly path: RegExp | null;
  readonly tags: readonly string[];
  readonly allowlists: readonly Allowlist[];
  /** Whether the regex can match across lines (it is run on a window of lines, not one line). */
  readonly multiline: boolean;
  /** A built-in rule's extra check of a candidate secret (a JWT's header decodes to JSON with "alg"). */
  readonly verify?: (secret: string) => boolean;
}

export interface Allowlist {
  readonly description: string;
  readonly and: boolean;
  readonly regexes: readonly RegExp[];
  readonly regexTarget: 'secret' | 'match' | 'line';
  readonly paths: readonly RegExp[];
  readonly stopwords: readonly string[];
  readonly commits: readonly string[];
}

/** The whole compiled configuration: the rules and the allowlists that apply to every rule. */
export interface ScanRules {
  readonly rules: readonly Rule[];
  readonly allowlists: readonly Allowlist[];
}
