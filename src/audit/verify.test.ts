// Mutation tests: a generated log of 1000 events with a checkpoint every 100, damaged one way at a
// time; verifyAuditLog gets only the public verifier key and must name exactly what was done.
import { describe, expect, it } from 'vitest';
import { AuditAppender } from './appender.js';
import { signCheckpoint } from './checkpoint.js';
import type { AuditEventInput } from './event.js';
import { encodeEvent, makeEvent } from './event.js';
import { CompactRange, leafHash } from './merkle.js';
import { generateNoteKey, parseSignerKey } from './note-key.js';
import { keyLabel, parseNote, signNote } from './note.js';
import type { AuditProblem } from './problem.js';
import { verifyAuditLog } from './verify.js';
import type { VerifyAuditLogInput } from './verify.js';

const ORIGIN = 'audit.example/keyturn';
const KEY = generateNoteKey(ORIGIN);
const SIGNER = parseSignerKey(KEY.signerKey);
const OTHER = parseSignerKey(generateNoteKey(ORIGIN).signerKey);
const ACTIONS = ['secret.put', 'secret.read', 'rotation.start', 'rotation.set', 'rotation.test', 'rotation.finish'];

function input(i: number): AuditEventInput {
  const failed = i % 17 === 0;
  return {
    time: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    actor: i % 3 === 0 ? 'system:scheduler' : `user:u${i % 7}`,
    source: i % 2 === 0 ? 'engine' : 'api',
    action: ACTIONS[i % ACTIONS.length] as string,
    path: `prod/db/app_${i % 11}`,
    versionId: `v${i}`,
    outcome: failed ? 'failure' : 'success',
    errorCode: failed ? 'KT_TARGET_AUTH_FAILED' : null,
    runId: `run_${Math.floor(i / 6)}`,
    correlationId: `req-${i}`,
  };
}

interface Log {
  leaves: Buffer[];
  checkpoints: string[];
}

function buildLog(size = 1000, every = 100, inputs: (i: number) => AuditEventInput = input): Log {
  const log = new AuditAppender();
  const leaves: Buffer[] = [];
  const checkpoints: string[] = [];
  for (let i = 0; i < size; i++) {
    leaves.push(log.append(inputs(i)).leaf);
    if ((i + 1) % every === 0) checkpoints.push(log.checkpoint(ORIGIN, SIGNER));
  }
  return { leaves, checkpoints };
}

const LOG = buildLog();
const copy = (): Log => ({ leaves: LOG.leaves.map((l) => Buffer.from(l)), checkpoints: [...LOG.checkpoints] });

function verify(log: Log, extra: Partial<VerifyAuditLogInput> = {}): ReturnType<typeof verifyAuditLog> {
  return verifyAuditLog({ leaves: log.leaves, checkpoints: log.checkpoints, verifierKey: KEY.verifierKey, origin: ORIGIN, ...extra });
}

function only(problem: Partial<AuditProblem>): unknown {
  return [expect.objectContaining(problem)];
}

/** Changes one byte of a leaf at the first occurrence of `marker`, plus `offset`. */
function changeByte(leaf: Buffer, marker: string, offset: number, to: string): void {
  const at = leaf.indexOf(marker) + offset;
  expect(leaf[at]).not.toBe(to.charCodeAt(0));
  leaf[at] = to.charCodeAt(0);
}

describe('verifyAuditLog on an intact log', () => {
  it('verifies 1000 events and 10 checkpoints with the public key alone', () => {
    const result = verify(LOG);
    expect(result).toMatchObject({ ok: true, size: 1000, verifiedSize: 1000, validCheckpoints: 10, problems: [] });
    expect(result.latest?.size).toBe(1000);
  });

  it('accepts an uncheckpointed tail and checkpoints given in any order', () => {
    const log = buildLog(1050);
    const result = verify({ leaves: log.leaves, checkpoints: [...log.checkpoints].reverse() });
    expect(result).toMatchObject({ ok: true, size: 1050, verifiedSize: 1000, problems: [] });
  });

  it('accepts an empty log', () => {
    expect(verify({ leaves: [], checkpoints: [] })).toMatchObject({ ok: true, verifiedSize: 0, problems: [] });
  });
});

describe('verifyAuditLog names each kind of damage', () => {
  it.each([
    ['a letter in the actor', '"actor":"', 10, 'X'],
    ['a digit of the seq', '"seq":', 6, '7'],
    ['a hex digit of prev', '"prev":"', 8, 'f'],
    ['the JSON syntax', '{', 0, '['],
  ])('one changed byte (%s) of entry 537 -> leaf_changed 537', (_what, marker, offset, to) => {
    const log = copy();
    changeByte(log.leaves[537] as Buffer, marker, offset, to);
    const result = verify(log);
    expect(result.ok).toBe(false);
    expect(result.verifiedSize).toBe(500);
    expect(result.problems).toEqual(only({ kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED', index: 537, position: 537 }));
  });

  it('a deleted entry -> leaf_missing', () => {
    const log = copy();
    log.leaves.splice(537, 1);
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_missing', code: 'KT_AUDIT_LEAF_MISSING', index: 537 }));
  });

  it('a deleted entry just before the last -> leaf_missing, not truncation', () => {
    const log = copy();
    log.leaves.splice(998, 1);
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_missing', index: 998 }));
  });

  it('an inserted forged event that links to its predecessor -> leaf_inserted', () => {
    const log = copy();
    const prev = leafHash(log.leaves[536] as Buffer).toString('hex');
    const forged = encodeEvent(makeEvent({ ...input(537), actor: 'user:mallory', action: 'secret.read' }, 537, prev));
    log.leaves.splice(537, 0, forged);
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_inserted', code: 'KT_AUDIT_LEAF_INSERTED', position: 537 }));
  });

  it('an inserted line of garbage -> leaf_inserted', () => {
    const log = copy();
    log.leaves.splice(537, 0, Buffer.from('{"hello":"world"}'));
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_inserted', position: 537 }));
  });

  it('a duplicated entry -> leaf_inserted', () => {
    const log = copy();
    log.leaves.splice(700, 0, Buffer.from(log.leaves[200] as Buffer));
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_inserted', position: 700 }));
  });

  it('two entries swapped -> leaves_swapped', () => {
    const log = copy();
    [log.leaves[120], log.leaves[815]] = [log.leaves[815] as Buffer, log.leaves[120] as Buffer];
    expect(verify(log).problems).toEqual(only({ kind: 'leaves_swapped', code: 'KT_AUDIT_LEAVES_REORDERED', indices: [120, 815], positions: [815, 120] }));
  });

  it('two neighbours swapped -> leaves_swapped', () => {
    const log = copy();
    [log.leaves[300], log.leaves[301]] = [log.leaves[301] as Buffer, log.leaves[300] as Buffer];
    expect(verify(log).problems).toEqual(only({ kind: 'leaves_swapped', indices: [300, 301], positions: [301, 300] }));
  });

  it('one entry moved far -> leaves_reordered', () => {
    const log = copy();
    const [moved] = log.leaves.splice(100, 1);
    log.leaves.splice(400, 0, moved as Buffer);
    const problems = verify(log).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'leaves_reordered', code: 'KT_AUDIT_LEAVES_REORDERED' });
  });

  it('the tail cut off -> truncated', () => {
    const log = copy();
    log.leaves.length = 950;
    expect(verify(log).problems).toEqual(only({ kind: 'truncated', code: 'KT_AUDIT_TRUNCATED', size: 950, expectedSize: 1000 }));
  });

  it('the tail cut off at a checkpoint boundary -> truncated', () => {
    const log = copy();
    log.leaves.length = 700;
    expect(verify(log).problems).toEqual(only({ kind: 'truncated', size: 700, expectedSize: 1000 }));
  });

  it("a checkpoint's signature replaced -> checkpoint_bad_signature", () => {
    const log = copy();
    const note = log.checkpoints[4] as string;
    const { signatures } = parseNote(note);
    const forged = Buffer.from(signatures[0]!.base64, 'base64');
    forged[10]! ^= 0x40;
    log.checkpoints[4] = note.replace(signatures[0]!.base64, forged.toString('base64'));
    const result = verify(log);
    expect(result.problems).toEqual(only({ kind: 'checkpoint_bad_signature', code: 'KT_AUDIT_SIGNATURE_INVALID', checkpoint: 4, size: 500 }));
    expect(result.validCheckpoints).toBe(9);
  });

  it('a checkpoint re-signed with another key -> checkpoint_wrong_key', () => {
    const log = copy();
    log.checkpoints[4] = signNote(parseNote(log.checkpoints[4] as string).text, [OTHER]);
    expect(verify(log).problems).toEqual(only({ kind: 'checkpoint_wrong_key', code: 'KT_AUDIT_NOTE_UNVERIFIED', checkpoint: 4, size: 500, signers: [keyLabel(OTHER.name, OTHER.keyId)] }));
  });

  it('an entry changed and every checkpoint re-signed with another key -> the forged checkpoints and the entry', () => {
    const log = copy();
    changeByte(log.leaves[537] as Buffer, '"actor":"', 10, 'X');
    log.checkpoints = log.checkpoints.map((note) => signNote(parseNote(note).text, [OTHER]));
    const result = verify(log);
    expect(result.verifiedSize).toBe(0);
    expect(result.problems.filter((p) => p.kind === 'checkpoint_wrong_key')).toHaveLength(10);
    expect(result.problems.filter((p) => p.kind !== 'checkpoint_wrong_key')).toEqual(only({ kind: 'leaf_changed', index: 537 }));
  });

  it('the last entry changed -> checkpoint_mismatch over the last checkpoint interval', () => {
    const log = copy();
    changeByte(log.leaves[999] as Buffer, '"actor":"', 10, 'X');
    expect(verify(log).problems).toEqual(only({ kind: 'checkpoint_mismatch', code: 'KT_AUDIT_CHECKPOINT_MISMATCH', checkpoint: 9, size: 1000, from: 900 }));
  });

  it('entries after the last checkpoint are checked by their links', () => {
    const log = buildLog(1050);
    changeByte(log.leaves[1020] as Buffer, '"actor":"', 10, 'X');
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_changed', index: 1020 }));
    const cut = buildLog(1050);
    cut.leaves.splice(1040, 1);
    expect(verify(cut).problems).toEqual(only({ kind: 'leaf_missing', index: 1040 }));
  });

  it('a checkpoint for another origin -> checkpoint_wrong_origin', () => {
    const log = copy();
    const text = parseNote(log.checkpoints[2] as string).text.replace(ORIGIN, 'elsewhere.example/log');
    log.checkpoints[2] = signNote(text, [SIGNER]);
    expect(verify(log).problems).toEqual(only({ kind: 'checkpoint_wrong_origin', code: 'KT_AUDIT_ORIGIN_MISMATCH', checkpoint: 2 }));
  });

  it('a garbled checkpoint -> checkpoint_malformed', () => {
    const log = copy();
    log.checkpoints[3] = 'not a note';
    expect(verify(log).problems).toEqual(only({ kind: 'checkpoint_malformed', code: 'KT_AUDIT_NOTE_MALFORMED', checkpoint: 3 }));
  });

  it('stored size/root columns that disagree with the signed text -> checkpoint_record_mismatch', () => {
    const records = LOG.checkpoints.map((note) => ({ note, size: Number(parseNote(note).text.split('\n')[1]) }));
    records[6] = { note: records[6]!.note, size: 12345 };
    const result = verifyAuditLog({ leaves: LOG.leaves, checkpoints: records, verifierKey: KEY.verifierKey });
    expect(result.problems).toEqual(only({ kind: 'checkpoint_record_mismatch', checkpoint: 6 }));
  });

  it('two checkpoints signed by the log key at one size with different roots -> checkpoint_fork', () => {
    const log = copy();
    const lines = parseNote(log.checkpoints[2] as string).text.split('\n');
    lines[2] = Buffer.alloc(32, 7).toString('base64');
    log.checkpoints.push(signNote(lines.join('\n'), [SIGNER]));
    expect(verify(log).problems).toEqual(only({ kind: 'checkpoint_fork', code: 'KT_AUDIT_CHECKPOINT_FORK', checkpoints: [2, 10], size: 300 }));
  });
});

describe('verifyAuditLog against a trusted checkpoint', () => {
  const trusted = LOG.checkpoints[4] as string; // size 500, kept by an auditor earlier

  it('accepts the log that extends it', () => {
    expect(verify(LOG, { trusted })).toMatchObject({ ok: true, problems: [] });
  });

  it('names a history rewritten and re-signed with the log key -> inconsistent_with_trusted', () => {
    const rewritten = buildLog(1000, 100, (i) => (i === 50 ? { ...input(i), actor: 'user:nobody' } : input(i)));
    expect(verify(rewritten)).toMatchObject({ ok: true });
    expect(verify(rewritten, { trusted }).problems).toEqual(only({ kind: 'inconsistent_with_trusted', code: 'KT_AUDIT_INCONSISTENT_WITH_TRUSTED', size: 500 }));
  });

  it('names a log cut back below it, with its later checkpoints removed -> truncated', () => {
    const log = { leaves: LOG.leaves.slice(0, 400), checkpoints: LOG.checkpoints.slice(0, 4) };
    expect(verify(log)).toMatchObject({ ok: true });
    expect(verify(log, { trusted }).problems).toEqual(only({ kind: 'truncated', size: 400, expectedSize: 500 }));
  });

  it('takes a tree head as well as a signed note', () => {
    const rewritten = buildLog(600, 100, (i) => (i === 50 ? { ...input(i), actor: 'user:nobody' } : input(i)));
    const head = { size: 500, root: Buffer.from(parseNote(trusted).text.split('\n')[2] as string, 'base64') };
    expect(verify(rewritten, { trusted: head }).problems).toEqual(only({ kind: 'inconsistent_with_trusted', size: 500 }));
  });

  it('reports a trusted checkpoint signed by another key -> trusted_invalid', () => {
    const forged = signCheckpoint({ origin: ORIGIN, size: 500, root: Buffer.alloc(32) }, OTHER);
    expect(verify(LOG, { trusted: forged }).problems).toEqual(only({ kind: 'trusted_invalid', code: 'KT_AUDIT_NOTE_UNVERIFIED' }));
  });
});

describe('verifyAuditLog at the edges (first entry, checkpoint boundaries, near the end)', () => {
  const EDGES = [0, 1, 99, 100, 101, 499, 500, 899, 900, 997, 998];
  const forgedAt = (leaves: Buffer[], i: number): Buffer => {
    const prev = i === 0 ? '0'.repeat(64) : leafHash(leaves[i - 1] as Buffer).toString('hex');
    return encodeEvent(makeEvent({ ...input(i), actor: 'user:mallory' }, i, prev));
  };
  const prevDigit = (leaf: Buffer): void => {
    const at = leaf.indexOf('"prev":"') + 20;
    leaf[at] = leaf[at] === 0x66 ? 0x65 : 0x66;
  };

  it.each(EDGES)('entry %i: changed content, changed prev, removed, forged insert, garbage insert', (i) => {
    let log = copy();
    changeByte(log.leaves[i] as Buffer, '"actor":"', 10, 'X');
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_changed', index: i, position: i }));

    log = copy();
    prevDigit(log.leaves[i] as Buffer);
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_changed', index: i, position: i }));

    log = copy();
    log.leaves.splice(i, 1);
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_missing', index: i }));

    log = copy();
    log.leaves.splice(i, 0, forgedAt(log.leaves, i));
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_inserted', position: i }));

    log = copy();
    log.leaves.splice(i, 0, Buffer.from('garbage'));
    expect(verify(log).problems).toEqual(only({ kind: 'leaf_inserted', position: i }));
  });

  it.each([
    [0, 1],
    [0, 999],
    [99, 100],
    [500, 501],
    [998, 999],
  ])('entries %i and %i swapped', (a, b) => {
    const log = copy();
    [log.leaves[a], log.leaves[b]] = [log.leaves[b] as Buffer, log.leaves[a] as Buffer];
    expect(verify(log).problems).toEqual(only({ kind: 'leaves_swapped', indices: [a, b], positions: [b, a] }));
  });

  it('a run of removed entries -> one leaf_missing each', () => {
    const log = copy();
    log.leaves.splice(400, 10);
    expect(verify(log).problems.map((p) => [p.kind, 'index' in p ? p.index : undefined])).toEqual(Array.from({ length: 10 }, (_, k) => ['leaf_missing', 400 + k]));
  });

  it('the very last entry removed is a truncation', () => {
    const log = copy();
    log.leaves.pop();
    expect(verify(log).problems).toEqual(only({ kind: 'truncated', size: 999, expectedSize: 1000 }));
  });
});

describe('verifyAuditLog on a part of the log (a prefix and the entries after it)', () => {
  /** Entries [from, n) of LOG with the compact range of [0, from) as the prefix. */
  function part(from: number): { leaves: Buffer[]; checkpoints: string[]; prefix: { size: number; nodes: Buffer[]; lastHash: Buffer } } {
    const range = new CompactRange();
    for (const leaf of LOG.leaves.slice(0, from)) range.append(leafHash(leaf));
    return {
      leaves: LOG.leaves.slice(from).map((l) => Buffer.from(l)),
      checkpoints: [...LOG.checkpoints],
      prefix: { size: from, nodes: range.nodes().map((n) => Buffer.from(n)), lastHash: leafHash(LOG.leaves[from - 1] as Buffer) },
    };
  }
  const verifyPart = (p: ReturnType<typeof part>, extra: Partial<VerifyAuditLogInput> = {}) =>
    verifyAuditLog({ leaves: p.leaves, checkpoints: p.checkpoints, prefix: p.prefix, verifierKey: KEY.verifierKey, origin: ORIGIN, ...extra });

  it('verifies entries 650..999 through the prefix, skipping the checkpoints before it', () => {
    expect(verifyPart(part(650))).toMatchObject({ ok: true, size: 1000, verifiedSize: 1000, validCheckpoints: 10, problems: [] });
  });

  it('names damage in the part with absolute indices', () => {
    const p = part(650);
    changeByte(p.leaves[80] as Buffer, '"actor":"', 10, 'X');
    p.leaves.splice(200, 1);
    expect(verifyPart(p).problems).toEqual([expect.objectContaining({ kind: 'leaf_changed', index: 730 }), expect.objectContaining({ kind: 'leaf_missing', index: 850 })]);
  });

  it('a forged prefix fails the signed root', () => {
    const p = part(650);
    p.prefix.nodes[0] = Buffer.alloc(32, 7);
    const result = verifyPart(p);
    expect(result.ok).toBe(false);
    expect(result.verifiedSize).toBe(0);
    expect(result.problems.map((x) => x.kind)).toContain('checkpoint_mismatch');
  });

  it('checks a trusted checkpoint at or after the prefix, and says when one before it cannot be checked', () => {
    const p = part(700);
    expect(verifyPart(p, { trusted: LOG.checkpoints[6] as string }).ok).toBe(true); // size 700: the prefix itself
    expect(verifyPart(p, { trusted: LOG.checkpoints[8] as string }).ok).toBe(true);
    expect(verifyPart(p, { trusted: LOG.checkpoints[5] as string }).problems).toEqual(only({ kind: 'trusted_invalid', code: 'KT_AUDIT_TRUSTED_NOT_COVERED' }));
  });
});
