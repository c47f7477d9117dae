/**
 * The check of the events no checkpoint covers yet, before a checkpoint is signed over them:
 * each stored row's seq, leaf hash and MAC, and that the tree grown from the last checkpoint's
 * compact range (proven by its signed root) through those rows ends in the state about to be
 * signed (its size, last hash and compact range). Written once, run in two places: inside the
 * append that signs (log.ts) and in the background check's worker thread (check-worker.ts).
 *
 * Each problem is a KeyturnError naming the first row or state that is wrong; nothing is
 * signed after one.
 *
 * @example
 * ```ts
 * const walk = startWalk(from, rangeAtFrom);
 * for (const page of pages) checkRows(walk, page, macKey);
 * assertLeadsTo(walk, { size: head.size, prev: head.prev, nodes: head.nodes });
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { leafMacValid } from './mac.js';
import { CompactRange, bytesEqual, leafHashOfText } from './merkle.js';
import type { LeafCheckRow } from './repo.js';

/** Where the walk through the rows is: the tree so far and the last leaf hash. */
export interface Walk {
  readonly from: number;
  readonly range: CompactRange;
  prev: Buffer | null;
}

/** The state a checkpoint would sign: size, last leaf hash (hex) and compact range. */
export interface TreeState {
  readonly size: number;
  readonly prev: string;
  readonly nodes: readonly Uint8Array[];
}

/**
 * A row this process wrote itself and still holds: its leaf hash when the stored row is byte for
 * byte what it wrote (the same check without hashing the text again), else undefined.
 */
export type KnownRow = (seq: number, leaf: string, leafHash: string, leafMac: string | null) => Buffer | undefined;

/** A walk from the checkpoint at `from`, whose compact range is `range` (empty for 0). */
export function startWalk(from: number, range: CompactRange = new CompactRange()): Walk {
  return { from, range, prev: null };
}

/** Checks one page of rows (in seq order, continuing the walk) and grows the tree by them. */
export function checkRows(walk: Walk, rows: readonly LeafCheckRow[], key: Buffer, known?: KnownRow): void {
  const { range } = walk;
  for (const [seq, leaf, leafHash, leafMac] of rows) {
    if (seq !== range.size) {
      throw new KeyturnError('KT_AUDIT_LEAF_MISSING', `audit event ${range.size} is missing from the stored log; no checkpoint was signed (run keyturn audit verify)`);
    }
    let hash = known?.(seq, leaf, leafHash, leafMac);
    if (hash === undefined) {
      hash = leafHashOfText(leaf);
      if (hash.toString('base64') !== leafHash || !leafMacValid(key, hash, leafMac)) {
        throw new KeyturnError('KT_AUDIT_LEAF_CHANGED', `audit event ${seq} was changed after it was written (its MAC does not verify); no checkpoint was signed over it (run keyturn audit verify)`);
      }
    }
    range.append(hash);
    walk.prev = hash;
  }
}

/** Throws unless the walk ended exactly at `target`: its size, last hash and compact range. */
export function assertLeadsTo(walk: Walk, target: TreeState): void {
  const { range } = walk;
  if (range.size !== target.size) {
    throw new KeyturnError('KT_AUDIT_TRUNCATED', `the stored log ends after ${range.size} events but its head records ${target.size}; no checkpoint was signed (run keyturn audit verify)`);
  }
  const nodes = range.nodes();
  if ((walk.prev?.toString('hex') ?? null) !== target.prev || nodes.length !== target.nodes.length || nodes.some((n, i) => !bytesEqual(n, target.nodes[i] as Uint8Array))) {
    throw new KeyturnError(
      'KT_AUDIT_HEAD_FORGED',
      `the events after checkpoint ${walk.from} do not lead to the audit head row (rows moved, or the head rewritten); no checkpoint was signed (run keyturn audit verify)`,
    );
  }
}
