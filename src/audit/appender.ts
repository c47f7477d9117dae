/**
 * The writing side of the audit log, without storage: numbers events, links each to the one
 * before, encodes the leaf, and keeps the Merkle compact range so a checkpoint can be signed
 * at any size.
 *
 * A store persists each returned `leaf` (and may persist `state()` to resume without
 * re-reading the log). Appending n events costs O(n) hashes in total.
 *
 * @example
 * ```ts
 * const log = new AuditAppender();
 * const { leaf } = log.append({ time: new Date(), actor: 'user:alice', source: 'cli',
 *   action: 'secret.put', path: 'prod/db/app_user', versionId: 'v2', outcome: 'success' });
 * await store.insert(leaf);                                      // storage is the caller's
 * const note = log.checkpoint('audit.example/keyturn', signer);  // sign the current root
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { signCheckpoint } from './checkpoint.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { GENESIS_PREV, encodeCheckedEventText, makeEvent } from './event.js';
import { CompactRange, leafHashOfText } from './merkle.js';
import type { NoteSigner } from './note-key.js';

/** What a store saves to resume appending: the size, the last leaf hash, the compact range. */
export interface AppenderState {
  readonly size: number;
  /** Leaf hash of the last event (hex), or GENESIS_PREV when empty. */
  readonly prev: string;
  /** Compact range nodes (hex), largest subtree first. */
  readonly nodes: readonly string[];
}

/** One appended event, its leaf bytes and its leaf hash. */
export interface AppendedEvent {
  readonly event: AuditEvent;
  readonly leaf: Buffer;
  readonly leafHash: Buffer;
}

export class AuditAppender {
  readonly #range: CompactRange;
  #prev: string;

  constructor(state?: AppenderState) {
    if (state === undefined) {
      this.#range = new CompactRange();
      this.#prev = GENESIS_PREV;
      return;
    }
    if (!/^[0-9a-f]{64}$/.test(state.prev) || (state.size === 0) !== (state.prev === GENESIS_PREV)) {
      throw new KeyturnError('KT_INTERNAL', 'the saved audit appender state has an invalid prev hash');
    }
    this.#range = CompactRange.restore(
      state.size,
      state.nodes.map((n) => Buffer.from(n, 'hex')),
    );
    this.#prev = state.prev;
  }

  /** Number of events appended (the next event's seq). */
  get size(): number {
    return this.#range.size;
  }

  /** Records one event: assigns seq and prev, encodes and hashes the leaf. */
  append(input: AuditEventInput): AppendedEvent {
    const { event, text, leafHash } = this.appendText(input);
    return { event, leaf: Buffer.from(text, 'utf8'), leafHash };
  }

  /** {@link append}, giving the leaf as text (as the state database stores it) instead of bytes. */
  appendText(input: AuditEventInput): { readonly event: AuditEvent; readonly text: string; readonly leafHash: Buffer } {
    const event = makeEvent(input, this.#range.size, this.#prev);
    const text = encodeCheckedEventText(event); // makeEvent has checked it; encodeEvent would check again
    const hash = leafHashOfText(text);
    this.#range.append(hash);
    this.#prev = hash.toString('hex');
    return { event, text, leafHash: hash };
  }

  /** The Merkle root over every event appended. */
  root(): Buffer {
    return this.#range.root();
  }

  /** A signed checkpoint (c2sp.org/tlog-checkpoint) of the current size and root. */
  checkpoint(origin: string, signer: NoteSigner): string {
    return signCheckpoint({ origin, size: this.size, root: this.root() }, signer);
  }

  /** The state to save for resuming later with `new AuditAppender(state)`. */
  state(): AppenderState {
    return { size: this.size, prev: this.#prev, nodes: this.#range.nodes().map((n) => Buffer.from(n).toString('hex')) };
  }
}
