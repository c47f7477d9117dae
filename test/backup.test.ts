/**
 * `keyturn backup` through the CLI on a real home: a home with several secrets (several
 * versions, a rollback that moved stages, a rotation on the real PostgreSQL cluster), backed up,
 * the home DESTROYED, restored into a new home: every version of every secret and every stage
 * read back equal, `audit verify` passes with the same public key, a rotation continues. Then the
 * refusals: flipped bytes anywhere (seeded positions), truncations, reordered chunks, appended
 * bytes and a wrong passphrase are refused with a KT_BACKUP_* code and nothing is written; no
 * plaintext value is in the file; the recipient-key path; every table of the schema is in a backup.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, ok, quiet, snapshot, type Snapshot } from './helpers/backup.js';
import { runCli } from './helpers/cli.js';
import { fakeTty } from './helpers/fake-tty.js';
import { main } from '../src/cli/main.js';
import { gzipSync } from 'node:zlib';
import { parseDump, type StateDump } from '../src/backup/dump.js';
import { openBackup, sealBackup } from '../src/backup/envelope.js';
import { generateRootKey, encodeRootKey } from '../src/crypto/root-key.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { seeded } from './helpers/seeded.js';
import { tempDir } from './helpers/state.js';

const MARKER = `KT-BACKUP-MARKER-${randomBytes(6).toString('hex')}`;
const PASS = 'correct horse battery staple';

let fx: RotationFixture<'postgres'>;
let work: ReturnType<typeof tempDir>;
let passFile: string;
let backupFile: string;
/** What the original home held: per path, every version's value and the stages. */
let before: Snapshot;
let pubkey: string;

/** The state tables of a freshly initialized home (what the current migrations make). */
function schemaTables(home: string): string[] {
  const db = new DatabaseSync(join(home, 'keyturn.db'));
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'kysely%' ORDER BY name").all() as Array<{ name: string }>).map(
      (r) => r.name,
    );
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  work = tempDir('keyturn-backup-');
  passFile = join(work.dir, 'pass.txt');
  writeFileSync(passFile, `${PASS}\n`, { mode: 0o600 });
  fx = await rotationFixture('postgres', 'single-user');
  const env = fx.env;
  // Several versions, a JSON value, a marker value, values big enough for several chunks.
  await ok(['secret', 'put', 'app/api', '--value', 'first'], env);
  await ok(['secret', 'put', 'app/api', '--value', MARKER], env);
  await ok(['secret', 'put', 'app/api', '--value', 'third'], env);
  await ok(['secret', 'rollback', 'app/api'], env);
  await ok(['secret', 'put', 'app/fields', '--field', 'user=alice', '--field', `password=${MARKER}-json`], env);
  for (let i = 0; i < 4; i++) await ok(['secret', 'put', `app/blob${i}`, '--stdin'], env, randomBytes(24 * 1024).toString('base64'));
  await ok(['policy', 'put', 'app-read', '-f', '-'], env, 'rules:\n  - path: app/*\n    capabilities: [read, list]\n');
  await ok(['token', 'create', '--policy', 'app-read', '--description', 'backup test', '--json'], env);
  const rotated = await ok(['rotate', fx.path, '--json'], env);
  expect(rotated.stdout).toContain('"done"');
  before = await snapshot(env);
  pubkey = (await ok(['audit', 'pubkey'], env)).stdout.trim();
  backupFile = join(work.dir, 'home.ktbk');
  const made = json<{ file: string; summary: { secrets: number; versions: number } }>(await ok(['backup', 'create', '--out', backupFile, '--passphrase-file', passFile, '--json'], env));
  expect(made.summary.secrets).toBe(Object.keys(before).length);
  expect(made.summary.versions).toBe(Object.values(before).reduce((n, s) => n + Object.keys(s.versions).length, 0));
}, 120_000);

afterAll(async () => {
  await fx?.close();
  work?.remove();
});

describe('backup, destroy, restore', () => {
  it('restores every version, value and stage; the audit log verifies with the same key; a rotation continues', async () => {
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['app/api', 'app/fields', 'app/db', 'app/blob0']));
    // Three versions, rolled back: the marker version is current again, the third previous.
    expect(before['app/api']!.stages).toEqual({ current: 2, previous: 3 });
    expect(Object.keys(before['app/db']!.versions).length).toBeGreaterThanOrEqual(2);
    // Destroy the original home completely.
    rmSync(fx.home, { recursive: true, force: true });
    expect(existsSync(fx.home)).toBe(false);
    const home = join(work.dir, 'restored');
    const env = { KEYTURN_HOME: home };
    const r = json<{ home: string; rewrapped: boolean; summary: { secrets: number } }>(await ok(['backup', 'restore', backupFile, '--passphrase-file', passFile, '--json'], env));
    expect(r.rewrapped).toBe(false);
    expect(statSync(join(home, 'root.key')).mode & 0o777).toBe(0o600);
    // The backup holds the event of its own making, the last one before the snapshot.
    const last = JSON.parse((await ok(['audit', 'tail', '-n', '1', '--json'], env)).stdout) as { action: string; outcome: string; source: string };
    expect([last.action, last.outcome, last.source]).toEqual(['backup.create', 'intent', 'cli']);
    expect(await snapshot(env)).toEqual(before);
    const verify = await runCli(['audit', 'verify', '--pubkey', pubkey, '--json'], { env: { ...env, ...quiet } });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    expect((await ok(['audit', 'pubkey'], env)).stdout.trim()).toBe(pubkey);
    // The rotation continues on the restored home, against the same database user.
    const again = await ok(['rotate', fx.path, '--json'], env);
    expect(again.stdout).toContain('"done"');
    const current = json<{ value: { username: string; password: string } }>(await ok(['secret', 'get', fx.path, '--json'], env)).value;
    expect(current.password).not.toBe(before[fx.path]!.versions[Number(before[fx.path]!.stages.current)]!.value);
    expect(await fx.logsIn(current)).toBe(true);
    const after = await runCli(['audit', 'verify', '--pubkey', pubkey, '--json'], { env: { ...env, ...quiet } });
    expect(after.code, after.stderr).toBe(0);
  });

  it('the backup file holds no plaintext value (marker planted), nor the root key in the clear', () => {
    const bytes = readFileSync(backupFile);
    for (const needle of [MARKER, Buffer.from(MARKER).toString('base64'), 'app/api', 'secret_versions', 'first']) expect(bytes.includes(Buffer.from(needle))).toBe(false);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
  });

  it('verify prints a summary of a backup that holds every table of the current schema', async () => {
    const fresh = join(work.dir, 'fresh');
    await ok(['init'], { KEYTURN_HOME: fresh });
    const tables = schemaTables(fresh);
    expect(tables.length).toBeGreaterThan(20);
    const v = json<{ ok: boolean; summary: { perTable: Record<string, number>; secrets: number; versions: number; auditEvents: number }; valuesOpened: number }>(
      await ok(['backup', 'verify', backupFile, '--passphrase-file', passFile, '--json'], { KEYTURN_HOME: fresh }),
    );
    expect(v.ok).toBe(true);
    expect(Object.keys(v.summary.perTable).sort()).toEqual(tables);
    expect(v.valuesOpened).toBe(v.summary.versions);
    expect(v.summary.perTable.runs).toBeGreaterThanOrEqual(1);
    expect(v.summary.perTable.run_steps).toBeGreaterThan(0);
    expect(v.summary.perTable.tokens).toBe(1);
    expect(v.summary.auditEvents).toBeGreaterThan(10);
    const text = await ok(['backup', 'verify', backupFile, '--passphrase-file', passFile], { KEYTURN_HOME: fresh });
    expect(text.stdout).toContain('is intact');
    expect(text.stdout).toContain('secret_versions');
  });

  it('--new-root-key re-wraps the data keys under a fresh root key; the values still read', async () => {
    const home = join(work.dir, 'rewrapped');
    const r = json<{ rootKeyId: string; backupRootKeyId: string; rewrapped: boolean }>(
      await ok(['backup', 'restore', backupFile, '--home', home, '--passphrase-file', passFile, '--new-root-key', '--json'], {}),
    );
    expect(r.rewrapped).toBe(true);
    expect(r.rootKeyId).not.toBe(r.backupRootKeyId);
    const got = json<{ value: unknown }>(await ok(['secret', 'get', 'app/fields', '--json'], { KEYTURN_HOME: home }));
    expect(got.value).toEqual(before['app/fields']!.versions[1]!.value);
    expect((await runCli(['audit', 'verify', '--pubkey', pubkey], { env: { KEYTURN_HOME: home, ...quiet } })).code).toBe(0);
  });
});

describe('restore into another root key or schema', () => {
  it('with KEYTURN_ROOT_KEY set, the data keys are re-wrapped under it and no root.key is written', async () => {
    const home = join(work.dir, 'env-root');
    const rootKey = encodeRootKey(generateRootKey()).trim();
    const env = { KEYTURN_HOME: home, KEYTURN_ROOT_KEY: rootKey };
    const r = json<{ rewrapped: boolean; rootKeySource: string }>(await ok(['backup', 'restore', backupFile, '--passphrase-file', passFile, '--json'], env));
    expect([r.rewrapped, r.rootKeySource]).toEqual([true, 'KEYTURN_ROOT_KEY']);
    expect(existsSync(join(home, 'root.key'))).toBe(false);
    expect(json<{ value: unknown }>(await ok(['secret', 'get', 'app/api', '--json'], env)).value).toBe(MARKER);
  });

  /** The backup re-sealed after `change` edits its dump (as a backup from another Keyturn would be). */
  function edited(name: string, change: (d: StateDump) => void): string {
    const dump = parseDump(openBackup(readFileSync(backupFile), { passphrase: PASS }));
    change(dump);
    const f = join(work.dir, name);
    writeFileSync(f, sealBackup(gzipSync(Buffer.from(JSON.stringify(dump))), { passphrase: PASS }, { scrypt: { N: 1024, r: 8, p: 1 } }));
    return f;
  }

  it('a backup of another schema (a migration unknown here, a table missing, a column renamed) is refused and writes nothing', async () => {
    for (const [label, file] of [
      ['newer', edited('newer.ktbk', (d) => d.migrations.push('9999_future'))],
      ['table missing', edited('no-table.ktbk', (d) => (d.tables = d.tables.filter((t) => t.name !== 'leases')))],
      ['column renamed', edited('renamed.ktbk', (d) => (d.tables.find((t) => t.name === 'secrets')!.columns[1] = 'pathname'))],
    ] as const) {
      const target = join(work.dir, `never-schema-${label.replace(/ /g, '-')}`);
      const r = await runCli(['backup', 'restore', file, '--home', target, '--passphrase-file', passFile, '--json'], { env: quiet });
      expect(JSON.parse(r.stderr).error.code, label).toBe('KT_BACKUP_SCHEMA_MISMATCH');
      expect(existsSync(target), label).toBe(false);
      const v = await runCli(['backup', 'verify', file, '--passphrase-file', passFile, '--json'], { env: quiet });
      expect(JSON.parse(v.stderr).error.code, label).toBe('KT_BACKUP_SCHEMA_MISMATCH');
    }
  });

  it('verify and restore open every value: a sealed value swapped between two versions is found', async () => {
    const file = edited('swapped-values.ktbk', (d) => {
      const t = d.tables.find((x) => x.name === 'secret_versions')!;
      const col = t.columns.indexOf('sealed');
      const [a, b] = [t.rows[0]!, t.rows[1]!];
      [a[col], b[col]] = [b[col]!, a[col]!];
    });
    const v = await runCli(['backup', 'verify', file, '--passphrase-file', passFile, '--json'], { env: quiet });
    expect(JSON.parse(v.stderr).error.code).toBe('KT_BACKUP_CORRUPT');
    const target = join(work.dir, 'never-swapped-values');
    const r = await runCli(['backup', 'restore', file, '--home', target, '--passphrase-file', passFile, '--json'], { env: quiet });
    expect(JSON.parse(r.stderr).error.code).toBe('KT_BACKUP_CORRUPT');
    expect(existsSync(target)).toBe(false);
  });

  it('restore verifies the audit log it restored: an altered event is refused and the new home removed', async () => {
    const file = edited('altered-event.ktbk', (d) => {
      const t = d.tables.find((x) => x.name === 'audit_leaves')!;
      const col = t.columns.indexOf('leaf');
      t.rows[3]![col] = String(t.rows[3]![col]).replace('"outcome":"success"', '"outcome":"failure"');
    });
    const target = join(work.dir, 'never-altered-event');
    const r = await runCli(['backup', 'restore', file, '--home', target, '--passphrase-file', passFile, '--json'], { env: quiet });
    expect(JSON.parse(r.stderr).error.code).toBe('KT_BACKUP_CORRUPT');
    expect(JSON.parse(r.stderr).error.message).toContain('audit log');
    expect(existsSync(target)).toBe(false);
  });
});

/** Runs verify and restore on a damaged file: both refused with `codes`, and the restore target not created. */
async function refused(file: string, codes: string[], label: string): Promise<void> {
  const target = join(work.dir, `never-${label}`);
  for (const argv of [
    ['backup', 'verify', file, '--passphrase-file', passFile, '--json'],
    ['backup', 'restore', file, '--home', target, '--passphrase-file', passFile, '--json'],
  ]) {
    const r = await runCli(argv, { env: quiet });
    expect(r.code, `${label}: ${argv[1]} ${r.stdout}`).not.toBe(0);
    const code = (JSON.parse(r.stderr || r.stdout) as { error: { code: string } }).error.code;
    expect(codes, `${label}: ${argv[1]}`).toContain(code);
  }
  expect(existsSync(target), label).toBe(false);
}

// Each case runs verify and restore (a passphrase KDF each) on many damaged copies: a budget for a loaded machine, not a speed goal.
describe('a damaged backup is refused whole and nothing is written', { timeout: 240_000 }, () => {
  const DAMAGED = ['KT_BACKUP_CORRUPT', 'KT_BACKUP_DECRYPT_FAILED'];

  function damaged(name: string, bytes: Buffer): string {
    const f = join(work.dir, name);
    writeFileSync(f, bytes);
    return f;
  }

  it('a flipped byte anywhere (header, first chunk, chunk lengths, middle, last byte; seed 17)', async () => {
    const bytes = readFileSync(backupFile);
    const rnd = seeded(17);
    const positions = [0, 9, 14, 30, 60, bytes.length - 1, bytes.length - 17, ...Array.from({ length: 6 }, () => Math.floor(rnd() * bytes.length))];
    for (const at of positions) {
      const copy = Buffer.from(bytes);
      copy[at] = copy[at]! ^ (1 << Math.floor(rnd() * 8));
      await refused(damaged(`flip-${at}.ktbk`, copy), DAMAGED, `flip@${at}`);
    }
  });

  it('a truncated file (inside a chunk, at a chunk boundary, header only, empty) and appended bytes', async () => {
    const bytes = readFileSync(backupFile);
    const headerEnd = 12 + bytes.readUInt32BE(8);
    const firstChunkEnd = headerEnd + 4 + bytes.readUInt32BE(headerEnd);
    expect(firstChunkEnd).toBeLessThan(bytes.length); // several chunks
    for (const cut of [0, 5, headerEnd, headerEnd + 100, firstChunkEnd, bytes.length - 1, bytes.length - 16]) {
      await refused(damaged(`cut-${cut}.ktbk`, bytes.subarray(0, cut)), DAMAGED, `cut@${cut}`);
    }
    await refused(damaged('appended.ktbk', Buffer.concat([bytes, bytes.subarray(headerEnd, firstChunkEnd)])), DAMAGED, 'appended chunk');
  });

  it('chunks swapped', async () => {
    const bytes = readFileSync(backupFile);
    const headerEnd = 12 + bytes.readUInt32BE(8);
    const chunks: Buffer[] = [];
    for (let at = headerEnd; at < bytes.length;) {
      const len = bytes.readUInt32BE(at);
      chunks.push(bytes.subarray(at, at + 4 + len));
      at += 4 + len;
    }
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    const swapped = Buffer.concat([bytes.subarray(0, headerEnd), chunks[1]!, chunks[0]!, ...chunks.slice(2)]);
    await refused(damaged('swapped.ktbk', swapped), DAMAGED, 'swapped');
  });

  it('a wrong passphrase: KT_BACKUP_DECRYPT_FAILED, nothing written', async () => {
    const wrong = join(work.dir, 'wrong.txt');
    writeFileSync(wrong, 'not the passphrase\n');
    const target = join(work.dir, 'never-wrong-pass');
    const r = await runCli(['backup', 'restore', backupFile, '--home', target, '--passphrase-file', wrong, '--json'], { env: quiet });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('KT_BACKUP_DECRYPT_FAILED');
    expect(existsSync(target)).toBe(false);
  });

  it('a home that is not empty is refused, and left as it was', async () => {
    const home = join(work.dir, 'occupied');
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(join(home, 'notes.txt'), 'mine');
    const r = await runCli(['backup', 'restore', backupFile, '--home', home, '--passphrase-file', passFile, '--json'], { env: quiet });
    expect(JSON.parse(r.stderr).error.code).toBe('KT_BACKUP_TARGET_NOT_EMPTY');
    expect(readdirSync(home)).toEqual(['notes.txt']);
  });

  it('create refuses to overwrite an existing file and needs a passphrase source off a terminal', async () => {
    const env = { KEYTURN_HOME: join(work.dir, 'fresh'), ...quiet };
    const exists = await runCli(['backup', 'create', '--out', backupFile, '--passphrase-file', passFile, '--json'], { env });
    expect(JSON.parse(exists.stderr).error.code).toBe('KT_USAGE');
    const none = await runCli(['backup', 'create', '--out', join(work.dir, 'x.ktbk'), '--json'], { env });
    expect(JSON.parse(none.stderr).error.code).toBe('KT_USAGE');
    expect(existsSync(join(work.dir, 'x.ktbk'))).toBe(false);
  });
});

describe('to a recipient key', () => {
  it('keygen, create --recipient, verify and restore --identity; another key and a passphrase are refused', async () => {
    const key = join(work.dir, 'ops.key');
    const made = json<{ fingerprint: string; publicKey: string }>(await ok(['backup', 'keygen', '--out', key, '--json'], {}));
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(made.publicKey, 'utf8')).toContain('PUBLIC KEY');
    const src = join(work.dir, 'rcpt-src');
    await ok(['init'], { KEYTURN_HOME: src });
    await ok(['secret', 'put', 'svc/key', '--value', MARKER], { KEYTURN_HOME: src });
    const file = join(work.dir, 'rcpt.ktbk');
    const c = json<{ recipient: string }>(await ok(['backup', 'create', '--out', file, '--recipient', made.publicKey, '--json'], { KEYTURN_HOME: src }));
    expect(c.recipient).toBe(made.fingerprint);
    const events = (await ok(['audit', 'tail', '-n', '2', '--json'], { KEYTURN_HOME: src })).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; outcome: string });
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(['backup.create:intent', 'backup.create:success']);
    expect(readFileSync(file).includes(Buffer.from(MARKER))).toBe(false);
    const v = json<{ recipient: string; valuesOpened: number }>(await ok(['backup', 'verify', file, '--identity', key, '--json'], { KEYTURN_HOME: src }));
    expect(v.recipient).toBe(made.fingerprint);
    expect(v.valuesOpened).toBe(1);
    const other = join(work.dir, 'other.key');
    await ok(['backup', 'keygen', '--out', other], {});
    const wrong = await runCli(['backup', 'restore', file, '--home', join(work.dir, 'never-rcpt'), '--identity', other, '--json'], { env: quiet });
    expect(JSON.parse(wrong.stderr).error.code).toBe('KT_BACKUP_DECRYPT_FAILED');
    const pass = await runCli(['backup', 'verify', file, '--passphrase-file', passFile, '--json'], { env: quiet });
    expect(JSON.parse(pass.stderr).error.code).toBe('KT_BACKUP_KEY_INVALID');
    expect(existsSync(join(work.dir, 'never-rcpt'))).toBe(false);
    const home = join(work.dir, 'rcpt-restored');
    await ok(['backup', 'restore', file, '--home', home, '--identity', key], {});
    expect((await ok(['secret', 'get', 'svc/key'], { KEYTURN_HOME: home })).stdout).toBe(MARKER);
  });
});

/** Runs the CLI on a fake terminal, typing `answers` one per passphrase question as each appears. */
async function atTerminal(argv: string[], env: Record<string, string>, answers: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const t = fakeTty({ env: { ...env, ...quiet } });
  let asked = 0;
  t.io.stderr.on('data', () => {
    const questions = t.stderr().match(/Backup passphrase \(input hidden\): |Same passphrase again: /g)?.length ?? 0;
    while (asked < questions && asked < answers.length) t.stdin.write(`${answers[asked++]!}\r`);
  });
  const code = await main(argv, t.io);
  return { code, stderr: t.stderr(), stdout: t.stdout() };
}

describe('the passphrase typed on a terminal', () => {
  it('create asks twice (and refuses two different ones, writing nothing); verify asks once; what is typed never shows', async () => {
    const home = { KEYTURN_HOME: join(work.dir, 'tty-src') };
    await ok(['init'], home);
    const file = join(work.dir, 'tty.ktbk');
    const differ = await atTerminal(['backup', 'create', '--out', file, '--json'], home, ['one passphrase', 'another one']);
    expect(differ.code).toBe(2);
    expect(existsSync(file)).toBe(false);
    const made = await atTerminal(['backup', 'create', '--out', file, '--json'], home, ['typed passphrase', 'typed passphrase']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).not.toContain('typed passphrase');
    const v = await atTerminal(['backup', 'verify', file, '--json'], home, ['typed passphrase']);
    expect(v.code, v.stderr).toBe(0);
    expect((JSON.parse(v.stdout) as { ok: boolean }).ok).toBe(true);
    const wrong = await atTerminal(['backup', 'verify', file, '--json'], home, ['not it']);
    expect(JSON.parse(wrong.stderr.slice(wrong.stderr.indexOf('{'))).error.code).toBe('KT_BACKUP_DECRYPT_FAILED');
  });
});
