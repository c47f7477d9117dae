/**
 * The scan linkage over HTTP (`POST /v1/scan/match`, `POST /v1/scan/leaked`, ./routes.ts): what
 * a client sends (each candidate's value, over TLS, with the finding's fingerprint and place; the
 * server hashes the values, because the audit HMAC keys never leave it) and what it answers (per
 * candidate, in order, the match and the other matches; with `/leaked`, the actions: never a value).
 * One module for both ends, so the two cannot drift apart.
 *
 * @example
 * ```ts
 * const body = { candidates: findings.map(candidateJson) };
 * const linked = answerToLinked(findings, await call('POST', '/v1/scan/match', body));
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { LeakAction, LinkedFinding, LinkableFinding, SecretMatch } from './types.js';

/** Candidates per request (the route refuses more; the client sends them in batches of this size). */
export const MAX_CANDIDATES = 500;
/** The longest value sent (a store holds at most 64 KiB; a longer value cannot match). */
export const MAX_VALUE_CHARS = 65_536;
/** The longest fingerprint and file name sent (longer ones are cut: an event keeps 128 and 1024 characters). */
export const MAX_FINGERPRINT_CHARS = 256;
export const MAX_FILE_CHARS = 1000;

/** One candidate as sent: the finding without its rule's internals. */
export interface CandidateJson {
  readonly value: string;
  readonly ruleId: string;
  readonly fingerprint: string;
  readonly file: string;
  readonly line: number;
}

/** One answer per candidate, in order. */
export interface LinkedJson {
  readonly match: SecretMatch | null;
  readonly also: readonly SecretMatch[];
  /** `/leaked` only: what was done for the matched secret (null: nothing). */
  readonly action?: LeakAction | null;
}

/**
 * The candidate a finding is sent as.
 *
 * @example
 * ```ts
 * candidateJson({ ruleId: 'r', secret: 'v', fingerprint: 'f', file: 'a', line: 1 }); // { value: 'v', ruleId: 'r', ... }
 * ```
 */
export function candidateJson(f: LinkableFinding): CandidateJson {
  return {
    value: f.secret,
    ruleId: f.ruleId.slice(0, 256) || '-',
    fingerprint: f.fingerprint.slice(0, MAX_FINGERPRINT_CHARS) || '-',
    file: f.file.slice(0, MAX_FILE_CHARS) || '-',
    line: Number.isSafeInteger(f.line) && f.line >= 0 ? f.line : 0,
  };
}

/**
 * The finding a candidate stands for, on the server.
 *
 * @example
 * ```ts
 * findingOf(candidateJson(f)).secret === f.secret; // true
 * ```
 */
export function findingOf(c: CandidateJson): LinkableFinding {
  return { ruleId: c.ruleId, secret: c.value, fingerprint: c.fingerprint, file: c.file, line: c.line };
}

/**
 * A linked finding as answered (no value), with its action when given.
 *
 * @example
 * ```ts
 * linkedJson(linked[0], null); // { match: {...}, also: [], action: null }
 * ```
 */
export function linkedJson(l: LinkedFinding, action?: LeakAction | null): LinkedJson {
  return { match: l.match, also: l.also, ...(action === undefined ? {} : { action }) };
}

/**
 * The client's linked findings from a server's answer to their candidates (same order).
 *
 * @example
 * ```ts
 * answerToLinked(findings, { results: [{ match: null, also: [] }] })[0].match; // null
 * ```
 */
export function answerToLinked<F extends LinkableFinding>(findings: readonly F[], answer: Record<string, unknown>): (LinkedFinding<F> & { action: LeakAction | null })[] {
  const results = answer.results;
  if (!Array.isArray(results) || results.length !== findings.length) {
    throw new KeyturnError('KT_REMOTE_UNSUPPORTED', 'the server answered the scan linkage with an unexpected shape: is it a Keyturn server of the same version?');
  }
  return findings.map((finding, i) => {
    const r = results[i] as LinkedJson;
    const action = r.action ?? null;
    return r.match === null ? { finding, match: null, also: [] as const, action } : { finding, match: r.match, also: r.also, action };
  });
}
