/**
 * `keyturn backup restore` with a PostgreSQL state database (KEYTURN_DATABASE_URL, a schema of
 * the test's own on the local server): a SQLite home's backup restored into PostgreSQL reads back
 * equal and its audit log verifies and continues; a second restore into the now used database is
 * refused and changes nothing; a damaged file writes nothing; the PostgreSQL home's own backup
 * restores into SQLite again.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, ok, quiet, snapshot, type Snapshot } from './helpers/backup.js';
import { runCli } from './helpers/cli.js';
import { dropSchema, postgresSchemaUrl, PG_URL, tempDir } from './helpers/state.js';

const PASS = 'pg backup passphrase';
let work: ReturnType<typeof tempDir>;
let schema: string;
let pgEnv: Record<string, string>;
let passFile: string;
let backupFile: string;
let before: Snapshot;
let pubkey: string;

async function scalar(text: string, values: unknown[] = []): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(text, values)).rows[0]!.n);
  } finally {
    await c.end();
  }
}

const count = (table: string): Promise<number> => scalar(`SELECT count(*) AS n FROM ${schema}.${table}`);

beforeAll(async () => {
  work = tempDir('keyturn-backup-pg-');
  passFile = join(work.dir, 'pass.txt');
  writeFileSync(passFile, PASS, { mode: 0o600 });
  const src = { KEYTURN_HOME: join(work.dir, 'src') };
  await ok(['init'], src);
  for (const v of ['a1', 'a2', 'a3']) await ok(['secret', 'put', 'svc/a', '--value', v], src);
  await ok(['secret', 'rollback', 'svc/a'], src);
  await ok(['secret', 'put', 'svc/b', '--field', 'user=bob', '--field', 'password=pw-b'], src);
  before = await snapshot(src);
  pubkey = (await ok(['audit', 'pubkey'], src)).stdout.trim();
  backupFile = join(work.dir, 'src.ktbk');
  await ok(['backup', 'create', '--out', backupFile, '--passphrase-file', passFile], src);
  let url: string;
  ({ schema, url } = await postgresSchemaUrl('kt_backup'));
  pgEnv = { KEYTURN_HOME: join(work.dir, 'pg-home'), KEYTURN_DATABASE_URL: url };
}, 60_000);

afterAll(async () => {
  if (schema) await dropSchema(schema);
  work?.remove();
});

describe('restore into PostgreSQL', () => {
  it('a damaged file writes nothing to the database or the home', async () => {
    const bytes = readFileSync(backupFile);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x40;
    const bad = join(work.dir, 'bad.ktbk');
    writeFileSync(bad, bytes);
    const r = await runCli(['backup', 'restore', bad, '--passphrase-file', passFile, '--json'], { env: { ...pgEnv, ...quiet } });
    expect(JSON.parse(r.stderr).error.code).toBe('KT_BACKUP_CORRUPT');
    expect(existsSync(pgEnv.KEYTURN_HOME!)).toBe(false);
    const tables = await scalar('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1', [schema]);
    expect(tables).toBe(0); // not even migrated: the file is checked before the database is opened
  });

  it('restores a SQLite home into PostgreSQL: values, stages, audit log; a second restore is refused', async () => {
    const r = json<{ dialect: string }>(await ok(['backup', 'restore', backupFile, '--passphrase-file', passFile, '--json'], pgEnv));
    expect(r.dialect).toBe('postgres');
    expect(await snapshot(pgEnv)).toEqual(before);
    expect((await runCli(['audit', 'verify', '--pubkey', pubkey], { env: { ...pgEnv, ...quiet } })).code).toBe(0);
    await ok(['secret', 'put', 'svc/a', '--value', 'a4'], pgEnv);
    expect((await runCli(['audit', 'verify', '--pubkey', pubkey], { env: { ...pgEnv, ...quiet } })).code).toBe(0);
    const versions = await count('secret_versions');
    const again = await runCli(['backup', 'restore', backupFile, '--home', join(work.dir, 'other-home'), '--passphrase-file', passFile, '--json'], {
      env: { KEYTURN_DATABASE_URL: pgEnv.KEYTURN_DATABASE_URL!, ...quiet },
    });
    expect(JSON.parse(again.stderr).error.code).toBe('KT_BACKUP_TARGET_NOT_EMPTY');
    expect(await count('secret_versions')).toBe(versions);
    expect(existsSync(join(work.dir, 'other-home'))).toBe(false);
  });

  it("the PostgreSQL home's own backup restores into SQLite", async () => {
    const file = join(work.dir, 'pg.ktbk');
    const made = json<{ source: { dialect: string } }>(await ok(['backup', 'create', '--out', file, '--passphrase-file', passFile, '--json'], pgEnv));
    expect(made.source.dialect).toBe('postgres');
    const home = { KEYTURN_HOME: join(work.dir, 'back-to-sqlite') };
    await ok(['backup', 'restore', file, '--passphrase-file', passFile], home);
    expect(await snapshot(home)).toEqual(await snapshot(pgEnv));
    expect((await runCli(['audit', 'verify', '--pubkey', pubkey], { env: { ...home, ...quiet } })).code).toBe(0);
  });
});
