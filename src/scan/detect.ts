/**
 * The detector: finds the rules' secrets in a chunk of text. One pass of the keyword automaton
 * (src/scan/keywords.ts) over the chunk finds where each rule's keywords occur; the rule's regex
 * then runs only on those lines (a line longer than {@link MAX_LINE} on a window around the
 * keyword, so a minified file costs no more than its size); a multi-line rule (PEM keys) runs on
 * a window of up to {@link MULTILINE_WINDOW} characters from the keyword's line. Each candidate
 * secret then passes the rule's entropy and extra check, its allowlists, the global allowlists
 * and the line's `keyturn:allow` (or `gitleaks:allow`) comment. Line breaks are a keyword of
 * the automaton, so lines are counted in the same pass. A chunk comes as text (`scanText`) or as
 * UTF-8 bytes (`scanBytes`: an ASCII file is never decoded whole).
 *
 * @example
 * ```ts
 * const d = new Detector(compileScanConfig(defaultScanConfig()));
 * d.scanText('token = "ghp_..."\n', { file: 'a.js', lineBase: 1 }, (f) => findings.push(f));
 * ```
 */
import { Buffer, isAscii } from 'node:buffer';
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

/**
 * One chunk being scanned, as the rules see it: its length, a line's bounds, line numbers
 * (counted lazily from a cursor: findings are rare) and pieces of it as strings. Two kinds: a
 * decoded string ({@link TextSource}), or bytes that are all ASCII ({@link AsciiSource}), which
 * are never decoded whole: only the lines a rule runs on become strings.
 */
interface Source {
  readonly length: number;
  /** The start of the line holding `pos`. */
  start(pos: number): number;
  /** The end of the line holding `pos` (its line break, or the end). */
  end(pos: number): number;
  /** The 0-based line index of `pos`. */
  lineIndex(pos: number): number;
  slice(from: number, to: number): string;
}

/** Line bounds and line numbers over whatever holds the chunk; subclasses find line breaks and cut strings. */
abstract class LineSource implements Source {
  /** A position whose line index is known, and that index. */
  private at = 0;
  private index = 0;

  constructor(readonly length: number) {}

  /** The first line break at or after `from`, or -1. */
  protected abstract nextBreak(from: number): number;
  /** The last line break at or before `at`, or -1. */
  protected abstract prevBreak(at: number): number;
  abstract slice(from: number, to: number): string;

  start(pos: number): number {
    return pos === 0 ? 0 : this.prevBreak(pos - 1) + 1;
  }

  end(pos: number): number {
    const e = this.nextBreak(pos);
    return e === -1 ? this.length : e;
  }

  lineIndex(pos: number): number {
    if (pos >= this.at) {
      for (let i = this.nextBreak(this.at); i !== -1 && i < pos; i = this.nextBreak(i + 1)) this.index++;
    } else {
      for (let i = this.prevBreak(this.at - 1); i !== -1 && i >= pos; i = i === 0 ? -1 : this.prevBreak(i - 1)) this.index--;
    }
    this.at = pos;
    return this.index;
  }
}

class TextSource extends LineSource {
  constructor(private readonly text: string) {
    super(text.length);
  }

  protected nextBreak(from: number): number {
    return this.text.indexOf('\n', from);
  }

  protected prevBreak(at: number): number {
    return this.text.lastIndexOf('\n', at);
  }

  slice(from: number, to: number): string {
    return this.text.slice(from, to);
  }
}

const NEWLINE = 10;

/**
 * Buffer's own latin1 slice, without `toString`'s argument handling (a tenth of the time of
 * cutting the lines the rules run on); `toString('latin1')` where a Node has no such method.
 */
const latin1Slice: (this: Buffer, from: number, to: number) => string =
  (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, from: number, to: number) => string }).latin1Slice ??
  function (this: Buffer, from: number, to: number): string {
    return this.toString('latin1', from, to);
  };

class AsciiSource extends LineSource {
  /** `bytes` is exactly the chunk (a view), all below 128. */
  constructor(private readonly bytes: Buffer) {
    super(bytes.length);
  }

  protected nextBreak(from: number): number {
    return this.bytes.indexOf(NEWLINE, from);
  }

  protected prevBreak(at: number): number {
    return this.bytes.lastIndexOf(NEWLINE, at);
  }

  slice(from: number, to: number): string {
    return latin1Slice.call(this.bytes, from, to);
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
  /** Per output state, 1 where a line break ends: the automaton reports line breaks as a keyword, so lines are counted in the same pass. */
  private readonly newlineAt: Uint8Array;

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
    const newline = ids.size;
    keywordRules.push([]);
    this.matcher = new KeywordMatcher([...ids.keys(), '\n']);
    const m = this.matcher;
    this.stateRules = Array.from({ length: m.states - m.firstOutput }, (_, k) => Int32Array.from(new Set(m.keywordsAt(m.firstOutput + k).flatMap((kw) => keywordRules[kw]!))).sort());
    this.newlineAt = Uint8Array.from({ length: m.states - m.firstOutput }, (_, k) => (m.keywordsAt(m.firstOutput + k).includes(newline) ? 1 : 0));
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

  /** Scans `text` (whole lines) and calls `emit` for each finding. */
  scanText(text: string, ctx: TextContext, emit: (f: RawFinding) => void): void {
    const m = this.matcher;
    this.scan(new TextSource(text), m.find(text, 0, text.length), ctx, emit);
  }

  /**
   * Scans `buf[from, to)`, UTF-8 (whole lines), as {@link scanText} would its decoded text. When
   * the bytes are all ASCII they are not decoded: the keyword pass reads them, and only the lines
   * a rule runs on become strings (a third of the scan's time went to decoding whole files and
   * collecting the strings).
   */
  scanBytes(buf: Buffer, from: number, to: number, ctx: TextContext, emit: (f: RawFinding) => void): void {
    const view = buf.subarray(from, to);
    if (!isAscii(view)) return this.scanText(view.toString('utf8'), ctx, emit);
    this.scan(new AsciiSource(view), this.matcher.findBytes(view, 0, view.length), ctx, emit);
  }

  /** Runs the rules at the `hits` the keyword pass left in the matcher's arrays. */
  private scan(src: Source, hits: number, ctx: TextContext, emit: (f: RawFinding) => void): void {
    const rules = this.rules.rules;
    // Which rules apply to this file: their path regex matches, and no allowlist of theirs allows the path.
    const applies = this.pathFree ?? rules.map((r) => r.regex !== null && (r.path === null || r.path.test(ctx.file)) && !r.allowlists.some((a) => allowsFile(a, ctx.file)));
    const covered = this.covered.fill(-1);
    // Findings are held back until the chunk is done: where two rules find overlapping secrets
    // (an AWS key that the generic assignment rule also sees), only the earlier rule reports.
    const pending: Pending[] = [];
    // Runs a rule at a keyword that ends at `pos`, on the line [ls, le) with index `line`.
    const runAt = (ruleIndex: number, pos: number, ls: number, le: number, line: number): void => {
      const rule = rules[ruleIndex]!;
      let from = ls;
      let to = le;
      if (rule.multiline) to = Math.min(src.length, ls + MULTILINE_WINDOW);
      else if (le - ls > MAX_LINE) {
        from = Math.max(ls, pos - WINDOW_BEFORE);
        to = Math.min(le, pos + WINDOW_AFTER);
      }
      covered[ruleIndex] = rule.multiline ? le + 1 : to;
      // A multi-line rule reports only what starts on the keyword's line: a later one has its own keyword.
      this.runRule(ruleIndex, src, from, to, rule.multiline ? le + 1 : to, ctx, pending, ls, le, line);
    };

    const m = this.matcher;
    const hitState = m.hitState;
    const hitEnd = m.hitEnd;
    const firstOutput = m.firstOutput;
    const newlineAt = this.newlineAt;
    // The hits come in text order, line breaks among them: the current line's index and start are
    // counted as they pass; its end is the next line break's hit, looked up when a rule runs.
    let line = 0;
    let ls = 0;
    let le = -1;
    let ahead = 0;
    for (let h = 0; h < hits; h++) {
      const k = hitState[h]! - firstOutput;
      const pos = hitEnd[h]! - 1;
      const list = this.stateRules[k]!;
      for (let j = 0; j < list.length; j++) {
        const r = list[j]!;
        if (!applies[r] || pos < covered[r]!) continue;
        if (le < pos) {
          if (ahead < h) ahead = h;
          while (ahead < hits && (newlineAt[hitState[ahead]! - firstOutput] !== 1 || hitEnd[ahead]! - 1 < pos)) ahead++;
          le = ahead < hits ? hitEnd[ahead]! - 1 : src.length;
        }
        runAt(r, pos, ls, le, line);
      }
      if (newlineAt[k] === 1) {
        line++;
        ls = pos + 1;
        le = -1;
      }
    }
    for (const r of this.everyLine) {
      if (!applies[r]) continue;
      let index = 0;
      for (let s = 0; s <= src.length; index++) {
        const e = src.end(s);
        for (let pos = s; pos <= e; pos += MAX_LINE) if (pos >= covered[r]!) runAt(r, pos, s, e, index);
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

  /** Runs a rule's regex on `[from, to)`, within or from the line `[lineStart, lineEnd)` whose index is `line`. */
  private runRule(ruleIndex: number, src: Source, from: number, to: number, startBefore: number, ctx: TextContext, pending: Pending[], lineStart: number, lineEnd: number, line: number): void {
    const rule = this.rules.rules[ruleIndex]!;
    const rx = rule.regex!;
    const window = src.slice(from, to);
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
      // On the keyword's line, but for a multi-line rule whose secret starts on a later line.
      const sameLine = start <= lineEnd;
      const ls = sameLine ? lineStart : src.start(start);
      const le = sameLine ? lineEnd : src.end(start);
      const lineText = src.slice(ls, Math.min(le, ls + 65_536));
      if (INLINE_ALLOW.test(lineText)) continue;
      const candidate: Candidate = { secret, match: m[0], line: lineText };
      if (rule.allowlists.some((a) => listAllows(a, candidate, ctx.file, ctx.commit))) continue;
      if (this.rules.allowlists.some((a) => listAllows(a, candidate, ctx.file, ctx.commit))) continue;
      const startLine = sameLine ? line : src.lineIndex(start);
      const endOnLine = end - 1 <= le;
      const finding: RawFinding = {
        ruleId: rule.id,
        description: rule.description,
        file: ctx.file,
        line: ctx.lineBase + startLine,
        column: start - ls + 1,
        endLine: ctx.lineBase + (endOnLine ? startLine : src.lineIndex(end - 1)),
        endColumn: end - 1 - (endOnLine ? ls : src.start(end - 1)) + 1,
        secret: detached(secret),
        ...(ctx.commit === undefined ? {} : { commit: ctx.commit }),
        ...(ctx.author === undefined ? {} : { author: ctx.author }),
        ...(ctx.date === undefined ? {} : { date: ctx.date }),
      };
      pending.push({ rule: ruleIndex, start, end, finding });
    }
  }
}
