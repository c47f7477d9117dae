/**
 * C2SP transparency log proofs (https://c2sp.org/tlog-proof): an offline-verifiable proof
 * that one entry is in the log, as text.
 *
 *     c2sp.org/tlog-proof@v1
 *     [extra <base64 opaque data>]
 *     index <zero-based leaf index, decimal>
 *     <base64 hash>            (RFC 6962 audit path, leaf's sibling first; zero or more lines)
 *     <empty line>
 *     <the signed checkpoint, verbatim>
 *
 * The extra data is not authenticated; the index and hashes are, through the checkpoint's
 * signed root.
 *
 * @example
 * ```ts
 * const text = createTlogProof(5, leafHashes, signedCheckpoint);
 * verifyTlogProof(text, leafHashes[5]!, verifier).index; // 5
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { decodeBase64Strict } from './base64.js';
import type { Checkpoint } from './checkpoint.js';
import { openCheckpoint, readCheckpointUnverified } from './checkpoint.js';
import { HASH_SIZE, inclusionProof, verifyInclusion } from './merkle.js';
import type { NoteVerifier } from './note-key.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
const INDEX = /^index (0|[1-9][0-9]*)$/;

/** The parts of a tlog-proof. */
export interface TlogProof {
  readonly index: number;
  readonly hashes: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim (ends in a newline). */
  readonly checkpoint: string;
  /** Optional opaque, unauthenticated extra data. */
  readonly extra?: Uint8Array;
}

/**
 * Writes a tlog-proof.
 *
 * @example
 * ```ts
 * encodeTlogProof({ index: 0, hashes: [], checkpoint: note }); // 'c2sp.org/tlog-proof@v1\nindex 0\n\n' + note
 * ```
 */
export function encodeTlogProof(proof: TlogProof): string {
  const { index, hashes, checkpoint, extra } = proof;
  if (!Number.isSafeInteger(index) || index < 0) malformed('the index must be an integer >= 0');
  if (!checkpoint.endsWith('\n')) malformed('the checkpoint must end in a newline');
  for (const h of hashes) if (h.length !== HASH_SIZE) malformed(`every proof hash must be ${HASH_SIZE} bytes`);
  const lines = [TLOG_PROOF_HEADER];
  if (extra !== undefined) lines.push(`extra ${Buffer.from(extra).toString('base64')}`);
  lines.push(`index ${index}`);
  for (const h of hashes) lines.push(Buffer.from(h).toString('base64'));
  return `${lines.join('\n')}\n\n${checkpoint}`;
}

/**
 * Builds the tlog-proof for leaf `index` against a signed checkpoint, computing the inclusion
 * proof from the log's leaf hashes (the first `size` of them, size read from the checkpoint).
 *
 * @example
 * ```ts
 * createTlogProof(5, leafHashes, signedCheckpoint);
 * ```
 */
export function createTlogProof(index: number, leafHashes: readonly Uint8Array[], signedCheckpoint: string, extra?: Uint8Array): string {
  const { size } = readCheckpointUnverified(signedCheckpoint);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) malformed(`index ${index} is not in the checkpoint's tree of size ${size}`);
  if (size > leafHashes.length) malformed(`the checkpoint's size ${size} is beyond the ${leafHashes.length} leaf hashes given`);
  const hashes = inclusionProof(index, leafHashes, size);
  return encodeTlogProof(extra === undefined ? { index, hashes, checkpoint: signedCheckpoint } : { index, hashes, checkpoint: signedCheckpoint, extra });
}

/**
 * Parses a tlog-proof without verifying it.
 *
 * @example
 * ```ts
 * parseTlogProof(text).index; // 5
 * ```
 */
export function parseTlogProof(text: string): TlogProof {
  const lines = text.split('\n');
  let at = 0;
  if (lines[at++] !== TLOG_PROOF_HEADER) malformed(`the proof does not start with "${TLOG_PROOF_HEADER}"`);
  let extra: Buffer | undefined;
  if (lines[at]?.startsWith('extra ')) {
    const decoded = decodeBase64Strict((lines[at++] as string).slice('extra '.length));
    if (decoded === null) malformed("the proof's extra data is not base64");
    extra = decoded;
  }
  const match = INDEX.exec(lines[at++] ?? '');
  if (match === null || !Number.isSafeInteger(Number(match[1]))) malformed('the proof has no valid "index N" line');
  const index = Number(match[1]);
  const hashes: Buffer[] = [];
  for (;;) {
    const line = lines[at++];
    if (line === undefined) malformed('the proof has no blank line before its checkpoint');
    if (line === '') break;
    const hash = decodeBase64Strict(line);
    if (hash === null || hash.length !== HASH_SIZE) malformed(`proof hash ${hashes.length + 1} is not ${HASH_SIZE} bytes of base64`);
    hashes.push(hash);
  }
  const checkpoint = lines.slice(at).join('\n');
  if (checkpoint.length === 0 || !checkpoint.endsWith('\n')) malformed('the proof has no checkpoint ending in a newline');
  return extra === undefined ? { index, hashes, checkpoint } : { index, hashes, checkpoint, extra };
}

/**
 * Verifies a tlog-proof for a leaf hash: the checkpoint must be signed by a known key (and be
 * for `origin`, when given) and the audit path must lead from the leaf to its root. Throws
 * KT_AUDIT_PROOF_MALFORMED, a checkpoint/note error, or KT_AUDIT_PROOF_INVALID.
 *
 * @example
 * ```ts
 * const { index, checkpoint } = verifyTlogProof(text, leafHash(leaf), verifier, { origin });
 * ```
 */
export function verifyTlogProof(
  text: string,
  leafHashValue: Uint8Array,
  verifiers: NoteVerifier | readonly NoteVerifier[],
  options: { origin?: string } = {},
): { index: number; checkpoint: Checkpoint; extra?: Uint8Array } {
  const proof = parseTlogProof(text);
  const { checkpoint } = openCheckpoint(proof.checkpoint, verifiers, options);
  if (!verifyInclusion(proof.index, checkpoint.size, leafHashValue, proof.hashes, checkpoint.root)) {
    throw new KeyturnError('KT_AUDIT_PROOF_INVALID', `the proof does not show leaf ${proof.index} in the tree of size ${checkpoint.size}`);
  }
  return proof.extra === undefined ? { index: proof.index, checkpoint } : { index: proof.index, checkpoint, extra: proof.extra };
}

function malformed(message: string): never {
  throw new KeyturnError('KT_AUDIT_PROOF_MALFORMED', message);
}
