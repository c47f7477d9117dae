/**
 * The keyword prefilter: an Aho-Corasick automaton over all rules' keywords, compiled to a DFA,
 * so one pass over a chunk of text finds every keyword occurrence in time linear in the text,
 * whatever the number of keywords. A rule's regex then runs only on the lines where one of its
 * keywords occurs (src/scan/detect.ts). Keywords are ASCII and matched in any case; a character
 * outside ASCII resets the automaton.
 *
 * The pass is the scanner's hottest loop, so the tables are laid out for it:
 * - characters are mapped to classes first (all characters that occur in no keyword share class
 *   0, upper-case letters share their lower-case letter's class), so a state's row is only as
 *   wide as the keywords' alphabet and the whole table stays in the CPU's cache;
 * - the table holds row offsets (state × classes), so the loop does no multiplication;
 * - states where a keyword ends are numbered last, so "a keyword ends here" is one comparison
 *   with no memory read;
 * - hits are written to two typed arrays (the state and the end index), not passed to a
 *   callback, so the loop stays small enough for V8 to compile it the same way every time;
 * - over bytes ({@link KeywordMatcher.findBytes}) the loop reads two halves at once and runs as
 *   WebAssembly (src/scan/wasm-byte-loop.ts), the TypeScript loop staying for large automata.
 *
 * @example
 * ```ts
 * const m = new KeywordMatcher(['akia', 'ghp_']);
 * m.scan('x = AKIA...', (keyword, end) => console.log(keyword, end)); // 0 8
 * const n = m.find('x = AKIA...', 0, 11); // 1: m.hitState[0] is where 'akia' ends, m.hitEnd[0] is 8
 * ```
 */

import { WasmByteLoop } from './wasm-byte-loop.js';

const ASCII = 128;
/** Ranges shorter than this are read with one chain (two cost more to set up than they save). */
const TWO_CHAINS_MIN = 256;

/** Where {@link KeywordMatcher.findBytes} leaves its hits, and the second chain's until they are appended. */
interface HitArrays {
  readonly state: Int32Array;
  readonly end: Int32Array;
  readonly state2: Int32Array;
  readonly end2: Int32Array;
}

export class KeywordMatcher {
  readonly keywords: readonly string[];
  /** The state reached after each hit of the last {@link find} (an output state: see {@link keywordsAt}). */
  hitState: Int32Array = new Int32Array(1024);
  /** The index just past each hit of the last {@link find}. */
  hitEnd: Int32Array = new Int32Array(1024);
  /** Number of states; output states are `firstOutput` to `states - 1`. */
  readonly states: number;
  readonly firstOutput: number;
  /** The character class of each ASCII character. */
  private readonly classOf: Uint8Array;
  /** The class of each byte (0 for 128 and up), so the byte loop needs no range check. */
  private readonly byteClassOf: Uint8Array;
  /** The longest keyword's length. */
  private readonly maxLength: number;
  private bytesHits: HitArrays;
  /** The byte loop in WebAssembly, when the table has 16-bit entries (else the TypeScript loop). */
  private readonly wasm: WasmByteLoop | undefined;
  private readonly classes: number;
  /** next[state * classes + class], stored as the next state's row offset (state * classes). */
  private readonly next: Uint16Array | Int32Array;
  /** The keyword ids that end at each output state (its own and its suffixes'), by state - firstOutput. */
  private readonly outputs: ReadonlyArray<readonly number[]>;

  constructor(keywords: readonly string[]) {
    this.keywords = keywords;
    const lower = keywords.map((raw) => {
      const kw = raw.toLowerCase();
      for (let i = 0; i < kw.length; i++) if (kw.charCodeAt(i) >= ASCII) throw new Error(`keyword ${JSON.stringify(raw)} is not ASCII`);
      return kw;
    });
    // Character classes: 0 for every character in no keyword; one per other (lower-case) character.
    const classOf = new Uint8Array(ASCII);
    let classes = 1;
    for (const kw of lower) for (let i = 0; i < kw.length; i++) if (classOf[kw.charCodeAt(i)] === 0) classOf[kw.charCodeAt(i)] = classes++;
    for (let c = 65; c <= 90; c++) if (classOf[c + 32] !== 0 && classOf[c] === 0) classOf[c] = classOf[c + 32]!;
    // The trie (goto function), over classes.
    const gotoRows: Int32Array[] = [new Int32Array(classes).fill(-1)];
    const out: number[][] = [[]];
    lower.forEach((kw, id) => {
      let s = 0;
      for (let i = 0; i < kw.length; i++) {
        const k = classOf[kw.charCodeAt(i)]!;
        if (gotoRows[s]![k] === -1) {
          gotoRows[s]![k] = gotoRows.length;
          gotoRows.push(new Int32Array(classes).fill(-1));
          out.push([]);
        }
        s = gotoRows[s]![k]!;
      }
      out[s]!.push(id);
    });
    // Failure links, breadth first, folded into a full transition table (the DFA).
    const n = gotoRows.length;
    const next = new Int32Array(n * classes);
    const fail = new Int32Array(n);
    const queue: number[] = [];
    for (let k = 0; k < classes; k++) {
      const t = gotoRows[0]![k]!;
      next[k] = t === -1 ? 0 : t;
      if (t !== -1) queue.push(t);
    }
    next[0] = 0; // class 0 (no keyword's character) always returns to the root
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      out[s]!.push(...out[fail[s]!]!);
      for (let k = 0; k < classes; k++) {
        const t = k === 0 ? -1 : gotoRows[s]![k]!;
        if (t === -1) next[s * classes + k] = next[fail[s]! * classes + k]!;
        else {
          next[s * classes + k] = t;
          fail[t] = next[fail[s]! * classes + k]!;
          queue.push(t);
        }
      }
    }
    // Renumber: states without output first (the root stays 0), output states last.
    const order = [...Array(n).keys()].sort((a, b) => Number(out[a]!.length > 0) - Number(out[b]!.length > 0) || a - b);
    const id = new Int32Array(n);
    order.forEach((s, i) => (id[s] = i));
    const wide = n * classes > 0xffff;
    const table = wide ? new Int32Array(n * classes) : new Uint16Array(n * classes);
    for (let s = 0; s < n; s++) for (let k = 0; k < classes; k++) table[id[s]! * classes + k] = id[next[s * classes + k]!]! * classes;
    this.states = n;
    this.firstOutput = order.findIndex((s) => out[s]!.length > 0);
    if (this.firstOutput === -1) this.firstOutput = n;
    this.outputs = order.slice(this.firstOutput).map((s) => [...new Set(out[s]!)]);
    this.classOf = classOf;
    this.byteClassOf = new Uint8Array(256);
    this.byteClassOf.set(classOf);
    this.maxLength = Math.max(1, ...lower.map((k) => k.length));
    this.bytesHits = { state: this.hitState, end: this.hitEnd, state2: new Int32Array(this.hitState.length), end2: new Int32Array(this.hitState.length) };
    this.classes = classes;
    this.next = table;
    this.wasm = table instanceof Uint16Array ? new WasmByteLoop(table, this.byteClassOf, this.firstOutput * classes, classes, this.maxLength - 1) : undefined;
  }

  /** The keyword ids that end at an output state (as found in {@link hitState}). */
  keywordsAt(state: number): readonly number[] {
    return this.outputs[state - this.firstOutput] ?? [];
  }

  /**
   * Finds every keyword end in `text[from, to)`: returns the number of hits and leaves them in
   * {@link hitState} and {@link hitEnd} (grown as needed), in text order.
   */
  find(text: string, from: number, to: number): number {
    for (;;) {
      const n = findInto(this.next, this.classOf, this.firstOutput * this.classes, this.classes, text, from, to, this.hitState, this.hitEnd);
      if (n >= 0) return n;
      // Full: grow the arrays and run again (rare: they keep their size for the next chunk).
      this.hitState = new Int32Array(this.hitState.length * 4);
      this.hitEnd = new Int32Array(this.hitEnd.length * 4);
    }
  }

  /**
   * The same as {@link find} over bytes of an ASCII-compatible encoding (UTF-8): finds every
   * keyword end in `bytes[from, to)` and leaves its index less `from` in {@link hitEnd}, so that
   * for text whose characters are all one byte the hits are those of {@link find} on its
   * decoded string. Reading bytes, two places at once, measured about twice the throughput of
   * reading a string.
   */
  findBytes(bytes: Uint8Array, from: number, to: number): number {
    if (this.wasm !== undefined) {
      const n = this.wasm.find(bytes, from, to);
      this.hitState = this.wasm.state;
      this.hitEnd = this.wasm.end;
      return n;
    }
    return this.findBytesInTs(bytes, from, to);
  }

  /** {@link findBytes} by the TypeScript loop (public for the tests that compare the two). */
  findBytesInTs(bytes: Uint8Array, from: number, to: number): number {
    for (;;) {
      if (this.bytesHits.state !== this.hitState) this.bytesHits = { state: this.hitState, end: this.hitEnd, state2: new Int32Array(this.hitState.length), end2: new Int32Array(this.hitState.length) };
      const n = findBytesInto(this.next, this.byteClassOf, this.firstOutput * this.classes, this.classes, this.maxLength, bytes, from, to, this.bytesHits);
      if (n >= 0) return n;
      this.hitState = new Int32Array(this.hitState.length * 4);
      this.hitEnd = new Int32Array(this.hitEnd.length * 4);
    }
  }

  /** Calls `hit(keywordId, endIndex)` for every occurrence of a keyword in `text[from, to)`. */
  scan(text: string, hit: (keyword: number, end: number) => void, from = 0, to = text.length): void {
    const n = this.find(text, from, to);
    for (let i = 0; i < n; i++) for (const k of this.keywordsAt(this.hitState[i]!)) hit(k, this.hitEnd[i]!);
  }
}

/**
 * The scan loop, a plain function over local tables (measured 2 to 3x the throughput of the same
 * loop reading `this.` fields). Returns the number of hits, or -1 when the hit arrays are full.
 */
function findInto(
  next: Uint16Array | Int32Array,
  classOf: Uint8Array,
  firstOutputRow: number,
  classes: number,
  text: string,
  from: number,
  to: number,
  hitState: Int32Array,
  hitEnd: Int32Array,
): number {
  const cap = hitState.length;
  let n = 0;
  let row = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    row = next[row + (c < ASCII ? classOf[c]! : 0)]!;
    if (row >= firstOutputRow) {
      if (n === cap) return -1;
      hitState[n] = row / classes;
      hitEnd[n] = i + 1;
      n++;
    }
  }
  return n;
}

/**
 * {@link findInto} over bytes, two places at once: the first half and the second half of the
 * range are read in the same loop, so that the CPU works on two independent chains of table
 * look-ups (one chain waits on each look-up's memory read: two overlap; measured 1.5x the
 * throughput of one chain). The second chain starts `maxLength - 1` bytes before the middle,
 * from the root, so it sees every keyword that ends in its half; its hits are kept apart and
 * appended. Bytes of 128 or more (class 0) reset the automaton, as a non-ASCII character does.
 * Hit ends are relative to `from`.
 */
function findBytesInto(
  next: Uint16Array | Int32Array,
  classOf: Uint8Array,
  firstOutputRow: number,
  classes: number,
  maxLength: number,
  bytes: Uint8Array,
  from: number,
  to: number,
  hits: HitArrays,
): number {
  const { state, end, state2, end2 } = hits;
  const cap = state.length;
  let n = 0;
  let row = 0;
  // A short range is read by the second chain alone.
  const mid = to - from < TWO_CHAINS_MIN ? from : from + ((to - from) >> 1);
  let n2 = 0;
  let row2 = 0;
  for (let i = Math.max(from, mid - maxLength + 1); i < mid; i++) row2 = next[row2 + classOf[bytes[i]!]!]!;
  const steps = mid - from;
  for (let k = 0; k < steps; k++) {
    const i = from + k;
    const j = mid + k;
    row = next[row + classOf[bytes[i]!]!]!;
    row2 = next[row2 + classOf[bytes[j]!]!]!;
    if (row >= firstOutputRow) {
      if (n === cap) return -1;
      state[n] = row / classes;
      end[n] = i + 1 - from;
      n++;
    }
    if (row2 >= firstOutputRow) {
      if (n2 === cap) return -1;
      state2[n2] = row2 / classes;
      end2[n2] = j + 1 - from;
      n2++;
    }
  }
  for (let j = mid + steps; j < to; j++) {
    row2 = next[row2 + classOf[bytes[j]!]!]!;
    if (row2 >= firstOutputRow) {
      if (n2 === cap) return -1;
      state2[n2] = row2 / classes;
      end2[n2] = j + 1 - from;
      n2++;
    }
  }
  if (n + n2 > cap) return -1;
  state.set(state2.subarray(0, n2), n);
  end.set(end2.subarray(0, n2), n);
  return n + n2;
}
