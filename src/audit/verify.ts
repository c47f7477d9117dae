/**
 * Verifies a whole audit log with the public key alone, and names what is wrong.
 *
 * Given the entries in stored order (leaf bytes), the stored signed checkpoints, the log's
 * verifier key and optionally a checkpoint the auditor kept from before:
 *
 * 1. every checkpoint's signature is checked (bad signature, other key, other origin,
 *    malformed, stored size/root columns that disagree with the signed text);
 * 2. the Merkle tree is recomputed from the entries in one O(n) pass, and each valid
 *    checkpoint's root is compared at its size. The largest matching one proves entries
 *    `[0, verifiedSize)`; a smaller one that does not match means the key signed a fork;
 * 3. entries after `verifiedSize` are examined through their `seq`/`prev` links
 *    (diagnose.ts) to name changed, removed, inserted and moved entries;
 * 4. the log must reach the largest size any valid checkpoint (or a trusted one) vouches
 *    for (else truncated), and its first `trusted.size` entries must have each trusted root
 *    (else, if no entry-level cause explains it, the history was rewritten).
 *
 * Several trusted checkpoints may be given (the auditor's `--trusted` and those read back from
 * the audit sinks), each optionally with its `source`, which the problems about it name.
 *
 * On an intact log only the entries after the last checkpoint are decoded, so verifying costs
 * about one leaf hash and one node hash per entry.
 *
 * A part of a log (an export from entry `a` on) is verified the same way given its `prefix`: the
 * compact range of entries `[0, a)` and the leaf hash of entry `a - 1`. The prefix hashes are not
 * trusted on their own: a signed root computed through them proves them. Checkpoints smaller than
 * `a` cannot be checked and are skipped; a trusted checkpoint smaller than `a` is a problem
 * (`trusted_invalid`, KT_AUDIT_TRUSTED_NOT_COVERED). Indices and positions stay absolute.
 *
 * @example
 * ```ts
 * const result = verifyAuditLog({ leaves, checkpoints: notes, verifierKey: vkey, origin: 'audit.example/keyturn' });
 * if (!result.ok) for (const p of result.problems) console.error(p.code, p.message);
 * ```
 */
import { KeyturnError, isKeyturnError } from '../core/errors.js';
import type { Checkpoint } from './checkpoint.js';
import { openCheckpoint, readCheckpointUnverified } from './checkpoint.js';
import { diagnoseLeaves } from './diagnose.js';
import { CompactRange, EMPTY_ROOT, HASH_SIZE, bytesEqual, leafHash } from './merkle.js';
import type { NoteVerifier } from './note-key.js';
import { parseVerifierKey } from './note-key.js';
import type { AuditProblem, LeafProblem } from './problem.js';

/** A checkpoint as a store may keep it: the signed note plus, optionally, indexed columns. */
export interface CheckpointRecord {
  readonly note: string;
  readonly size?: number;
  readonly root?: Uint8Array;
}

/** A signed checkpoint from outside the log's database, and where it came from (e.g. `jsonl:/var/log/audit.jsonl:812`). */
export interface OutsideCheckpoint {
  readonly note: string;
  readonly source: string;
}

/** What may be trusted: a signed note, a tree head, or a signed note with its source. */
export type TrustedInput = string | TrustedCheckpoint | OutsideCheckpoint;

/** A tree head the auditor already trusts (e.g. kept from the last verification). */
export interface TrustedCheckpoint {
  readonly size: number;
  readonly root: Uint8Array;
}

export interface VerifyAuditLogInput {
  /** Every entry's leaf bytes (canonical event JSON), in stored order. */
  readonly leaves: readonly Uint8Array[];
  /** Signed checkpoints (note text, or records holding it), any order. */
  readonly checkpoints: readonly (string | CheckpointRecord)[];
  /** The log's verifier key (`name+keyid+base64`), or a parsed one. */
  readonly verifierKey: string | NoteVerifier;
  /** The log's origin line; when given, checkpoints for another origin are refused. */
  readonly origin?: string;
  /** A checkpoint trusted from before: a signed note (checked with the same key) or a tree head. */
  readonly trusted?: TrustedInput | readonly TrustedInput[];
  /** When `leaves[0]` is entry `prefix.size`: the entries before it, as a compact range. */
  readonly prefix?: LogPrefix;
}

/** Entries `[0, size)` summarized: their compact range and the leaf hash of entry `size - 1`. */
export interface LogPrefix {
  readonly size: number;
  /** The compact range's subtree roots, largest first (see CompactRange.nodes). */
  readonly nodes: readonly Uint8Array[];
  /** Leaf hash of entry `size - 1` (ignored when size is 0). */
  readonly lastHash: Uint8Array;
}

export interface AuditVerifyResult {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** Number of entries given. */
  readonly size: number;
  /** Entries `[0, verifiedSize)` are proven by a valid checkpoint whose root matches. */
  readonly verifiedSize: number;
  /** Checkpoints whose signature verified. */
  readonly validCheckpoints: number;
  /** The largest valid checkpoint that matches the entries: keep it as the next `trusted`. */
  readonly latest: Checkpoint | null;
  readonly problems: readonly AuditProblem[];
}

/**
 * Verifies entries and checkpoints; never throws for damage, only for a bad verifier key or
 * a malformed `trusted` tree head (caller errors).
 *
 * @example
 * ```ts
 * verifyAuditLog({ leaves, checkpoints, verifierKey }).problems; // [] when intact
 * ```
 */
export function verifyAuditLog(input: VerifyAuditLogInput): AuditVerifyResult {
  const { origin } = input;
  const offset = input.prefix?.size ?? 0;
  const verifier = typeof input.verifierKey === 'string' ? parseVerifierKey(input.verifierKey) : input.verifierKey;
  const problems: AuditProblem[] = [];

  // 1. Signatures.
  const valid: { pos: number; cp: Checkpoint }[] = [];
  input.checkpoints.forEach((record, pos) => {
    const note = typeof record === 'string' ? record : record.note;
    let cp: Checkpoint;
    try {
      cp = openCheckpoint(note, verifier, origin === undefined ? {} : { origin }).checkpoint;
    } catch (e) {
      problems.push(checkpointProblem(e, pos, note));
      return;
    }
    if (typeof record !== 'string' && ((record.size !== undefined && record.size !== cp.size) || (record.root !== undefined && !bytesEqual(record.root, cp.root)))) {
      problems.push({
        kind: 'checkpoint_record_mismatch',
        code: 'KT_AUDIT_CHECKPOINT_MISMATCH',
        checkpoint: pos,
        message: `checkpoint ${pos}: the stored size/root columns differ from the signed text (size ${cp.size}); the signed text is used`,
      });
    }
    valid.push({ pos, cp });
  });
  const trustedAll: Trusted[] = [];
  for (const t of readTrusted(input.trusted, verifier, origin, problems)) {
    if (t.size >= offset) trustedAll.push(t);
    else {
      problems.push({
        kind: 'trusted_invalid',
        code: 'KT_AUDIT_TRUSTED_NOT_COVERED',
        ...sourced(t.source),
        message: `${trustedName(t.source)} (size ${t.size}) is before this part of the log, which starts at entry ${offset}: it cannot show the log extends it`,
      });
    }
  }
  const trusted = trustedAll.reduce<Trusted | null>((max, t) => (max === null || t.size > max.size ? t : max), null);

  // 2. One pass over the entries: leaf hashes, compact range, roots at every size of interest.
  const n = offset + input.leaves.length;
  const leaves = offset === 0 ? input.leaves : placeAt(offset, input.leaves);
  const checkable = (size: number): boolean => size >= offset && size <= n;
  const wanted = [...new Set([...valid.map((v) => v.cp.size), ...trustedAll.map((t) => t.size)])].filter(checkable).sort((a, b) => a - b);
  const rootsAt = new Map<number, Buffer>();
  const range = input.prefix === undefined ? new CompactRange() : CompactRange.restore(offset, input.prefix.nodes);
  if (wanted[0] === offset) rootsAt.set(offset, offset === 0 ? EMPTY_ROOT : range.root());
  const hashes = new Array<Buffer>(n);
  if (offset > 0) hashes[offset - 1] = Buffer.from((input.prefix as LogPrefix).lastHash);
  let w = wanted[0] === offset ? 1 : 0;
  for (let i = offset; i < n; i++) {
    const h = leafHash(leaves[i] as Uint8Array);
    hashes[i] = h;
    range.append(h);
    if (i + 1 === wanted[w]) {
      rootsAt.set(i + 1, range.root());
      w++;
    }
  }
  const matches = (size: number, root: Uint8Array): boolean => checkable(size) && bytesEqual(rootsAt.get(size) as Buffer, root);

  let latest: { pos: number; cp: Checkpoint } | null = null;
  for (const v of valid) if (matches(v.cp.size, v.cp.root) && (latest === null || v.cp.size > latest.cp.size)) latest = v;
  const verifiedSize = latest?.cp.size ?? 0;
  problems.push(
    ...forks(
      valid.filter((v) => v.cp.size >= offset),
      verifiedSize,
      latest,
      matches,
    ),
  );

  // 3. Entry-level diagnosis after the proven prefix.
  const claimedSize = valid.reduce((max, v) => Math.max(max, v.cp.size), trusted?.size ?? 0);
  const diagnosis = diagnoseLeaves({ leaves, hashes, start: Math.max(verifiedSize, offset), claimedSize });
  problems.push(...diagnosis.problems);
  const explainedBelow = (size: number): boolean => diagnosis.problems.some((p) => firstAffected(p) < size);

  // 4. Sizes the log must reach, roots nothing else explains, the trusted head.
  if (diagnosis.lastIndex + 1 < claimedSize) {
    const reached = diagnosis.lastIndex + 1;
    problems.push({
      kind: 'truncated',
      code: 'KT_AUDIT_TRUNCATED',
      size: reached,
      expectedSize: claimedSize,
      ...(trusted && trusted.size === claimedSize ? sourced(trusted.source) : {}),
      message: `the log ends after ${reached} entries, but ${trusted && trusted.size === claimedSize ? trustedName(trusted.source) : 'a signed checkpoint'} vouches for ${claimedSize}: entries ${reached} to ${claimedSize - 1} are gone`,
    });
  }
  for (const v of valid) {
    if (v.cp.size <= verifiedSize || !checkable(v.cp.size) || matches(v.cp.size, v.cp.root) || explainedBelow(v.cp.size)) continue;
    problems.push({
      kind: 'checkpoint_mismatch',
      code: 'KT_AUDIT_CHECKPOINT_MISMATCH',
      checkpoint: v.pos,
      size: v.cp.size,
      from: Math.max(verifiedSize, offset),
      message: `checkpoint ${v.pos} (size ${v.cp.size}) does not match the entries: some entry in ${Math.max(verifiedSize, offset)}..${v.cp.size - 1} was altered (the last one, or with every later link rewritten${offset > 0 ? `, or one before entry ${offset}` : ''})`,
    });
  }
  for (const t of trustedAll) {
    if (!checkable(t.size) || matches(t.size, t.root) || explainedBelow(t.size)) continue;
    problems.push({
      kind: 'inconsistent_with_trusted',
      code: 'KT_AUDIT_INCONSISTENT_WITH_TRUSTED',
      size: t.size,
      ...sourced(t.source),
      message: `the log's first ${t.size} entries do not have the root of ${trustedName(t.source)}: that history was rewritten${verifiedSize >= t.size ? ' and re-signed with the audit key' : ''}`,
    });
  }

  return {
    ok: problems.length === 0,
    size: n,
    verifiedSize,
    validCheckpoints: valid.length,
    latest: latest?.cp ?? null,
    problems,
  };
}

/** The leaves at positions [offset, offset + leaves.length) of a sparse array, for diagnosis in absolute positions. */
function placeAt(offset: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  const out = new Array<Uint8Array>(offset + leaves.length);
  for (let i = 0; i < leaves.length; i++) out[offset + i] = leaves[i] as Uint8Array;
  return out;
}

function checkpointProblem(e: unknown, pos: number, note: string): AuditProblem {
  if (!isKeyturnError(e)) throw e;
  const size = sizeOf(note);
  const at = size === undefined ? `checkpoint ${pos}` : `checkpoint ${pos} (size ${size})`;
  const withSize = size === undefined ? {} : { size };
  switch (e.code) {
    case 'KT_AUDIT_SIGNATURE_INVALID':
      return { kind: 'checkpoint_bad_signature', code: e.code, checkpoint: pos, ...withSize, message: `${at}: the audit key's signature does not verify (${e.message})` };
    case 'KT_AUDIT_NOTE_UNVERIFIED': {
      const signers = (e.details.signers as string[] | undefined) ?? [];
      return { kind: 'checkpoint_wrong_key', code: e.code, checkpoint: pos, ...withSize, signers, message: `${at} is not signed by the audit key; signed by: ${signers.join(', ') || 'nobody'}` };
    }
    case 'KT_AUDIT_ORIGIN_MISMATCH':
      return { kind: 'checkpoint_wrong_origin', code: e.code, checkpoint: pos, message: `${at}: ${e.message}` };
    case 'KT_AUDIT_NOTE_MALFORMED':
    case 'KT_AUDIT_CHECKPOINT_MALFORMED':
      return { kind: 'checkpoint_malformed', code: e.code, checkpoint: pos, message: `${at}: ${e.message}` };
    default:
      throw e;
  }
}

interface Trusted extends TrustedCheckpoint {
  readonly source: string | undefined;
}

function trustedName(source: string | undefined): string {
  return source === undefined ? 'the trusted checkpoint' : `the trusted checkpoint from ${source}`;
}

function sourced(source: string | undefined): { source?: string } {
  return source === undefined ? {} : { source };
}

function readTrusted(trusted: TrustedInput | readonly TrustedInput[] | undefined, verifier: NoteVerifier, origin: string | undefined, problems: AuditProblem[]): Trusted[] {
  if (trusted === undefined) return [];
  const list: readonly TrustedInput[] = Array.isArray(trusted) ? trusted : [trusted as TrustedInput];
  const out: Trusted[] = [];
  for (const t of list) {
    if (typeof t !== 'string' && !('note' in t)) {
      if (!Number.isSafeInteger(t.size) || t.size < 0 || t.root.length !== HASH_SIZE) {
        throw new KeyturnError('KT_AUDIT_CHECKPOINT_MALFORMED', `a trusted tree head needs an integer size >= 0 and a ${HASH_SIZE}-byte root`);
      }
      out.push({ size: t.size, root: t.root, source: undefined });
      continue;
    }
    const [note, source] = typeof t === 'string' ? [t, undefined] : [t.note, t.source];
    try {
      const cp = openCheckpoint(note, verifier, origin === undefined ? {} : { origin }).checkpoint;
      out.push({ size: cp.size, root: cp.root, source });
    } catch (e) {
      if (!isKeyturnError(e)) throw e;
      problems.push({ kind: 'trusted_invalid', code: e.code, ...sourced(source), message: `${trustedName(source)} is not valid for this key: ${e.message}` });
    }
  }
  return out;
}

/** Two valid checkpoints at one size with different roots, or a smaller one the proven prefix contradicts. */
function forks(
  valid: readonly { pos: number; cp: Checkpoint }[],
  verifiedSize: number,
  latest: { pos: number; cp: Checkpoint } | null,
  matches: (size: number, root: Uint8Array) => boolean,
): AuditProblem[] {
  const out: AuditProblem[] = [];
  const bySize = new Map<number, { pos: number; cp: Checkpoint }[]>();
  for (const v of valid) bySize.set(v.cp.size, [...(bySize.get(v.cp.size) ?? []), v]);
  for (const [size, group] of bySize) {
    const roots = new Set(group.map((v) => v.cp.root.toString('hex')));
    if (roots.size > 1) {
      const positions = group.map((v) => v.pos);
      out.push({
        kind: 'checkpoint_fork',
        code: 'KT_AUDIT_CHECKPOINT_FORK',
        checkpoints: positions,
        size,
        message: `checkpoints ${positions.join(', ')} are signed at size ${size} with different roots`,
      });
    } else if (latest !== null && size < verifiedSize && !matches(size, (group[0] as { cp: Checkpoint }).cp.root)) {
      const positions = [...group.map((v) => v.pos), latest.pos];
      out.push({
        kind: 'checkpoint_fork',
        code: 'KT_AUDIT_CHECKPOINT_FORK',
        checkpoints: positions,
        size,
        message: `checkpoint ${positions[0]} (size ${size}) contradicts checkpoint ${latest.pos} (size ${verifiedSize}), which matches the entries`,
      });
    }
  }
  return out;
}

function firstAffected(p: LeafProblem): number {
  switch (p.kind) {
    case 'leaf_changed':
      return Math.min(p.index, p.position);
    case 'leaf_missing':
      return p.index;
    case 'leaf_inserted':
      return p.position;
    case 'leaves_swapped':
      return Math.min(...p.indices, ...p.positions);
    case 'leaves_reordered':
      return p.indices.reduce((min, i) => Math.min(min, i), Number.MAX_SAFE_INTEGER);
  }
}

function sizeOf(note: string): number | undefined {
  try {
    return readCheckpointUnverified(note).size;
  } catch {
    return undefined;
  }
}
