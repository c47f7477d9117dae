/**
 * The audit export file: a part of the log (or all of it) that anyone holding the verifier key
 * can verify offline. JSON Lines, UTF-8, one record per line:
 *
 *     {"type":"header","format":"keyturn-audit-export/v1","origin":…,"verifierKey":…,"createdAt":…,
 *      "first":A,"prefix":{"size":A,"nodes":[base64…],"lastHash":base64|null}}
 *     {"type":"event","seq":A,"id":"ev_…","leaf":"<the leaf text, exactly as hashed>"}
 *     … one line per stored event from seq A on, in stored order …
 *     {"type":"checkpoint","size":S,"note":"<signed note text>"}
 *     … every stored checkpoint of size >= A, the last one covering every event exported …
 *
 * `prefix` summarizes events `[0, A)` (their Merkle compact range and the leaf hash of event
 * A - 1), so the tree can be recomputed from the first exported event on; a signed root computed
 * through it proves it. The header's `verifierKey` is informational: verify with a key you got
 * elsewhere (`keyturn audit verify --file F --pubkey KEY`).
 *
 * @example
 * ```ts
 * await writeExport(audit, { from: 0 }, 'audit-export.jsonl');
 * for await (const chunk of exportChunks(audit, { from: 0 })) res.write(chunk); // the same lines, streamed
 * const result = verifyExport(parseExport(readFileSync('audit-export.jsonl', 'utf8')), vkey);
 * ```
 */
import { open } from 'node:fs/promises';
import { KeyturnError } from '../core/errors.js';
import { decodeBase64Strict } from './base64.js';
import type { AuditLog } from './log.js';
import { CompactRange, HASH_SIZE, leafHash } from './merkle.js';
import { parseVerifierKey } from './note-key.js';
import type { LeafRow } from './repo.js';
import { verifyAuditLog, type AuditVerifyResult, type LogPrefix, type TrustedCheckpoint } from './verify.js';

export const EXPORT_FORMAT = 'keyturn-audit-export/v1';

export interface ExportSummary {
  readonly file: string;
  /** Seq of the first event exported. */
  readonly first: number;
  readonly events: number;
  readonly checkpoints: number;
  /** Size of the checkpoint covering the export. */
  readonly checkpointSize: number;
}

export interface ParsedExport {
  readonly origin: string;
  readonly verifierKey: string;
  readonly createdAt: string;
  readonly prefix: LogPrefix;
  /** Leaf bytes in file order. */
  readonly leaves: readonly Buffer[];
  /** Event ids in file order ('' where a line was not a readable event record). */
  readonly ids: readonly string[];
  readonly checkpoints: readonly string[];
}

/** What an export held, once written. */
export interface ExportCounts {
  first: number;
  events: number;
  checkpoints: number;
  checkpointSize: number;
}

/**
 * The export's lines (each ending in a newline), in chunks: the header, the events from seq
 * `from` on, a page at a time, then the checkpoints covering them (one is signed first if the
 * log grew since the last). `counts` is filled in as it goes. What `writeExport` writes to a file
 * and the API streams.
 */
export async function* exportChunks(log: AuditLog, range: { from: number }, counts: ExportCounts = { first: 0, events: 0, checkpoints: 0, checkpointSize: 0 }): AsyncGenerator<string> {
  const cover = await log.checkpoint();
  const from = Math.max(0, Math.min(range.from, cover.size));
  const prefix = new CompactRange();
  let lastHash = null as Buffer | null;
  await log.pages(
    0,
    (rows) => {
      for (const row of rows) {
        if (row.seq >= from) return;
        lastHash = leafHash(Buffer.from(row.leaf, 'utf8'));
        prefix.append(lastHash);
      }
    },
    from,
  );
  const checkpoints = (await log.checkpoints()).filter((c) => c.size >= from);
  const header = {
    type: 'header',
    format: EXPORT_FORMAT,
    origin: log.origin,
    verifierKey: log.verifierKey,
    createdAt: new Date().toISOString(),
    first: from,
    prefix: { size: from, nodes: prefix.nodes().map((n) => Buffer.from(n).toString('base64')), lastHash: lastHash?.toString('base64') ?? null },
  };
  Object.assign(counts, { first: from, events: 0, checkpoints: checkpoints.length, checkpointSize: cover.size });
  yield `${JSON.stringify(header)}\n`;
  for (let next = from; ;) {
    const rows = await log.between(next, undefined, EXPORT_PAGE);
    if (rows.length === 0) break;
    counts.events += rows.length;
    next = (rows[rows.length - 1] as LeafRow).seq + 1;
    yield rows.map((r: LeafRow) => `${JSON.stringify({ type: 'event', seq: r.seq, id: r.id, leaf: r.leaf })}\n`).join('');
  }
  yield checkpoints.map((c) => `${JSON.stringify({ type: 'checkpoint', size: c.size, note: c.note })}\n`).join('');
}

/** Events per chunk of an export. */
const EXPORT_PAGE = 1000;

/**
 * Writes the events from seq `from` on, the prefix before them and the checkpoints covering
 * them (signing one first if the log grew since the last), to `file`.
 */
export async function writeExport(log: AuditLog, range: { from: number }, file: string): Promise<ExportSummary> {
  const counts: ExportCounts = { first: 0, events: 0, checkpoints: 0, checkpointSize: 0 };
  const chunks = exportChunks(log, range, counts);
  // The first chunk (the header) is computed before the file is created, as before.
  const first = await chunks.next();
  const handle = await open(file, 'w', 0o600);
  try {
    if (!first.done) await handle.write(first.value);
    for await (const chunk of chunks) if (chunk !== '') await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { file, ...counts };
}

/**
 * Reads an export file. A line that is not a readable record after the header is kept as an
 * event with its raw bytes, so verification names it (changed or inserted) instead of refusing
 * the file; a missing or malformed header is KT_AUDIT_EXPORT_MALFORMED.
 */
export function parseExport(text: string): ParsedExport {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = parseLine(lines[0] ?? '');
  if (header === null || header.type !== 'header' || header.format !== EXPORT_FORMAT) {
    throw malformed(`line 1 is not a ${EXPORT_FORMAT} header`);
  }
  const prefix = parsePrefix(header.prefix);
  if (typeof header.origin !== 'string' || typeof header.verifierKey !== 'string' || typeof header.createdAt !== 'string') {
    throw malformed('the header lacks origin, verifierKey or createdAt');
  }
  const leaves: Buffer[] = [];
  const ids: string[] = [];
  const checkpoints: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const record = parseLine(line);
    if (record !== null && record.type === 'checkpoint' && typeof record.note === 'string') checkpoints.push(record.note);
    else if (record !== null && record.type === 'event' && typeof record.leaf === 'string') {
      leaves.push(Buffer.from(record.leaf, 'utf8'));
      ids.push(typeof record.id === 'string' ? record.id : '');
    } else {
      leaves.push(Buffer.from(line, 'utf8'));
      ids.push('');
    }
  }
  return { origin: header.origin, verifierKey: header.verifierKey, createdAt: header.createdAt, prefix, leaves, ids, checkpoints };
}

/**
 * Verifies a parsed export with the verifier key alone (origin: the key's name), optionally
 * against a checkpoint trusted from before.
 */
export function verifyExport(parsed: ParsedExport, verifierKey: string, trusted?: string | TrustedCheckpoint): AuditVerifyResult {
  const verifier = parseVerifierKey(verifierKey);
  return verifyAuditLog({
    leaves: parsed.leaves,
    checkpoints: parsed.checkpoints,
    verifierKey: verifier,
    origin: verifier.name,
    prefix: parsed.prefix,
    ...(trusted === undefined ? {} : { trusted }),
  });
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function parsePrefix(value: unknown): LogPrefix {
  if (typeof value !== 'object' || value === null) throw malformed('the header has no prefix');
  const p = value as Record<string, unknown>;
  const size = p.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || !Array.isArray(p.nodes)) throw malformed('the header prefix needs a size and nodes');
  const nodes = p.nodes.map((n) => hash(n, 'a prefix node'));
  const lastHash = size === 0 ? Buffer.alloc(HASH_SIZE) : hash(p.lastHash, 'the prefix lastHash');
  try {
    CompactRange.restore(size, nodes);
  } catch (e) {
    throw malformed(`the header prefix does not fit its size: ${(e as Error).message}`);
  }
  return { size, nodes, lastHash };
}

function hash(value: unknown, what: string): Buffer {
  const bytes = typeof value === 'string' ? decodeBase64Strict(value) : null;
  if (bytes === null || bytes.length !== HASH_SIZE) throw malformed(`${what} is not ${HASH_SIZE} bytes of base64`);
  return bytes;
}

function malformed(message: string): KeyturnError {
  return new KeyturnError('KT_AUDIT_EXPORT_MALFORMED', message);
}
