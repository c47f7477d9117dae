/**
 * C2SP signed notes (https://c2sp.org/signed-note): text signed by one or more keys.
 *
 *     <text, ending in "\n">
 *     <blank line>
 *     — <key name> <base64(4-byte big-endian key ID || signature)>
 *     ...
 *
 * The text is everything up to and including the newline before the last blank line. Notes
 * are valid UTF-8 without control characters other than newline. When opening a note,
 * signatures from unknown keys (name or key ID not matching a given verifier) are ignored, a
 * signature from a known key must verify (else KT_AUDIT_SIGNATURE_INVALID), and at least one
 * must (else KT_AUDIT_NOTE_UNVERIFIED). Anything malformed is KT_AUDIT_NOTE_MALFORMED.
 * Behaviour follows golang.org/x/mod/sumdb/note, the reference implementation.
 *
 * @example
 * ```ts
 * const note = signNote('hello\n', [signer]);     // 'hello\n\n— name AbCd...\n'
 * openNote(note, [parseVerifierKey(vkey)]).text;  // 'hello\n'
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { decodeBase64Strict } from './base64.js';
import type { NoteSigner, NoteVerifier } from './note-key.js';
import { hex8, isValidKeyName } from './note-key.js';
import { isWellFormedText } from './text.js';

/** Most signature lines a note may carry (the spec asks verifiers to accept at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

const SIG_PREFIX = '\u2014 ';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the 4-byte key ID. */
  readonly signature: Buffer;
  /** The line's base64 field exactly as written (key ID and signature). */
  readonly base64: string;
}

/** A parsed note, signatures not yet checked. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note whose signatures were checked against known keys. */
export interface OpenedNote {
  readonly text: string;
  /** Signatures from known keys, each verified. */
  readonly verified: readonly NoteSignature[];
  /** Signatures from keys not given to {@link openNote}, ignored. */
  readonly unverified: readonly NoteSignature[];
}

/**
 * Signs `text` (which must end in a newline) with each signer. Signatures in `keep` are
 * written first, except those from a key that signs anew.
 *
 * @example
 * ```ts
 * signNote('hello\n', [signer]); // 'hello\n\n— audit.example/keyturn AbCd...\n'
 * ```
 */
export function signNote(text: string, signers: readonly NoteSigner[], keep: readonly NoteSignature[] = []): string {
  assertText(text);
  const message = Buffer.from(text, 'utf8');
  const fresh = new Set(signers.map((s) => keyLabel(s.name, s.keyId)));
  let out = `${text}\n`;
  for (const sig of keep) {
    if (!isValidKeyName(sig.name)) throw new KeyturnError('KT_AUDIT_NOTE_MALFORMED', 'a kept signature has an invalid key name');
    if (fresh.has(keyLabel(sig.name, sig.keyId))) continue;
    const raw = decodeBase64Strict(sig.base64);
    if (raw === null || raw.length < 5 || raw.readUInt32BE(0) !== sig.keyId) {
      throw new KeyturnError('KT_AUDIT_NOTE_MALFORMED', `a kept signature for ${keyLabel(sig.name, sig.keyId)} is malformed`);
    }
    out += `${SIG_PREFIX}${sig.name} ${sig.base64}\n`;
  }
  for (const signer of signers) {
    if (!isValidKeyName(signer.name)) throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'the signer has an invalid key name');
    const id = Buffer.alloc(4);
    id.writeUInt32BE(signer.keyId, 0);
    out += `${SIG_PREFIX}${signer.name} ${Buffer.concat([id, signer.sign(message)]).toString('base64')}\n`;
  }
  return out;
}

/**
 * Splits a signed note into its text and signature lines, checking the format only.
 *
 * @example
 * ```ts
 * parseNote('hello\n\n— name AAAAAAE=\n').signatures[0]!.name; // 'name'
 * ```
 */
export function parseNote(note: string | Uint8Array): Note {
  const msg = typeof note === 'string' ? note : decodeUtf8(note);
  if (!isWellFormedText(msg)) throw malformed('the note is not valid UTF-8');
  if (CONTROL.test(msg)) throw malformed('the note contains a control character other than newline');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw malformed('the note has no blank line before its signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block.length === 0) throw malformed('the note has no signature lines');
  if (!block.endsWith('\n')) throw malformed('the last signature line does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`the note has more than ${MAX_NOTE_SIGNATURES} signature lines`);
  const signatures = lines.map((line, i) => parseSignatureLine(line, i + 1));
  return { text, signatures };
}

/**
 * Parses a note and checks its signatures against the known verifiers.
 *
 * @example
 * ```ts
 * const { text, verified } = openNote(note, [parseVerifierKey(vkey)]);
 * ```
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const known = new Map<string, NoteVerifier[]>();
  for (const v of verifiers) {
    const label = keyLabel(v.name, v.keyId);
    known.set(label, [...(known.get(label) ?? []), v]);
  }
  const message = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnknown = new Set<string>();
  for (const sig of signatures) {
    const label = keyLabel(sig.name, sig.keyId);
    const candidates = known.get(label);
    if (candidates === undefined) {
      const line = `${sig.name} ${sig.base64}`;
      if (!seenUnknown.has(line)) unverified.push(sig);
      seenUnknown.add(line);
      continue;
    }
    if (candidates.length > 1) throw new KeyturnError('KT_AUDIT_KEY_INVALID', `ambiguous key ${label}: given more than once`);
    if (seen.has(label)) continue;
    seen.add(label);
    if (!(candidates[0] as NoteVerifier).verify(message, sig.signature)) {
      throw new KeyturnError('KT_AUDIT_SIGNATURE_INVALID', `invalid signature for key ${label}`, { details: { key: label } });
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    const keys = unverified.map((s) => keyLabel(s.name, s.keyId));
    throw new KeyturnError('KT_AUDIT_NOTE_UNVERIFIED', `the note has no signature from ${verifiers.map((v) => keyLabel(v.name, v.keyId)).join(', ') || 'a known key'}; signed by: ${keys.join(', ')}`, {
      details: { signers: keys },
    });
  }
  return { text, verified, unverified };
}

/** `name+keyid`, how signed notes name a key in messages. */
export function keyLabel(name: string, keyId: number): string {
  return `${name}+${hex8(keyId)}`;
}

function parseSignatureLine(line: string, n: number): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed(`signature line ${n} does not start with "— "`);
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const b64 = space < 0 ? '' : rest.slice(space + 1);
  if (!isValidKeyName(name)) throw malformed(`signature line ${n} has an invalid key name`);
  const raw = b64 === '' ? null : decodeBase64Strict(b64);
  if (raw === null || raw.length < 5) throw malformed(`signature line ${n} has a malformed signature`);
  return { name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4), base64: b64 };
}

function assertText(text: string): void {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw malformed('note text must end in a newline');
  if (!isWellFormedText(text) || CONTROL.test(text)) throw malformed('note text must be UTF-8 without control characters other than newline');
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed('the note is not valid UTF-8');
  }
}

function malformed(message: string): KeyturnError {
  return new KeyturnError('KT_AUDIT_NOTE_MALFORMED', message);
}
