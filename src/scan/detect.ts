/**
 * The detector: finds the rules' secrets in a chunk of text. One pass of the keyword automaton
 * (src/scan/keywords.ts) over the chunk finds where each rule's keywords occur; the rule's regex
 * then runs only on those lines (a line longer than {@link MAX_LINE} on a window around the
 * keyword, so a minified file costs no more than its size); a multi-line rule (PEM keys) runs on
 * a window of up to {@link MULTILINE_WINDOW} characters from the keyword's line. Each candidate
 * secret then passes the rule's entropy and extra check, its allowlists, the global allowlists
 * and the line's `keyturn:allow` (or `gitleaks:allow`) comment.
 *
 * @example
 * ```ts
 * const d = new Detector(compileScanConfig(defaultScanConfig()));
 * d.scanText('token = "ghp_..."\n', { file: 'a.js', lineBase: 1 }, (f) => findings.push(f));
 * ```
 */
import { Buffer } from 'node:buffer';
import { shannonEntropy } from './entropy.js';
import type { RawFinding } from './finding.js';
import { KeywordMatcher } from './keywords.js';
import type { Allowlist, ScanRules } from './rule.js';

/** Lines longer than this are scanned in windows around each keyword. */
export const MAX_LINE = 4096;
const WINDOW_BEFORE = 400;
const WINDOW_AFTER = 600;
/** How far a multi-line rule looks from its keyword's line. */
export const MULTILINE_WINDOW = 32_768;

const INLINE_ALLOW = /keyturn:allow|gitleaks:allow/;

export interface TextContext {
  readonly file: string;
  /** The line number of the text's first character (1-based). */
  readonly lineBase: number;
  /** Only findings that end after this index are reported (the overlap with the chunk before). */
  readonly reportFrom?: number;
  readonly commit?: string;
  readonly author?: string;
  readonly date?: string;
}

interface Pending {
  readonly rule: number;
  readonly start: number;
  readonly end: number;
  readonly finding: RawFinding;
}

interface Candidate {
  readonly secret: string;
  readonly match: string;
  readonly line: string;
}

function listAllows(a: Allowlist, c: Candidate, file: string, commit: string | undefined): boolean {
  const checks: boolean[] = [];
  if (a.commits.length > 0) checks.push(commit !== undefined && a.commits.some((x) => commit.startsWith(x)));
  if (a.paths.length > 0) checks.push(a.paths.some((p) => p.test(file)));
  if (a.regexes.length > 0) {
    const target = a.regexTarget === 'secret' ? c.secret : a.regexTarget === 'match' ? c.match : c.line;
    checks.push(a.regexes.some((r) => r.test(target)));
  }
  if (a.stopwords.length > 0) {
    const lower = c.secret.toLowerCase();
    checks.push(a.stopwords.some((w) => lower.includes(w)));
  }
  if (checks.length === 0) return false;
  return a.and ? checks.every(Boolean) : checks.some(Boolean);
}

/** Whether an allowlist allows a whole file by its path alone (OR, with paths). */
function allowsFile(a: Allowlist, file: string): boolean {
  return !a.and && a.paths.some((p) => p.test(file));
}

/**
 * A copy of `s` that does not point into the text it was cut from. V8 cuts a long substring as a
 * view of its parent, so a finding's secret would keep its whole file's text alive until the
 * scan ends: on 5,000 files that made every young-generation collection copy megabytes (a fifth
 * of the scan's time went to the collector; with copies, well under a tenth).
 */
function detached(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** The first capture group that took part in the match (gitleaks' secret when secretGroup is not set), or 0. */
function firstGroup(m: RegExpExecArray): number {
  for (let g = 1; g < m.length; g++) if (m[g] !== undefined) return g;
  return 0;
}

/** Line lookups on one chunk of text: a line's bounds, and line numbers counted lazily from a cursor. */
class Lines {
  /** A position whose line index is known, and that index (0-based). */
  private at = 0;
  private index = 0;

  constructor(private readonly text: string) {}

  /** The start of the line holding `pos`. */
  start(pos: number): number {
    return pos === 0 ? 0 : this.text.lastIndexOf('\n', pos - 1) + 1;
  }

  /** The end of the line holding `pos` (its line break, or the text's end). */
  end(pos: number): number {
    const e = this.text.indexOf('\n', pos);
    return e === -1 ? this.text.length : e;
  }

  /** The 0-based line index of `pos`: newlines counted from the last position asked (findings are rare, so this is cheap). */
  indexOf(pos: number): number {
    const text = this.text;
    if (pos >= this.at) {
      for (let i = text.indexOf('\n', this.at); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) this.index++;
    } else {
      for (let i = text.lastIndexOf('\n', this.at - 1); i !== -1 && i >= pos; i = i === 0 ? -1 : text.lastIndexOf('\n', i - 1)) this.index--;
    }
    this.at = pos;
    return this.index;
  }
}

export class Detector {
  readonly rules: ScanRules;
  private readonly matcher: KeywordMatcher;
  /** Per output state of the keyword automaton (state - firstOutput), the rules whose keywords end there. */
  private readonly stateRules: readonly Int32Array[];
  /** Rules without keywords: their regex runs on every line. */
  private readonly everyLine: readonly number[];
  /** Which rules apply to every file, when no rule depends on the path (else computed per file). */
  private readonly pathFree: readonly boolean[] | undefined;
  /** Per rule, the position before which a hit is already covered by a run of its regex (reset per chunk). */
  private readonly covered: Int32Array;

  constructor(rules: ScanRules) {
    this.rules = rules;
    const ids = new Map<string, number>();
    const keywordRules: number[][] = [];
    const everyLine: number[] = [];
    rules.rules.forEach((r, i) => {
      if (r.regex === null) return;
      if (r.keywords.length === 0) everyLine.push(i);
      for (const k of r.keywords) {
        let id = ids.get(k);
        if (id === undefined) {
          id = ids.size;
          ids.set(k, id);
          keywordRules.push([]);
        }
        if (!keywordRules[id]!.includes(i)) keywordRules[id]!.push(i);
      }
    });
    this.matcher = new KeywordMatcher([...ids.keys()]);
    const m = this.matcher;
    this.stateRules = Array.from({ length: m.states - m.firstOutput }, (_, k) => Int32Array.from(new Set(m.keywordsAt(m.firstOutput + k).flatMap((kw) => keywordRules[kw]!))).sort());
    this.everyLine = everyLine;
    const byPath = rules.rules.some((r) => r.path !== null || r.allowlists.some((a) => a.paths.length > 0));
    this.pathFree = byPath ? undefined : rules.rules.map((r) => r.regex !== null);
    this.covered = new Int32Array(rules.rules.length);
  }

  /** Whether a file is skipped whole: a global allowlist allows its path (lock files). */
  skipsFile(file: string): boolean {
    return this.rules.allowlists.some((a) => allowsFile(a, file));
  }

  /** Findings for rules that have only a `path` (the file itself is the finding). */
  pathFindings(file: string): RawFinding[] {
    const out: RawFinding[] = [];
    for (const r of this.rules.rules) {
      if (r.regex !== null || r.path === null || !r.path.test(file)) continue;
      if (r.allowlists.some((a) => allowsFile(a, file))) continue;
      out.push({ ruleId: r.id, description: r.description, file, line: 1, column: 1, endLine: 1, endColumn: 1, secret: file });
    }
    return out;
  }

  /**
   * Scans `text` (whole lines) and calls `emit` for each finding. `bytes`, when given, is where
   * `text` was decoded from (UTF-8): the keyword pass then reads the bytes when they are all ASCII.
   */
  scanText(text: string, ctx: TextContext, emit: (f: RawFinding) => void, bytes?: { readonly buf: Uint8Array; readonly from: number; readonly to: number }): void {
    const rules = this.rules.rules;
    // Which rules apply to this file: their path regex matches, and no allowlist of theirs allows the path.
    const applies = this.pathFree ?? rules.map((r) => r.regex !== null && (r.path === null || r.path.test(ctx.file)) && !r.allowlists.some((a) => allowsFile(a, ctx.file)));
    const covered = this.covered.fill(-1);
    const lines = new Lines(text);
    // Findings are held back until the chunk is done: where two rules find overlapping secrets
    // (an AWS key that the generic assignment rule also sees), only the earlier rule reports.
    const pending: Pending[] = [];
    // The line of the last hit, kept while hits fall on it.
    let ls = -1;
    let le = -1;
    const runAt = (ruleIndex: number, pos: number): void => {
      if (pos < covered[ruleIndex]!) return;
      const rule = rules[ruleIndex]!;
      if (pos > le || pos < ls) {
        ls = lines.start(pos);
        le = lines.end(pos);
      }
      let from = ls;
      let to = le;
      if (rule.multiline) to = Math.min(text.length, ls + MULTILINE_WINDOW);
      else if (le - ls > MAX_LINE) {
        from = Math.max(ls, pos - WINDOW_BEFORE);
        to = Math.min(le, pos + WINDOW_AFTER);
      }
      covered[ruleIndex] = rule.multiline ? le + 1 : to;
      // A multi-line rule reports only what starts on the keyword's line: a later one has its own keyword.
      this.runRule(ruleIndex, text, from, to, rule.multiline ? le + 1 : to, ctx, lines, pending);
    };

    const m = this.matcher;
    // From the bytes when the text was decoded from them one byte a character (ASCII): the same hits, read faster.
    const hits = bytes !== undefined && bytes.to - bytes.from === text.length ? m.findBytes(bytes.buf, bytes.from, bytes.to) : m.find(text, 0, text.length);
    const hitState = m.hitState;
    const hitEnd = m.hitEnd;
    const firstOutput = m.firstOutput;
    for (let h = 0; h < hits; h++) {
      const list = this.stateRules[hitState[h]! - firstOutput]!;
      const pos = hitEnd[h]! - 1;
      for (let j = 0; j < list.length; j++) {
        const r = list[j]!;
        if (applies[r] && pos >= covered[r]!) runAt(r, pos);
      }
    }
    for (const r of this.everyLine) {
      if (!applies[r]) continue;
      for (let s = 0; s <= text.length;) {
        const e = lines.end(s);
        for (let pos = s; pos <= e; pos += MAX_LINE) runAt(r, pos);
        s = e + 1;
      }
    }
    if (pending.length === 0) return;
    pending.sort((a, b) => a.start - b.start || a.rule - b.rule);
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      let shadowed = false;
      for (let j = 0; j < pending.length && !shadowed; j++) {
        const q = pending[j]!;
        if (q.start >= p.end) break;
        shadowed = j !== i && q.rule < p.rule && q.end > p.start;
      }
      if (!shadowed) emit(p.finding);
    }
  }

  private runRule(ruleIndex: number, text: string, from: number, to: number, startBefore: number, ctx: TextContext, lines: Lines, pending: Pending[]): void {
    const rule = this.rules.rules[ruleIndex]!;
    const rx = rule.regex!;
    const window = text.slice(from, to);
    rx.lastIndex = 0;
    for (let m = rx.exec(window); m !== null; m = rx.exec(window)) {
      if (from + m.index >= startBefore) break;
      if (m[0].length === 0) {
        rx.lastIndex++;
        continue;
      }
      let group = rule.secretGroup;
      if (group === 0) group = firstGroup(m);
      const secret = group === 0 ? m[0] : m[group];
      if (secret === undefined || secret === '') continue;
      const offsetInMatch = group === 0 ? 0 : m[0].indexOf(secret);
      const start = from + m.index + Math.max(0, offsetInMatch);
      const end = start + secret.length;
      if (ctx.reportFrom !== undefined && end <= ctx.reportFrom) continue;
      if (rule.entropy > 0 && shannonEntropy(secret) < rule.entropy) continue;
      if (rule.verify && !rule.verify(secret)) continue;
      const ls = lines.start(start);
      const le = lines.end(start);
      const lineText = text.slice(ls, Math.min(le, ls + 65_536));
      if (INLINE_ALLOW.test(lineText)) continue;
      const candidate: Candidate = { secret, match: m[0], line: lineText };
      if (rule.allowlists.some((a) => listAllows(a, candidate, ctx.file, ctx.commit))) continue;
      if (this.rules.allowlists.some((a) => listAllows(a, candidate, ctx.file, ctx.commit))) continue;
      const line = lines.indexOf(start);
      const endLine = lines.indexOf(end - 1);
      const finding: RawFinding = {
        ruleId: rule.id,
        description: rule.description,
        file: ctx.file,
        line: ctx.lineBase + line,
        column: start - ls + 1,
        endLine: ctx.lineBase + endLine,
        endColumn: end - 1 - lines.start(end - 1) + 1,
        secret: detached(secret),
        ...(ctx.commit === undefined ? {} : { commit: ctx.commit }),
        ...(ctx.author === undefined ? {} : { author: ctx.author }),
        ...(ctx.date === undefined ? {} : { date: ctx.date }),
      };
      pending.push({ rule: ruleIndex, start, end, finding });
    }
  }
}
