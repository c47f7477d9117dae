/**
 * What `verifyAuditLog` can find wrong, one variant per kind of damage.
 *
 * `index` is a leaf index in the log as it was written (an event's `seq`); `position` is where
 * the entry sits in the list that was verified (they differ once entries were removed or
 * inserted before it). `checkpoint` is a position in the list of checkpoints given. Every
 * problem carries the registry code (`KT_AUDIT_...`) and a message that names it.
 *
 * @example
 * ```ts
 * for (const p of result.problems) {
 *   if (p.kind === 'leaf_changed') console.log(`entry ${p.index} was altered`);
 * }
 * ```
 */
import type { ErrorCode } from '../core/errors.js';

interface Base<K extends string, C extends ErrorCode> {
  readonly kind: K;
  readonly code: C;
  readonly message: string;
}

/** An entry's bytes differ from what the log wrote (its successor or a checkpoint disagrees). */
export interface LeafChanged extends Base<'leaf_changed', 'KT_AUDIT_LEAF_CHANGED'> {
  readonly index: number;
  readonly position: number;
}
/** An entry the log wrote is gone from the middle of the log. */
export interface LeafMissing extends Base<'leaf_missing', 'KT_AUDIT_LEAF_MISSING'> {
  readonly index: number;
}
/** An entry the log never wrote sits at this position. */
export interface LeafInserted extends Base<'leaf_inserted', 'KT_AUDIT_LEAF_INSERTED'> {
  readonly position: number;
}
/** Two entries exchanged places: entry `indices[k]` now sits at `positions[k]`. */
export interface LeavesSwapped extends Base<'leaves_swapped', 'KT_AUDIT_LEAVES_REORDERED'> {
  /** The two entries' indices, smaller first. */
  readonly indices: readonly [number, number];
  /** Where each of them was found. */
  readonly positions: readonly [number, number];
}
/** Entries are out of order in a way that is not a simple exchange. */
export interface LeavesReordered extends Base<'leaves_reordered', 'KT_AUDIT_LEAVES_REORDERED'> {
  readonly indices: readonly number[];
}
/** The log ends before a size the audit key (or the trusted checkpoint) vouched for. */
export interface Truncated extends Base<'truncated', 'KT_AUDIT_TRUNCATED'> {
  readonly size: number;
  readonly expectedSize: number;
  /** Where the trusted checkpoint that vouches for `expectedSize` came from (an audit sink), when it did. */
  readonly source?: string;
}
/** A checkpoint cannot be parsed as a signed note or checkpoint. */
export interface CheckpointMalformed extends Base<'checkpoint_malformed', 'KT_AUDIT_NOTE_MALFORMED' | 'KT_AUDIT_CHECKPOINT_MALFORMED'> {
  readonly checkpoint: number;
}
/** A checkpoint carries a signature line for the audit key that does not verify. */
export interface CheckpointBadSignature extends Base<'checkpoint_bad_signature', 'KT_AUDIT_SIGNATURE_INVALID'> {
  readonly checkpoint: number;
  readonly size?: number;
}
/** A checkpoint is signed only by other keys. */
export interface CheckpointWrongKey extends Base<'checkpoint_wrong_key', 'KT_AUDIT_NOTE_UNVERIFIED'> {
  readonly checkpoint: number;
  readonly size?: number;
  /** The `name+keyid` of every key that did sign it. */
  readonly signers: readonly string[];
}
/** A checkpoint is for another log. */
export interface CheckpointWrongOrigin extends Base<'checkpoint_wrong_origin', 'KT_AUDIT_ORIGIN_MISMATCH'> {
  readonly checkpoint: number;
}
/** A stored checkpoint row's size or root columns differ from its signed text. */
export interface CheckpointRecordMismatch extends Base<'checkpoint_record_mismatch', 'KT_AUDIT_CHECKPOINT_MISMATCH'> {
  readonly checkpoint: number;
}
/** A validly signed root does not match the entries, and no entry-level cause was found in `[from, size)`. */
export interface CheckpointMismatch extends Base<'checkpoint_mismatch', 'KT_AUDIT_CHECKPOINT_MISMATCH'> {
  readonly checkpoint: number;
  readonly size: number;
  readonly from: number;
}
/** The audit key signed checkpoints that cannot all describe one log. */
export interface CheckpointFork extends Base<'checkpoint_fork', 'KT_AUDIT_CHECKPOINT_FORK'> {
  readonly checkpoints: readonly number[];
  readonly size: number;
}
/** The log's first `size` entries do not have the root of the trusted checkpoint. */
export interface InconsistentWithTrusted extends Base<'inconsistent_with_trusted', 'KT_AUDIT_INCONSISTENT_WITH_TRUSTED'> {
  readonly size: number;
  /** Where the trusted checkpoint came from (an audit sink), when it says. */
  readonly source?: string;
}
/**
 * The head row's MAC does not verify: it was written without the audit MAC key (local log only).
 * `checkpoint` is the latest checkpoint that still proves the entries before it; `size` what the head claims.
 */
export interface HeadForged extends Base<'head_forged', 'KT_AUDIT_HEAD_FORGED'> {
  readonly checkpoint: number;
  readonly size: number;
}
/** A trusted checkpoint given (or read back from a sink: `source`) is itself not valid for the key. */
export interface TrustedInvalid extends Base<'trusted_invalid', ErrorCode> {
  readonly source?: string;
}

export type AuditProblem =
  | LeafChanged
  | LeafMissing
  | LeafInserted
  | LeavesSwapped
  | LeavesReordered
  | Truncated
  | CheckpointMalformed
  | CheckpointBadSignature
  | CheckpointWrongKey
  | CheckpointWrongOrigin
  | CheckpointRecordMismatch
  | CheckpointMismatch
  | CheckpointFork
  | InconsistentWithTrusted
  | HeadForged
  | TrustedInvalid;

/** Problems about entries (as opposed to checkpoints). */
export type LeafProblem = LeafChanged | LeafMissing | LeafInserted | LeavesSwapped | LeavesReordered;
