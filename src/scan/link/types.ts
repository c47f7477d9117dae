/**
 * The shapes of the scan linkage: a scanner finding as it comes in (with its raw value, kept in
 * memory only), what it is linked to in the inventory, and what `--rotate` did about it.
 *
 * @example
 * ```ts
 * const finding: LinkableFinding = { ruleId: 'aws-secret-key', secret: raw, fingerprint: 'f1c2…', file: 'app/.env', line: 3 };
 * ```
 */
import type { ScanFinding } from '../finding.js';

/**
 * What the linkage needs of a scanner finding (src/scan/finding.ts): `secret` is the raw matched
 * value, never logged, audited or returned. A finding that came through the API has no column.
 */
export type LinkableFinding = Pick<ScanFinding, 'ruleId' | 'secret' | 'fingerprint' | 'file' | 'line'> & { readonly column?: number };

/** Where a matched version stands: holding the current or pending stage, the previous one, or none any more. */
export type MatchStage = 'current' | 'pending' | 'previous' | 'older';

/** A managed secret version whose value (or one field of it) is the finding's value. */
export interface SecretMatch {
  readonly path: string;
  readonly versionId: string;
  readonly stage: MatchStage;
  /** `managed secret PATH` (current or pending), `old value of PATH` (previous or older). */
  readonly label: string;
  /** The field of a fields value that matched; absent when the whole value did. */
  readonly field?: string;
}

/**
 * A finding linked to the inventory: `match` is the most urgent version it matched (current, then
 * pending, previous, older; null: none), `also` any other secrets or versions holding the same value.
 */
export type LinkedFinding<F extends LinkableFinding = LinkableFinding> =
  { readonly finding: F; readonly match: null; readonly also: readonly [] } | { readonly finding: F; readonly match: SecretMatch; readonly also: readonly SecretMatch[] };

/** What `--rotate` did for one matched secret. */
export interface LeakAction {
  readonly path: string;
  readonly stage: MatchStage;
  /**
   * `rotated`: a run was started (and finished or waits: see `runStatus`); `queued`: the emergency
   * request stands but the run could not start here (`error` says why; the scheduler takes it
   * first); `not-rotated`: an old value (rotation already happened: revoke it if still in grace).
   */
  readonly action: 'rotated' | 'queued' | 'not-rotated';
  readonly runId: string | null;
  readonly runStatus: string | null;
  /** The run cancelled first, when the leaked value was a rotation's pending one. */
  readonly cancelledRunId: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly note: string | null;
}
