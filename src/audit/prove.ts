/**
 * Inclusion proofs for stored events, in the C2SP tlog-proof form: the event's index, its RFC
 * 6962 audit path, and a signed checkpoint covering it (signed now if the log grew since the
 * last one). The proof is checked before it is handed out, so a stored log that no longer
 * matches its checkpoint yields an error, never a proof that does not verify.
 *
 * @example
 * ```ts
 * const { proof, row } = await proveEvent(audit, 'ev_42_6e340b9cffb3');
 * verifyTlogProof(proof, leafHash(Buffer.from(row.leaf)), parseVerifierKey(audit.verifierKey));
 * ```
 */
import { KeyturnError, isKeyturnError } from '../core/errors.js';
import type { AuditLog } from './log.js';
import { leafHash } from './merkle.js';
import { parseVerifierKey } from './note-key.js';
import { createTlogProof, verifyTlogProof } from './proof.js';
import type { CheckpointRow, LeafRow } from './repo.js';

export interface EventProof {
  readonly row: LeafRow;
  /** The tlog-proof text (c2sp.org/tlog-proof@v1). */
  readonly proof: string;
  readonly checkpoint: CheckpointRow;
}

/** The inclusion proof of one event (by `ev_…` id or seq). */
export async function proveEvent(log: AuditLog, idOrSeq: string): Promise<EventProof> {
  const row = await log.find(idOrSeq);
  if (row === null) throw new KeyturnError('KT_AUDIT_EVENT_NOT_FOUND', `no audit event ${/^\d+$/.test(idOrSeq) ? `with seq ${idOrSeq}` : 'with that id'}`);
  const checkpoint = await log.checkpoint();
  const hashes: Buffer[] = [];
  for (const r of await log.between(0, checkpoint.size)) hashes.push(Buffer.from(r.leaf_hash, 'base64'));
  let proof: string;
  try {
    proof = createTlogProof(row.seq, hashes, checkpoint.note);
    verifyTlogProof(proof, leafHash(Buffer.from(row.leaf, 'utf8')), parseVerifierKey(log.verifierKey), { origin: log.origin });
  } catch (e) {
    if (!isKeyturnError(e)) throw e;
    throw new KeyturnError(
      'KT_AUDIT_PROOF_INVALID',
      `event ${row.seq} cannot be proven against checkpoint ${checkpoint.size}: the stored log does not match it (${e.code}); run keyturn audit verify`,
      { cause: e },
    );
  }
  return { row, proof, checkpoint };
}
