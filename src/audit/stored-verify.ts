/**
 * Verifies the audit log as stored in the state database: every leaf row in seq order, every
 * stored checkpoint, with the verifier key (the stored one unless the auditor pins their own)
 * and optionally a checkpoint the auditor trusts. Adds what only the head row can tell: a tail
 * cut after the last checkpoint (the head records more events than there are rows), rows added
 * behind the appender's back, and a change to the last event (its hash is the head's `prev`).
 * The head row is not signed: it narrows the window between checkpoints, the checkpoints prove.
 * What the audit MAC key adds (mac.ts): every entry after the last matching checkpoint must
 * carry its MAC (else `leaf_changed` at its seq: written or rewritten without the key), and the
 * head row its MAC (else `head_forged`). Exports carry no MACs; their verification is unchanged.
 *
 * Checkpoints kept outside the database (`outside`: read back from the audit sinks) are trusted
 * like `trusted`: they are what catches a database cut back together with its checkpoints and
 * head row (nothing inside the database can show what it no longer holds). Each one must verify
 * under the log's key (else `trusted_invalid`, naming where it came from).
 *
 * @example
 * ```ts
 * const result = await verifyStoredLog(audit, { verifierKey: pinnedVkey });
 * result.ok; // true when intact
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { AuditLog } from './log.js';
import { leafHash } from './merkle.js';
import type { AuditProblem } from './problem.js';
import type { Head, LeafRow } from './repo.js';
import { verifyAuditLog, type AuditVerifyResult, type CheckpointRecord, type OutsideCheckpoint, type TrustedInput } from './verify.js';

export interface StoredVerifyOptions {
  /** The verifier key to check signatures with (default: the one stored with the log). */
  readonly verifierKey?: string;
  /** A signed checkpoint (note text) the auditor kept from before. */
  readonly trusted?: string;
  /** Signed checkpoints read back from outside the database (the audit sinks), each with its source. */
  readonly outside?: readonly OutsideCheckpoint[];
}

export interface StoredVerifyResult extends AuditVerifyResult {
  readonly head: Head;
  /** The verifier key used. */
  readonly verifierKey: string;
  /** The stored checkpoint note matching `latest` (keep it as the next `--trusted`). */
  readonly latestNote: string | null;
}

/** Verifies the stored log; never throws for damage (it is in `problems`). */
export async function verifyStoredLog(log: AuditLog, options: StoredVerifyOptions = {}): Promise<StoredVerifyResult> {
  const leaves: Buffer[] = [];
  const rows = await log.between(0);
  for (const row of rows) leaves.push(Buffer.from(row.leaf, 'utf8'));
  const stored = await log.checkpoints();
  const checkpoints: CheckpointRecord[] = stored.map((c) => ({ note: c.note, size: c.size, root: Buffer.from(c.root, 'base64') }));
  const head = await log.head();
  const verifierKey = options.verifierKey ?? log.verifierKey;
  const trusted: TrustedInput[] = [...(options.trusted === undefined ? [] : [options.trusted]), ...distinct(options.outside ?? [])];
  const result = verifyAuditLog({ leaves, checkpoints, verifierKey, origin: log.origin, trusted });
  const problems: AuditProblem[] = [...result.problems, ...headProblems(head, leaves, result.problems)];
  const latestAt = result.latest === null ? -1 : stored.findIndex((c) => c.size === result.latest?.size && Buffer.from(c.root, 'base64').equals(result.latest.root));
  problems.push(...macProblems(log, rows, head, result.verifiedSize, Math.max(0, latestAt), problems));
  const latestNote = latestAt === -1 ? null : (stored[latestAt]?.note ?? null);
  return { ...result, ok: problems.length === 0, problems, head, verifierKey, latestNote };
}

/** One of each note (a sink delivers at least once). */
function distinct(outside: readonly OutsideCheckpoint[]): OutsideCheckpoint[] {
  const seen = new Set<string>();
  return outside.filter((c) => !seen.has(c.note) && seen.add(c.note));
}

function headProblems(head: Head, leaves: readonly Buffer[], found: readonly AuditProblem[]): AuditProblem[] {
  const n = leaves.length;
  if (head.size > n) {
    if (found.some((p) => p.kind === 'truncated' || p.kind === 'leaf_missing')) return [];
    return [
      {
        kind: 'truncated',
        code: 'KT_AUDIT_TRUNCATED',
        size: n,
        expectedSize: head.size,
        message: `the log ends after ${n} entries, but its head row records ${head.size}: entries ${n} to ${head.size - 1} are gone`,
      },
    ];
  }
  if (head.size < n) {
    if (found.some((p) => p.kind === 'leaf_inserted')) return [];
    return [
      {
        kind: 'leaf_inserted',
        code: 'KT_AUDIT_LEAF_INSERTED',
        position: head.size,
        message: `the entry at position ${head.size} was inserted: the head row records ${head.size} entries and the log never wrote more`,
      },
    ];
  }
  // The last entry's hash is the head's prev: only evidence when nothing else was found (a cut
  // tail with a rewritten size, say, leaves the prev of the entry that used to be last).
  if (n > 0 && found.length === 0 && leafHash(leaves[n - 1] as Buffer).toString('hex') !== head.prev) {
    return [{ kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED', index: n - 1, position: n - 1, message: `entry ${n - 1} was changed: the head row records a different hash for the last entry` }];
  }
  return [];
}

/** Entries after the proven prefix without a valid MAC, and a head row without one; not repeating what was found already. */
function macProblems(log: AuditLog, rows: readonly LeafRow[], head: Head, verifiedSize: number, checkpoint: number, found: readonly AuditProblem[]): AuditProblem[] {
  const { badLeaves, headValid } = log.authenticate(rows, head, verifiedSize);
  // Positions and seqs the diagnosis already names (a moved row may have left its MAC behind).
  const named = new Set<number>();
  for (const p of found) {
    if (p.kind === 'leaf_changed') named.add(p.position).add(p.index);
    else if (p.kind === 'leaf_inserted') named.add(p.position);
    else if (p.kind === 'leaves_swapped') for (const x of [...p.indices, ...p.positions]) named.add(x);
    else if (p.kind === 'leaves_reordered') for (const x of p.indices) named.add(x);
  }
  const out: AuditProblem[] = [];
  for (const position of badLeaves) {
    const index = (rows[position] as LeafRow).seq;
    if (named.has(position) || named.has(index)) continue;
    out.push({
      kind: 'leaf_changed',
      code: 'KT_AUDIT_LEAF_CHANGED',
      index,
      position,
      message: `entry ${index} was changed or written without the audit key: its MAC is missing or does not verify (no checkpoint covers it yet)`,
    });
  }
  if (!headValid) {
    out.push({
      kind: 'head_forged',
      code: 'KT_AUDIT_HEAD_FORGED',
      checkpoint,
      size: head.size,
      message: `the head row (size ${head.size}) does not carry a valid MAC: it was written without the audit key; the entries after checkpoint ${checkpoint} (size ${verifiedSize}) are not vouched for by it, and nothing more is appended or signed`,
    });
  }
  return out;
}

/** Throws KT_AUDIT_VERIFY_FAILED naming the problems, for callers that need an intact log. */
export function assertIntact(result: AuditVerifyResult): void {
  if (result.ok) return;
  throw new KeyturnError('KT_AUDIT_VERIFY_FAILED', `the audit log has ${result.problems.length} problem(s): ${result.problems.map((p) => p.code).join(', ')}`, {
    details: { problems: result.problems.map((p) => ({ kind: p.kind, code: p.code })) },
  });
}
