/**
 * A finding of the scanner, as collected in memory: the rule, where it is, and the raw secret.
 * The raw secret stays in memory only, for the inventory linkage (src/scan/link/) and the
 * fingerprint; every output goes through src/scan/report.ts, which redacts it.
 *
 * @example
 * ```ts
 * const f: ScanFinding = { ruleId: 'npm-token', description: 'npm access token', file: 'a/.npmrc', line: 3, column: 17,
 *   endLine: 3, endColumn: 57, secret: 'npm_...', fingerprint: 'c0ffee...' };
 * ```
 */
import type { LeakAction, SecretMatch } from './link/types.js';
import { createHash } from 'node:crypto';

/** What the detector reports: where, which rule, the raw secret. */
export interface RawFinding {
  readonly ruleId: string;
  readonly description: string;
  /** The path as shown (relative to the working directory, `/`-separated), or `-` for standard input. */
  readonly file: string;
  /** 1-based line and column of the secret's first character; end is inclusive of its last. */
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  /** The raw matched secret. Never printed, logged or written: only for fingerprints and the inventory linkage. */
  readonly secret: string;
  /** With --git: the commit that added it, its author and date (ISO). */
  readonly commit?: string;
  readonly author?: string;
  readonly date?: string;
}

export interface ScanFinding extends RawFinding {
  /** hash(rule, secret): the same secret under the same rule has the same one wherever it is. */
  readonly fingerprint: string;
  /** With a home or server: what the value is in the inventory, and what --rotate did (src/scan/link/). */
  readonly link?: FindingLink;
}

/** A finding's place in the inventory: the managed secret version it is (null: none), others holding it, and what --rotate did. */
export interface FindingLink {
  readonly match: SecretMatch | null;
  readonly also: readonly SecretMatch[];
  readonly action: LeakAction | null;
}

/** hash(rule, secret), hex: the content fingerprint, which keys baselines and SARIF's partialFingerprints. */
export function contentFingerprint(ruleId: string, secret: string): string {
  return createHash('sha256').update(ruleId).update('\0').update(secret).digest('hex').slice(0, 32);
}

/** The content fingerprint plus location: `fingerprint:file:line` (and `@commit` with --git). */
export function locationFingerprint(f: ScanFinding): string {
  return `${f.fingerprint}:${f.file}:${f.line}${f.commit === undefined ? '' : `@${f.commit}`}`;
}

export function withFingerprint(f: RawFinding): ScanFinding {
  return { ...f, fingerprint: contentFingerprint(f.ruleId, f.secret) };
}
