/**
 * `keyturn audit` through the CLI on a real SQLite home: mutation tests on the stored log (rows
 * tampered with through node:sqlite), each detected and named by `audit verify` on the local log
 * and by `audit verify --file EXPORT --pubkey KEY` offline; fail-closed writes; a rotation's
 * intent and outcome leaves (PostgreSQL target); the heartbeat; proofs; concurrent processes; help.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, makeEvent } from '../src/audit/event.js';
import { leafHash } from '../src/audit/merkle.js';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from '../src/audit/note-key.js';
import { parseNote, signNote } from '../src/audit/note.js';
import { verifyTlogProof } from '../src/audit/proof.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { SQLITE_REFUSE_AUDIT, rewriteHeadWithKey } from './helpers/audit.js';
import { BIN, runCli, type CliResult } from './helpers/cli.js';
import { rotationFixture } from './helpers/rotation-fixtures.js';
import { tempDir } from './helpers/state.js';

interface Problem {
  kind: string;
  code: string;
  index?: number;
  position?: number;
  indices?: number[];
  size?: number;
  expectedSize?: number;
  checkpoint?: number;
}

const EVERY = '5';
let base: ReturnType<typeof tempDir>;
let home: string;
let pubkey: string;

/** A home with 41 events (audit.init + 40 writes and reads) and a checkpoint every 5. */
beforeAll(async () => {
  base = tempDir();
  home = join(base.dir, 'home');
  const env = { KEYTURN_HOME: home, KEYTURN_AUDIT_CHECKPOINT_EVERY: EVERY };
  expect((await runCli(['init'], { env })).code).toBe(0);
  const kt = await openKeyturn(loadSettings(env), { audit: { actor: 'user:fixture', source: 'cli', correlationId: 'fixture' } });
  try {
    for (let i = 0; i < 20; i++) {
      await kt.store.put(`app/s${i % 4}`, `value-${i}`);
      await kt.store.get(`app/s${i % 4}`);
    }
  } finally {
    await kt.close();
  }
  pubkey = (await runCli(['audit', 'pubkey'], { env })).stdout.trim();
});
afterAll(() => base.remove());

/** A copy of the fixture home, for one test to damage. */
function copyHome(): { env: Record<string, string>; dir: string; db: () => DatabaseSync; done: () => void } {
  const tmp = tempDir();
  const dir = join(tmp.dir, 'home');
  cpSync(home, dir, { recursive: true });
  return { env: { KEYTURN_HOME: dir, KEYTURN_AUDIT_CHECKPOINT_EVERY: EVERY, KEYTURN_LOG_LEVEL: 'silent' }, dir, db: () => new DatabaseSync(join(dir, 'keyturn.db')), done: tmp.remove };
}

function withDb(open: () => DatabaseSync, fn: (db: DatabaseSync) => void): void {
  const db = open();
  try {
    fn(db);
  } finally {
    db.close();
  }
}

function leafAt(db: DatabaseSync, seq: number): string {
  return (db.prepare('SELECT leaf FROM audit_leaves WHERE seq = ?').get(seq) as { leaf: string }).leaf;
}

/** Verifies locally and offline (export, then verify --file with the public key only). */
async function verifyBoth(env: Record<string, string>, dir: string): Promise<{ local: CliResult & { problems: Problem[] }; offline: CliResult & { problems: Problem[] } }> {
  const local = await runCli(['audit', 'verify', '--json'], { env });
  const file = join(dir, '..', 'export.jsonl');
  const exported = await runCli(['audit', 'export', '--all', '--output', file], { env });
  expect(exported.code, exported.stderr).toBe(0);
  const offline = await runCli(['audit', 'verify', '--file', file, '--pubkey', pubkey, '--json']);
  const problems = (r: CliResult): Problem[] => (JSON.parse(r.stdout) as { problems: Problem[] }).problems;
  return { local: { ...local, problems: problems(local) }, offline: { ...offline, problems: problems(offline) } };
}

describe('audit verify on the untouched log', () => {
  it('exits 0 locally and offline, having verified every entry against a signed checkpoint', async () => {
    const h = copyHome();
    try {
      const { local, offline } = await verifyBoth(h.env, h.dir);
      expect(local.code, local.stderr).toBe(0);
      expect(offline.code, offline.stderr).toBe(0);
      expect(JSON.parse(local.stdout)).toMatchObject({ ok: true, size: 41, verifiedSize: 41, problems: [] });
      expect(JSON.parse(offline.stdout)).toMatchObject({ ok: true, problems: [] });
      const human = await runCli(['audit', 'verify'], { env: h.env });
      expect(human.stdout).toMatch(/^Audit log intact: \d+ entries, \d+ proven by a signed checkpoint/);
    } finally {
      h.done();
    }
  });
});

describe('audit verify names each kind of tampering with the stored rows', () => {
  /** Each case: the tampering, the problem both verifications name, and what the local one adds (the MACs). */
  const cases: Array<[string, (db: DatabaseSync) => void, Partial<Problem>, Partial<Problem>?]> = [
    [
      'one changed byte of one leaf',
      (db) => {
        const leaf = leafAt(db, 17);
        db.prepare('UPDATE audit_leaves SET leaf = ? WHERE seq = 17').run(leaf.replace('"actor":"user:fixture"', '"actor":"user:fixturf"'));
      },
      { kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED', index: 17, position: 17 },
    ],
    ['a deleted leaf', (db) => db.prepare('DELETE FROM audit_leaves WHERE seq = 23').run(), { kind: 'leaf_missing', code: 'KT_AUDIT_LEAF_MISSING', index: 23 }],
    [
      'an inserted leaf (forged, linked to its predecessor, later rows renumbered)',
      (db) => {
        const prev = leafHash(Buffer.from(leafAt(db, 11))).toString('hex');
        const forged = encodeEvent(makeEvent({ time: new Date(), actor: 'user:mallory', source: 'cli', action: 'secret.read', path: 'app/s1', outcome: 'success' }, 12, prev)).toString();
        db.exec('UPDATE audit_leaves SET seq = -seq - 1 WHERE seq >= 12; UPDATE audit_leaves SET seq = -seq WHERE seq < 0;');
        db.prepare('INSERT INTO audit_leaves (seq, id, leaf, leaf_hash, time) VALUES (12, ?, ?, ?, ?)').run('ev_12_000000000000', forged, leafHash(Buffer.from(forged)).toString('base64'), Date.now());
      },
      { kind: 'leaf_inserted', code: 'KT_AUDIT_LEAF_INSERTED', position: 12 },
    ],
    [
      'two leaves swapped',
      (db) => {
        const a = db.prepare('SELECT * FROM audit_leaves WHERE seq = 8').get() as Record<string, string>;
        const b = db.prepare('SELECT * FROM audit_leaves WHERE seq = 30').get() as Record<string, string>;
        const set = db.prepare('UPDATE audit_leaves SET id = ?, leaf = ?, leaf_hash = ? WHERE seq = ?');
        set.run(`${b.id}x`, b.leaf!, b.leaf_hash!, 8);
        set.run(a.id!, a.leaf!, a.leaf_hash!, 30);
      },
      { kind: 'leaves_swapped', code: 'KT_AUDIT_LEAVES_REORDERED', indices: [8, 30] },
    ],
    [
      'a truncated tail (and the head row rewritten to match)',
      (db) => {
        db.prepare('DELETE FROM audit_leaves WHERE seq >= 36').run();
        db.prepare('UPDATE audit_head SET size = 36').run();
      },
      { kind: 'truncated', code: 'KT_AUDIT_TRUNCATED', size: 36, expectedSize: 41 },
      { kind: 'head_forged', code: 'KT_AUDIT_HEAD_FORGED', size: 36 },
    ],
    [
      'a replaced checkpoint signature',
      (db) => {
        const { note } = db.prepare('SELECT note FROM audit_checkpoints WHERE size = 41').get() as { note: string };
        const sig = parseNote(note).signatures[0]!;
        const bytes = Buffer.from(sig.base64, 'base64');
        bytes[10] = bytes[10]! ^ 0xff;
        db.prepare('UPDATE audit_checkpoints SET note = ? WHERE size = 41').run(note.replace(sig.base64, bytes.toString('base64')));
      },
      { kind: 'checkpoint_bad_signature', code: 'KT_AUDIT_SIGNATURE_INVALID', size: 41 },
    ],
    [
      'a checkpoint re-signed with another key',
      (db) => {
        const { note } = db.prepare('SELECT note FROM audit_checkpoints WHERE size = 41').get() as { note: string };
        const origin = parseVerifierKey(pubkey).name;
        const other = parseSignerKey(generateNoteKey(origin).signerKey);
        db.prepare('UPDATE audit_checkpoints SET note = ? WHERE size = 41').run(signNote(parseNote(note).text, [other]));
      },
      { kind: 'checkpoint_wrong_key', code: 'KT_AUDIT_NOTE_UNVERIFIED', size: 41 },
    ],
  ];

  it.each(cases)('%s', async (_name, tamper, expected, localExtra) => {
    const h = copyHome();
    try {
      withDb(h.db, tamper);
      const { local, offline } = await verifyBoth(h.env, h.dir);
      for (const r of [local, offline]) {
        expect(r.code).toBe(1);
        const extra = r === local && localExtra !== undefined ? [expect.objectContaining(localExtra)] : [];
        expect(r.problems).toEqual([expect.objectContaining(expected), ...extra]);
        expect(JSON.parse(r.stderr).error.code).toBe('KT_AUDIT_VERIFY_FAILED');
      }
      const human = await runCli(['audit', 'verify'], { env: h.env });
      expect(human.code).toBe(1);
      expect(human.stdout).toContain(`Audit log NOT intact: ${localExtra === undefined ? 1 : 2} problem(s)`);
      expect(human.stdout).toContain(`${expected.code}  ${expected.kind}  `);
    } finally {
      h.done();
    }
  });

  it('with --trusted: a history rewritten and re-signed with the audit key itself is caught', async () => {
    const h = copyHome();
    try {
      const trusted = join(h.dir, '..', 'trusted.checkpoint');
      expect((await runCli(['audit', 'verify', '--save-trusted', trusted], { env: h.env })).code).toBe(0);
      expect(readFileSync(trusted, 'utf8')).toMatch(/^keyturn\.local\/[0-9a-f]+\n41\n/);
      // Someone holding the database and the key ring starts the log over and signs a new history.
      withDb(h.db, (db) => {
        // (Erasing the MAC key too, so that the next open makes a new one and takes the empty head as it is.)
        db.exec("DELETE FROM audit_leaves; DELETE FROM audit_checkpoints; DELETE FROM audit_keys WHERE kind = 'mac';");
        db.prepare("UPDATE audit_head SET size = 0, prev = ?, nodes = '', last_event_at = NULL, checkpoint_size = 0, checkpoint_at = NULL, head_mac = NULL").run('0'.repeat(64));
      });
      const rewriter = await openKeyturn(loadSettings(h.env));
      try {
        await rewriter.audit.appendBatch(Array.from({ length: 45 }, () => ({ action: 'secret.read', outcome: 'success' as const, path: 'app/quiet' })));
        await rewriter.audit.checkpoint();
      } finally {
        await rewriter.close();
      }
      // Alone, the new history is consistent with itself ...
      expect((await runCli(['audit', 'verify'], { env: h.env })).code).toBe(0);
      // ... but not with the checkpoint the auditor kept.
      const r = await runCli(['audit', 'verify', '--trusted', trusted, '--json'], { env: h.env });
      expect(r.code).toBe(1);
      expect((JSON.parse(r.stdout) as { problems: Problem[] }).problems).toEqual([
        expect.objectContaining({ kind: 'inconsistent_with_trusted', code: 'KT_AUDIT_INCONSISTENT_WITH_TRUSTED', size: 41 }),
      ]);
    } finally {
      h.done();
    }
  });
});

describe('fail closed through the CLI', () => {
  it('secret put reports failure and stores nothing when the audit log cannot be written', async () => {
    const h = copyHome();
    try {
      const marker = `MARKER-${randomBytes(8).toString('hex')}`;
      withDb(h.db, (db) => db.exec(SQLITE_REFUSE_AUDIT));
      const put = await runCli(['secret', 'put', 'new/one', '--stdin', '--json'], { env: h.env, stdin: marker });
      expect(put.code).toBe(1);
      expect(put.stdout).toBe('');
      expect(JSON.parse(put.stderr).error.code).toBe('KT_AUDIT_WRITE_FAILED');
      expect(put.stderr).not.toContain(marker);
      const get = await runCli(['secret', 'get', 'app/s1', '--json'], { env: h.env });
      expect(get.code).toBe(1);
      expect(get.stdout).toBe('');
      withDb(h.db, (db) => db.exec('DROP TRIGGER audit_refuse'));
      const after = await runCli(['secret', 'get', 'new/one', '--json'], { env: h.env });
      expect(JSON.parse(after.stderr).error.code).toBe('KT_SECRET_NOT_FOUND');
      expect((await runCli(['audit', 'verify'], { env: h.env })).code).toBe(0);
    } finally {
      h.done();
    }
  });
});

describe('audit tail, prove, checkpoint, pubkey, hash and tick', () => {
  it('tail prints each event with its id; --json one object per line; prove gives a tlog-proof that verifies', async () => {
    const h = copyHome();
    try {
      const tail = await runCli(['audit', 'tail', '-n', '3'], { env: h.env });
      expect(tail.code).toBe(0);
      const lines = tail.stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[2]).toMatch(new RegExp(String.raw`^ev_40_[0-9a-f]{12} {2}#40 {2}\S+Z {2}secret\.read {2}success {2}user:fixture via cli {2}app/s3@`));
      const json = (await runCli(['audit', 'tail', '-n', '2', '--json'], { env: h.env })).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; seq: number });
      expect(json.map((e) => e.seq)).toEqual([39, 40]);
      const proved = await runCli(['audit', 'prove', json[0]!.id, '--json'], { env: h.env });
      expect(proved.code, proved.stderr).toBe(0);
      const { proof, leaf, seq } = JSON.parse(proved.stdout) as { proof: string; leaf: string; seq: number };
      expect(seq).toBe(39);
      expect(decodeEvent(Buffer.from(leaf)).seq).toBe(39);
      expect(verifyTlogProof(proof, leafHash(Buffer.from(leaf)), parseVerifierKey(pubkey)).index).toBe(39);
      const missing = await runCli(['audit', 'prove', `${json[0]!.id.slice(0, -1)}${json[0]!.id.endsWith('0') ? '1' : '0'}`, '--json'], { env: h.env });
      expect(JSON.parse(missing.stderr).error.code).toBe('KT_AUDIT_EVENT_NOT_FOUND');
    } finally {
      h.done();
    }
  });

  it('checkpoint prints the signed note; pubkey the C2SP vkey; hash the HMAC events carry, and --find the events', async () => {
    const h = copyHome();
    try {
      const cp = await runCli(['audit', 'checkpoint'], { env: h.env });
      expect(cp.stdout).toMatch(/^keyturn\.local\/[0-9a-f]{16}\n41\n[A-Za-z0-9+/]{43}=\n\n— keyturn\.local\/[0-9a-f]{16} \S+\n$/);
      expect(parseVerifierKey(pubkey).name).toBe(cp.stdout.split('\n')[0]);
      const hash = await runCli(['audit', 'hash', '--stdin', '--find', '--json'], { env: h.env, stdin: 'value-6\n' });
      expect(hash.code, hash.stderr).toBe(0);
      const out = JSON.parse(hash.stdout) as { hashes: string[]; events: Array<{ action: string; path: string }> };
      expect(out.hashes[0]).toMatch(/^hmac-sha256:hk_[0-9a-f]{8}:/);
      expect(out.events).toEqual([expect.objectContaining({ action: 'secret.put', path: 'app/s2' })]);
      const rotated = await runCli(['audit', 'rotate-hash-key', '--json'], { env: h.env });
      const again = JSON.parse((await runCli(['audit', 'hash', 'value-6', '--find', '--json'], { env: h.env })).stdout) as { hashes: string[]; events: unknown[] };
      expect(again.hashes).toHaveLength(2);
      expect(again.hashes[0]).toContain((JSON.parse(rotated.stdout) as { hmacKeyId: string }).hmacKeyId);
      expect(again.events).toHaveLength(1);
    } finally {
      h.done();
    }
  });

  it('tick appends a heartbeat after a quiet period, and nothing right after', async () => {
    const h = copyHome();
    try {
      await rewriteHeadWithKey(h.env, (head) => ({ ...head, lastEventAt: (head.lastEventAt as number) - 3600000, checkpointAt: (head.checkpointAt as number) - 3600000 }));
      const beat = await runCli(['audit', 'tick', '--json'], { env: h.env });
      expect(beat.code, beat.stderr).toBe(0);
      expect(JSON.parse(beat.stdout)).toMatchObject({ heartbeat: { seq: 41 }, checkpoint: 42 });
      expect(JSON.parse((await runCli(['audit', 'tick', '--json'], { env: h.env })).stdout)).toEqual({ heartbeat: null, checkpoint: null });
      const last = JSON.parse((await runCli(['audit', 'tail', '-n', '1', '--json'], { env: h.env })).stdout) as { action: string; actor: string };
      expect(last).toMatchObject({ action: 'audit.heartbeat', actor: 'system:audit' });
      expect((await runCli(['audit', 'verify'], { env: h.env })).code).toBe(0);
    } finally {
      h.done();
    }
  });

  it('every subcommand has help, and bad arguments are usage errors', async () => {
    const help = await runCli(['audit', '--help']);
    for (const sub of ['tail', 'export', 'verify', 'prove', 'checkpoint', 'pubkey', 'hash', 'tick', 'deliver', 'rotate-hash-key']) {
      expect(help.stdout).toContain(sub);
      const r = await runCli(['audit', sub, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: keyturn audit ${sub}`);
    }
    const noKey = await runCli(['audit', 'verify', '--file', 'x.jsonl', '--json']);
    expect(noKey.code).toBe(2);
    expect(JSON.parse(noKey.stderr).error.code).toBe('KT_USAGE');
    const twoRanges = await runCli(['audit', 'export', '--all', '--hours', '2', '--output', 'x', '--json'], { env: { KEYTURN_HOME: home } });
    expect(JSON.parse(twoRanges.stderr).error.code).toBe('KT_USAGE');
    const notExport = await runCli(['audit', 'verify', '--file', '/dev/null', '--pubkey', pubkey, '--json']);
    expect(JSON.parse(notExport.stderr).error.code).toBe('KT_AUDIT_EXPORT_MALFORMED');
  });
});

describe('concurrent processes on one SQLite file', () => {
  it('serialize their appends: no gap, no duplicate, the log verifies', async () => {
    const h = copyHome();
    try {
      const codes = await Promise.all(
        Array.from(
          { length: 6 },
          (_, i) =>
            new Promise<number | null>((resolve) => {
              const child = spawn(process.execPath, [BIN, 'secret', 'put', `race/s${i}`, '--value', `v${i}`], { env: { PATH: process.env.PATH ?? '', ...h.env }, stdio: 'ignore' });
              child.on('exit', resolve);
            }),
        ),
      );
      expect(codes).toEqual(Array(6).fill(0));
      const events = (await runCli(['audit', 'tail', '-n', '6', '--json'], { env: h.env })).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; path: string; action: string });
      expect(events.map((e) => e.seq)).toEqual([41, 42, 43, 44, 45, 46]);
      expect(new Set(events.map((e) => e.path))).toEqual(new Set(Array.from({ length: 6 }, (_, i) => `race/s${i}`)));
      expect((await runCli(['audit', 'verify'], { env: h.env })).code).toBe(0);
    } finally {
      h.done();
    }
  });
});

describe('a rotation on a PostgreSQL target', () => {
  it('records its intent before the pending value and the target change, and its outcome after, as two leaves', async () => {
    const fx = await rotationFixture('postgres', 'single-user');
    try {
      const before = JSON.parse((await runCli(['audit', 'tail', '-n', '1', '--json'], { env: fx.env })).stdout) as { seq: number };
      const r = await runCli(['rotate', fx.path, '--json'], { env: fx.env });
      expect(r.code, r.stderr).toBe(0);
      const events = (await runCli(['audit', 'tail', '-n', '100', '--json'], { env: fx.env })).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; action: string; outcome: string; source: string; runId: string | null; versionId: string | null; path: string })
        .filter((e) => e.seq > before.seq && e.path === fx.path);
      const rotate = events.filter((e) => e.action === 'secret.rotate');
      expect(rotate.map((e) => [e.outcome, e.source])).toEqual([
        ['intent', 'engine'],
        ['success', 'engine'],
      ]);
      expect(rotate[0]!.runId).toBe(rotate[1]!.runId);
      const pendingPut = events.find((e) => e.action === 'secret.put');
      const moved = events.find((e) => e.action === 'secret.stage.current');
      expect(rotate[0]!.seq).toBeLessThan(pendingPut!.seq);
      expect(moved!.seq).toBeLessThan(rotate[1]!.seq);
      expect(rotate[1]!.versionId).toBe(moved!.versionId);
      expect((await runCli(['audit', 'verify'], { env: fx.env })).code).toBe(0);
    } finally {
      await fx.close();
    }
  });

  it('does not touch the target when its intent cannot be recorded', async () => {
    const fx = await rotationFixture('postgres', 'single-user');
    try {
      const current = JSON.parse((await runCli(['secret', 'get', fx.path, '--json'], { env: fx.env })).stdout) as { id: string; value: { username: string; password: string } };
      const db = new DatabaseSync(join(fx.home, 'keyturn.db'));
      db.exec(SQLITE_REFUSE_AUDIT);
      db.close();
      const r = await runCli(['rotate', fx.path, '--json'], { env: { ...fx.env, KEYTURN_LOG_LEVEL: 'silent' } });
      expect(r.code).not.toBe(0);
      // The intent is recorded in the run's first transaction (prepare with create): it could not
      // commit, so the run stopped there, before any step touched the target, and left nothing.
      expect(JSON.parse(r.stderr).error.code).toBe('KT_AUDIT_WRITE_FAILED');
      expect(r.stderr).not.toContain(current.value.password);
      expect(await fx.logsIn(current.value)).toBe(true);
      const db2 = new DatabaseSync(join(fx.home, 'keyturn.db'));
      db2.exec('DROP TRIGGER audit_refuse');
      db2.close();
      const still = JSON.parse((await runCli(['secret', 'get', fx.path, '--json'], { env: fx.env })).stdout) as { id: string };
      expect(still.id).toBe(current.id);
      const runs = JSON.parse((await runCli(['runs', '--json'], { env: fx.env })).stdout) as Array<{ id: string; step: string; status: string }>;
      expect(runs).toEqual([]);
      // Once the log is writable again, the next rotation goes through.
      const again = await runCli(['rotate', fx.path, '--json'], { env: fx.env });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ status: 'done' });
    } finally {
      await fx.close();
    }
  });
});

describe('tail --follow and the sinks a command feeds', () => {
  it('tail --follow prints events as other commands write them', async () => {
    const h = copyHome();
    try {
      const follow = runCli(['audit', 'tail', '--follow', '-n', '1', '--max', '3', '--interval', '20', '--json'], { env: h.env });
      for (const p of ['live/one', 'live/two']) expect((await runCli(['secret', 'put', p, '--value', 'v'], { env: h.env })).code).toBe(0);
      const r = await follow;
      expect(r.code, r.stderr).toBe(0);
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; path: string | null; id: string });
      expect(events.map((e) => [e.seq, e.path])).toEqual([
        [40, 'app/s3'],
        [41, 'live/one'],
        [42, 'live/two'],
      ]);
      expect(events[1]!.id).toMatch(/^ev_41_[0-9a-f]{12}$/);
    } finally {
      h.done();
    }
  });

  it('each command feeds the configured JSONL sink when it finishes; audit deliver shows where it is', async () => {
    const h = copyHome();
    try {
      const marker = `MARKER-${randomBytes(8).toString('hex')}`;
      const env = { ...h.env, KEYTURN_AUDIT_JSONL: 'audit/audit.jsonl' };
      expect((await runCli(['secret', 'put', 'sink/one', '--stdin'], { env, stdin: marker })).code).toBe(0);
      // The folder did not exist: the sink is down, the command still succeeded.
      const down = JSON.parse((await runCli(['audit', 'deliver', '--json'], { env })).stdout) as { reports: Array<{ behind: number; error: string | null }> };
      expect(down.reports[0]!.behind).toBe(42);
      expect(down.reports[0]!.error).toContain('ENOENT');
      mkdirSync(join(h.dir, 'audit'));
      expect((await runCli(['secret', 'get', 'sink/one'], { env })).stdout).toBe(marker);
      const file = readFileSync(join(h.dir, 'audit', 'audit.jsonl'), 'utf8');
      const lines = file
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind?: string; seq: number; action: string; path: string | null })
        .filter((l) => l.kind !== 'checkpoint');
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 43 }, (_, i) => i));
      expect(lines.slice(-2).map((l) => [l.action, l.path])).toEqual([
        ['secret.put', 'sink/one'],
        ['secret.read', 'sink/one'],
      ]);
      expect(file).not.toContain(marker);
      const up = JSON.parse((await runCli(['audit', 'deliver', '--json'], { env })).stdout) as { sinks: Array<{ name: string; nextSeq: number; failures: number }> };
      expect(up.sinks).toEqual([expect.objectContaining({ name: `jsonl:${join(h.dir, 'audit', 'audit.jsonl')}`, nextSeq: 43, failures: 0 })]);
    } finally {
      h.done();
    }
  });
});

describe('keyturn apply', () => {
  it('records each applied change in its transaction, and applies nothing when it cannot', async () => {
    const h = copyHome();
    try {
      const yaml = (length: number) => `version: 1\nsecrets:\n  app/session:\n    type: app-secret\n    password: { length: ${length} }\n`;
      const file = join(h.dir, '..', 'keyturn.yaml');
      writeFileSync(file, yaml(40));
      expect((await runCli(['apply', '-f', file], { env: h.env })).code).toBe(0);
      writeFileSync(file, yaml(41));
      expect((await runCli(['apply', '-f', file], { env: h.env })).code).toBe(0);
      const events = (await runCli(['audit', 'tail', '-n', '3', '--json'], { env: h.env })).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { action: string; path: string; outcome: string; valueHmac: string | null });
      expect(events.map((e) => [e.action, e.path, e.outcome])).toEqual([
        ['secret.put', 'app/session', 'success'],
        ['config.policy.create', 'app/session', 'success'],
        ['config.policy.change', 'app/session', 'success'],
      ]);
      expect(events[0]!.valueHmac).toMatch(/^hmac-sha256:/);
      withDb(h.db, (db) => db.exec(SQLITE_REFUSE_AUDIT));
      writeFileSync(file, yaml(42));
      const refused = await runCli(['apply', '-f', file, '--json'], { env: h.env });
      expect(JSON.parse(refused.stderr).error.code).toBe('KT_AUDIT_WRITE_FAILED');
      withDb(h.db, (db) => {
        const { config } = db.prepare("SELECT config FROM secret_policies WHERE path = 'app/session'").get() as { config: string };
        expect(JSON.parse(config)).toMatchObject({ password: { length: 41 } });
      });
    } finally {
      h.done();
    }
  });
});
