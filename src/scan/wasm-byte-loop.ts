/**
 * The keyword automaton's byte loop run as WebAssembly (src/scan/keywords.wat, assembled into
 * src/scan/keywords-wasm.ts): one instance per automaton, its memory holding the class table, the
 * transition table, the bytes being read and the hit arrays (src/scan/keywords.wat says where).
 * It reads 1.66x as fast as the same two-chain loop in TypeScript, which V8 bounds-checks at
 * every typed-array read. Used for automata whose table fits 16-bit entries (the default rules'
 * has 400 states of 40 classes); a larger one stays on the TypeScript loop.
 *
 * @example
 * ```ts
 * const loop = new WasmByteLoop(table, byteClassOf, firstOutputRow, classes, maxLength - 1);
 * const n = loop.find(bytes, 0, bytes.length); // hits in loop.state and loop.end
 * ```
 */
import { Buffer } from 'node:buffer';
import { KEYWORDS_WASM } from './keywords-wasm.js';

/** The part of the WebAssembly API used here (TypeScript's lib for Node has no WebAssembly types). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: unknown };
}
const wasmApi = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly;

/** Compiled once per thread. */
let compiled: object | undefined;

const PAGE = 65_536;
const TABLE_AT = 264;

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  find(tab: number, txt: number, len: number, first: number, classes: number, warm: number, end1: number, state1: number, end2: number, state2: number, cap: number): number;
}

export class WasmByteLoop {
  /** The states and end indexes of the last {@link find}'s hits: views of the instance's memory, replaced when it grows. */
  state!: Int32Array;
  end!: Int32Array;
  private readonly exports: Exports;
  private readonly textAt: number;
  private textRoom = 0;
  private cap = 0;
  private bytes!: Uint8Array;
  private state2!: Int32Array;
  private end2!: Int32Array;
  /** Where the loop leaves the second chain's hit count (address 256). */
  private count2!: Int32Array;

  constructor(
    table: Uint16Array,
    byteClassOf: Uint8Array,
    private readonly firstOutputRow: number,
    private readonly classes: number,
    private readonly warm: number,
  ) {
    compiled ??= new wasmApi.Module(Buffer.from(KEYWORDS_WASM, 'base64'));
    this.exports = new wasmApi.Instance(compiled).exports as Exports;
    this.textAt = (TABLE_AT + table.length * 2 + 7) & ~7;
    this.layout(1 << 20, 1024);
    this.bytes.set(byteClassOf, 0);
    new Uint16Array(this.exports.memory.buffer, TABLE_AT, table.length).set(table);
  }

  /** Makes room for `textRoom` bytes and `cap` hits per array (growing the memory), and renews the views. */
  private layout(textRoom: number, cap: number): void {
    this.textRoom = Math.max(this.textRoom, textRoom);
    this.cap = Math.max(this.cap, cap);
    const hitsAt = this.textAt + this.textRoom;
    const need = hitsAt + 4 * 4 * this.cap;
    const memory = this.exports.memory;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    const buffer = memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.count2 = new Int32Array(buffer, 256, 1);
    this.end = new Int32Array(buffer, hitsAt, this.cap);
    this.state = new Int32Array(buffer, hitsAt + 4 * this.cap, this.cap);
    this.end2 = new Int32Array(buffer, hitsAt + 8 * this.cap, this.cap);
    this.state2 = new Int32Array(buffer, hitsAt + 12 * this.cap, this.cap);
  }

  /** Finds every keyword end in `bytes[from, to)`; returns the number of hits, left in {@link state} and {@link end} (ends relative to `from`). */
  find(bytes: Uint8Array, from: number, to: number): number {
    const len = to - from;
    if (len > this.textRoom) this.layout(len, this.cap);
    for (;;) {
      this.bytes.set(bytes.subarray(from, to), this.textAt);
      const hitsAt = this.end.byteOffset;
      const n = this.exports.find(TABLE_AT, this.textAt, len, this.firstOutputRow, this.classes, this.warm, hitsAt, hitsAt + 4 * this.cap, hitsAt + 8 * this.cap, hitsAt + 12 * this.cap, this.cap);
      const n2 = n < 0 ? 0 : this.count2[0]!;
      if (n >= 0 && n + n2 <= this.cap) {
        this.end.set(this.end2.subarray(0, n2), n);
        this.state.set(this.state2.subarray(0, n2), n);
        return n + n2;
      }
      this.layout(len, this.cap * 4);
    }
  }
}
