/**
 * C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint): a signed note whose
 * text commits to the log's Merkle root at a size.
 *
 *     <origin>\n
 *     <tree size, decimal, no leading zeros>\n
 *     <base64 RFC 6962 root hash>\n
 *     [<extension line>\n ...]
 *
 * The origin names the log (a schema-less URL such as `audit.example/keyturn`); the signing
 * key's name should match it.
 *
 * @example
 * ```ts
 * const note = signCheckpoint({ origin: 'audit.example/keyturn', size: 8, root }, signer);
 * const { checkpoint } = openCheckpoint(note, verifier, { origin: 'audit.example/keyturn' });
 * checkpoint.size; // 8
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { decodeBase64Strict } from './base64.js';
import { HASH_SIZE } from './merkle.js';
import type { NoteSigner, NoteVerifier } from './note-key.js';
import type { OpenedNote } from './note.js';
import { openNote, parseNote, signNote } from './note.js';

/** The three mandatory lines of a checkpoint, plus optional extension lines. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly extensions?: readonly string[];
}

const SIZE = /^(?:0|[1-9][0-9]*)$/;

/**
 * The note text of a checkpoint.
 *
 * @example
 * ```ts
 * formatCheckpoint({ origin: 'example.com/log', size: 0, root: EMPTY_ROOT });
 * // 'example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n'
 * ```
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions = [] } = checkpoint;
  if (typeof origin !== 'string' || origin.length === 0 || origin.includes('\n')) malformed('the origin must be one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) malformed('the tree size must be an integer >= 0');
  if (root.length !== HASH_SIZE) malformed(`the root hash must be ${HASH_SIZE} bytes`);
  for (const line of extensions) {
    if (line.length === 0 || line.includes('\n')) malformed('an extension line must be one non-empty line');
  }
  return [origin, String(size), Buffer.from(root).toString('base64'), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Parses checkpoint note text (no signatures) into its fields.
 *
 * @example
 * ```ts
 * parseCheckpoint('example.com/log\n3\n' + root.toString('base64') + '\n').size; // 3
 * ```
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) malformed('the checkpoint text must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) malformed('a checkpoint has at least three lines: origin, size, root hash');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) malformed('the checkpoint origin is empty');
  if (!SIZE.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) malformed(`the checkpoint size "${sizeText.slice(0, 32)}" is not a decimal without leading zeros`);
  const root = decodeBase64Strict(rootText);
  if (root === null || root.length !== HASH_SIZE) malformed(`the checkpoint root hash is not ${HASH_SIZE} bytes of base64`);
  if (extensions.some((line) => line.length === 0)) malformed('a checkpoint extension line is empty');
  return { origin, size: Number(sizeText), root, extensions };
}

/**
 * A checkpoint signed as a note by one or more signers.
 *
 * @example
 * ```ts
 * signCheckpoint({ origin, size: range.size, root: range.root() }, signer);
 * ```
 */
export function signCheckpoint(checkpoint: Checkpoint, signers: NoteSigner | readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), Array.isArray(signers) ? signers : [signers as NoteSigner]);
}

/**
 * Parses a signed checkpoint without checking signatures (to read its size before trusting it).
 *
 * @example
 * ```ts
 * readCheckpointUnverified(note).size;
 * ```
 */
export function readCheckpointUnverified(note: string | Uint8Array): Checkpoint {
  return parseCheckpoint(parseNote(note).text);
}

/**
 * Verifies a signed checkpoint against the log's key(s) and parses it. Throws
 * KT_AUDIT_NOTE_MALFORMED / _NOTE_UNVERIFIED / _SIGNATURE_INVALID / _CHECKPOINT_MALFORMED,
 * and KT_AUDIT_ORIGIN_MISMATCH when `origin` is given and differs.
 *
 * @example
 * ```ts
 * const { checkpoint } = openCheckpoint(note, parseVerifierKey(vkey), { origin: 'audit.example/keyturn' });
 * ```
 */
export function openCheckpoint(note: string | Uint8Array, verifiers: NoteVerifier | readonly NoteVerifier[], options: { origin?: string } = {}): { checkpoint: Checkpoint; note: OpenedNote } {
  const opened = openNote(note, Array.isArray(verifiers) ? verifiers : [verifiers as NoteVerifier]);
  const checkpoint = parseCheckpoint(opened.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new KeyturnError('KT_AUDIT_ORIGIN_MISMATCH', `the checkpoint is for log "${checkpoint.origin}", not "${options.origin}"`);
  }
  return { checkpoint, note: opened };
}

function malformed(message: string): never {
  throw new KeyturnError('KT_AUDIT_CHECKPOINT_MALFORMED', message);
}
