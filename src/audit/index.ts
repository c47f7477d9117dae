/**
 * The tamper-evident audit log core: pure, storage-independent.
 *
 * - event.ts / canonical.ts: the event record and its RFC 8785 leaf bytes
 * - merkle.ts: RFC 9162 tree hashing, compact range, inclusion and consistency proofs
 * - note-key.ts / note.ts: C2SP signed notes with Ed25519 keys
 * - checkpoint.ts / proof.ts: C2SP tlog-checkpoint and tlog-proof
 * - appender.ts: numbering, linking and hashing events as they are written
 * - verify.ts / diagnose.ts / problem.ts: verifying a whole log (or a part, from its prefix) and naming the damage
 *
 * The durable log over the state database is not re-exported here (it needs I/O): log.ts
 * (AuditLog), repo.ts, keys.ts, hooks.ts, stored-verify.ts, prove.ts, export.ts, sinks/.
 *
 * @example
 * ```ts
 * import { AuditAppender, generateNoteKey, parseSignerKey, verifyAuditLog } from './audit/index.js';
 * const { signerKey, verifierKey } = generateNoteKey('audit.example/keyturn');
 * const log = new AuditAppender();
 * const leaves = [log.append({ time: new Date(), actor: 'user:alice', source: 'cli', action: 'secret.put', outcome: 'success' }).leaf];
 * const checkpoints = [log.checkpoint('audit.example/keyturn', parseSignerKey(signerKey))];
 * verifyAuditLog({ leaves, checkpoints, verifierKey }).ok; // true
 * ```
 */
export { AuditAppender } from './appender.js';
export type { AppendedEvent, AppenderState } from './appender.js';
export { canonicalJson } from './canonical.js';
export { formatCheckpoint, openCheckpoint, parseCheckpoint, readCheckpointUnverified, signCheckpoint } from './checkpoint.js';
export type { Checkpoint } from './checkpoint.js';
export { diagnoseLeaves } from './diagnose.js';
export type { DiagnoseInput, Diagnosis } from './diagnose.js';
export { AUDIT_OUTCOMES, GENESIS_PREV, VALUE_HMAC, checkEvent, decodeEvent, encodeCheckedEvent, encodeEvent, makeEvent } from './event.js';
export type { AuditEvent, AuditEventInput, AuditOutcome } from './event.js';
export {
  CompactRange,
  EMPTY_ROOT,
  HASH_SIZE,
  bytesEqual,
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export { ALG_ED25519, encodeVerifierKey, generateNoteKey, isValidKeyName, noteKeyId, parseSignerKey, parseVerifierKey } from './note-key.js';
export type { NoteSigner, NoteVerifier } from './note-key.js';
export { MAX_NOTE_SIGNATURES, keyLabel, openNote, parseNote, signNote } from './note.js';
export type { Note, NoteSignature, OpenedNote } from './note.js';
export type * from './problem.js';
export { TLOG_PROOF_HEADER, createTlogProof, encodeTlogProof, parseTlogProof, verifyTlogProof } from './proof.js';
export type { TlogProof } from './proof.js';
export { verifyAuditLog } from './verify.js';
export type { AuditVerifyResult, CheckpointRecord, LogPrefix, TrustedCheckpoint, VerifyAuditLogInput } from './verify.js';
