/**
 * Scheduled backups (the `backups:` section of keyturn.yaml, src/backup/scheduled.ts) on a real
 * home: `keyturn apply` stores the section; a pass of the job (called directly, on a manual clock:
 * no timers, no sleeps) writes an encrypted backup into the folder that `keyturn backup verify`
 * accepts and `restore` restores, audited as `backup.create` by `system:server`; a pass before
 * `every` writes nothing; `keep` prunes the oldest; two passes at once write one backup; a backup
 * recorded by another process for the same folder path counts (servers with folders of their
 * own write one per period between them); a missing key fails the pass (nothing recorded) and the
 * next pass recovers; the passphrase comes only from the environment variable named;
 * `keyturn backup run-scheduled` runs one pass from the command line.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runScheduledBackup, backupFileName, backupTimeOf, SCHEDULED_BACKUP_LEASE, type ScheduledResult } from '../src/backup/scheduled.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import { loadSettings } from '../src/config/settings.js';
import { Leases } from '../src/engine/leases.js';
import { openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { json, ok, quiet } from './helpers/backup.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SCRYPT = { N: 1024, r: 8, p: 1 };

let work: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let folder: string;
let key: string;
let clock: ManualClock;
let kt: Keyturn;

/** keyturn.yaml with one secret and the given `backups:` body (indented by 2). */
function yaml(backups: string): string {
  return `version: 1\nsecrets:\n  app/token:\n    type: app-secret\n${backups === '' ? '' : `backups:\n${backups}`}`;
}

async function apply(text: string): Promise<{ plan: Array<{ kind: string; name: string; action: string }> }> {
  const file = join(work.dir, 'keyturn.yaml');
  writeFileSync(file, text);
  return json(await ok(['apply', '-f', file, '--yes', '--json'], env));
}

/** One pass as the server runs it (its Keyturn, its clock), with cheap scrypt. */
function pass(extra: { env?: (name: string) => string | undefined } = {}): Promise<ScheduledResult> {
  return runScheduledBackup({ settings: kt.settings, state: kt.state, clock, log: kt.log, scrypt: SCRYPT, ...extra });
}

function backups(): string[] {
  return readdirSync(folder)
    .filter((n) => backupTimeOf(n) !== null)
    .sort();
}

beforeEach(async () => {
  work = tempDir('keyturn-backup-sched-');
  env = { KEYTURN_HOME: join(work.dir, 'home') };
  folder = join(work.dir, 'backups');
  key = join(work.dir, 'ops.key');
  await ok(['init'], env);
  await ok(['backup', 'keygen', '--out', key], {});
  const applied = await apply(yaml(`  folder: ${folder}\n  every: 24h\n  keep: 2\n  recipient: ${key}.pub\n`));
  expect(applied.plan).toContainEqual({ kind: 'backups', name: 'backups', action: 'create' });
  // A clock of its own, starting now (whole seconds), moved by the test.
  clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  kt = await openKeyturn(loadSettings({ ...env, ...quiet }), { clock, log: createLogger('silent') });
});

afterEach(async () => {
  await kt?.close();
  work?.remove();
});

describe('scheduled backups into a folder', () => {
  it('writes a backup that verify accepts and restore restores, audited as system:server; nothing more before `every`', async () => {
    const r = await pass();
    expect(r.status).toBe('written');
    const name = backupFileName(clock.now());
    expect(r.file).toBe(join(folder, name));
    expect(backups()).toEqual([name]);
    expect(statSync(r.file!).mode & 0o777).toBe(0o600);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(readdirSync(folder)).toEqual([name]); // no temporary file left
    const v = json<{ ok: boolean; recipient: string; summary: { secrets: number } }>(await ok(['backup', 'verify', r.file!, '--identity', key, '--json'], env));
    expect([v.ok, v.summary.secrets]).toEqual([true, 1]);
    const home = { KEYTURN_HOME: join(work.dir, 'restored') };
    await ok(['backup', 'restore', r.file!, '--identity', key], home);
    expect((await ok(['secret', 'get', 'app/token'], home)).stdout).toBe((await ok(['secret', 'get', 'app/token'], env)).stdout);
    // The restored home has the section too (it is in the state database).
    expect(json<{ plan: Array<{ kind: string; action: string }> }>(await ok(['apply', '-f', join(work.dir, 'keyturn.yaml'), '--dry-run', '--json'], home)).plan).toContainEqual(
      expect.objectContaining({ kind: 'backups', action: 'unchanged' }),
    );
    const events = (await ok(['audit', 'tail', '-n', '20', '--json'], env)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; outcome: string; actor: string })
      .filter((e) => e.action.startsWith('backup.'));
    expect(events.map((e) => `${e.action}:${e.outcome}:${e.actor}`)).toEqual(['backup.create:intent:system:server', 'backup.create:success:system:server']);

    clock.advance(DAY - 1000);
    const early = await pass();
    expect(early.status).toBe('not-due');
    expect(early.dueAt).toBe(new Date(backupTimeOf(name)! + DAY).toISOString());
    expect(backups()).toEqual([name]);
  });

  it('keeps the newest `keep` (2): the oldest is deleted after each new one; other files are left alone, old temporary files removed', async () => {
    mkdirSync(folder, { mode: 0o700 });
    writeFileSync(join(folder, 'notes.txt'), 'mine');
    // The temporary file of a pass killed an hour ago goes; a fresh one (a pass under way elsewhere) stays while fresh.
    const stale = join(folder, '.keyturn-backup-20260101T000000Z.ktbk.4242.tmp');
    const fresh = join(folder, '.keyturn-backup-20260101T000001Z.ktbk.4243.tmp');
    writeFileSync(stale, 'partial');
    writeFileSync(fresh, 'partial');
    utimesSync(stale, new Date(clock.now() - HOUR), new Date(clock.now() - HOUR));
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await pass();
      expect(r.status, `pass ${i}`).toBe('written');
      names.push(backupFileName(clock.now()));
      expect(r.pruned).toEqual(i >= 2 ? [names[i - 2]] : []);
      if (i === 0) expect([existsSync(stale), existsSync(fresh)]).toEqual([false, true]);
      clock.advance(DAY);
    }
    expect(backups()).toEqual(names.slice(2));
    // Days later (on this clock) the other temporary file is old too, and gone.
    expect(readdirSync(folder).sort()).toEqual([...names.slice(2), 'notes.txt'].sort());
  });

  it('two passes at once (two processes on one state database) write one backup; a held lease makes a pass busy', async () => {
    const both = await Promise.all([pass(), pass()]);
    expect(both.map((r) => r.status).sort()).toEqual(expect.arrayContaining(['written']));
    expect(both.filter((r) => r.status === 'written')).toHaveLength(1);
    expect(backups()).toHaveLength(1);
    clock.advance(DAY);
    const other = await new Leases(kt.state, clock).acquire(SCHEDULED_BACKUP_LEASE, 60_000);
    expect(other).not.toBeNull();
    expect((await pass()).status).toBe('busy');
    expect(backups()).toHaveLength(1);
  });

  it('a backup recorded by another process for the same folder path counts (servers with local folders make one between them)', async () => {
    expect((await pass()).status).toBe('written');
    // As seen from another host whose folder of that path is empty:
    const elsewhere = join(work.dir, 'elsewhere');
    renameSync(folder, elsewhere);
    clock.advance(HOUR);
    expect((await pass()).status).toBe('not-due');
    expect(backups()).toEqual([]);
    clock.advance(DAY);
    expect((await pass()).status).toBe('written');
    // Another folder path does not inherit that record: its first pass writes at once.
    const moved = join(work.dir, 'moved');
    await apply(yaml(`  folder: ${moved}\n  every: 24h\n  keep: 2\n  recipient: ${key}.pub\n`));
    expect((await pass()).status).toBe('written');
    expect(readdirSync(moved)).toHaveLength(1);
  });

  it('a pass that cannot get its key fails with its code, records nothing, and the next pass writes', async () => {
    renameSync(`${key}.pub`, `${key}.pub.away`);
    const failed = await pass().catch((e: unknown) => e);
    expect(isKeyturnError(failed, 'KT_BACKUP_KEY_INVALID')).toBe(true);
    expect(existsSync(folder) ? backups() : []).toEqual([]);
    renameSync(`${key}.pub.away`, `${key}.pub`);
    expect((await pass()).status).toBe('written');
  });

  it('an unusable folder fails with KT_BACKUP_FOLDER_UNUSABLE', async () => {
    const file = join(work.dir, 'a-file');
    writeFileSync(file, '');
    await apply(yaml(`  folder: ${join(file, 'sub')}\n  every: 24h\n  keep: 2\n  recipient: ${key}.pub\n`));
    const failed = await pass().catch((e: unknown) => e);
    expect(isKeyturnError(failed, 'KT_BACKUP_FOLDER_UNUSABLE')).toBe(true);
  });

  it('passphraseEnv: the passphrase only from that environment variable; missing, the pass fails and writes nothing', async () => {
    await apply(yaml(`  folder: ${folder}\n  every: 12h\n  keep: 3\n  passphraseEnv: KT_TEST_BACKUP_PASS\n`));
    const missing = await pass({ env: () => undefined }).catch((e: unknown) => e);
    expect(isKeyturnError(missing, 'KT_BACKUP_KEY_INVALID')).toBe(true);
    expect((missing as Error).message).toContain('KT_TEST_BACKUP_PASS');
    expect(existsSync(folder) ? backups() : []).toEqual([]);
    // From the command line, the variable comes from the command's environment.
    const unset = await runCli(['backup', 'run-scheduled', '--json'], { env: { ...env, ...quiet } });
    expect(JSON.parse(unset.stderr).error.code).toBe('KT_BACKUP_KEY_INVALID');
    const cli = await runCli(['backup', 'run-scheduled', '--json'], { env: { ...env, ...quiet, KT_TEST_BACKUP_PASS: 'from the environment' } });
    expect(cli.code, cli.stderr).toBe(0);
    const r = JSON.parse(cli.stdout) as ScheduledResult;
    expect(r.status).toBe('written');
    const passFile = join(work.dir, 'pass.txt');
    writeFileSync(passFile, 'from the environment');
    expect(json<{ ok: boolean; encryption: string }>(await ok(['backup', 'verify', r.file!, '--passphrase-file', passFile, '--json'], env))).toMatchObject({ ok: true, encryption: 'passphrase' });
    const stored = await kt.state.db.selectFrom('kt_settings').select('value').where('name', '=', 'backups').executeTakeFirstOrThrow();
    expect(JSON.parse(stored.value)).toEqual({ folder, every: '12h', keep: 3, passphraseEnv: 'KT_TEST_BACKUP_PASS' });
    expect(stored.value).not.toContain('from the environment');
  });

  it('keyturn backup run-scheduled: one pass from the command line; removing the section turns it off', async () => {
    const r = await runCli(['backup', 'run-scheduled', '--json'], { env: { ...env, ...quiet } });
    expect(r.code, r.stderr).toBe(0);
    const first = JSON.parse(r.stdout) as ScheduledResult;
    expect(first.status).toBe('written');
    expect(backups()).toEqual([first.file!.slice(folder.length + 1)]);
    const again = await runCli(['backup', 'run-scheduled'], { env: { ...env, ...quiet } });
    expect(again.stdout).toContain('Not due');
    const events = (await ok(['audit', 'tail', '-n', '1', '--json'], env)).stdout;
    expect(JSON.parse(events)).toMatchObject({ action: 'backup.create', outcome: 'success', source: 'cli' });
    const removed = await apply(yaml(''));
    expect(removed.plan).toContainEqual({ kind: 'backups', name: 'backups', action: 'remove' });
    expect(JSON.parse((await ok(['backup', 'run-scheduled', '--json'], env)).stdout)).toMatchObject({ status: 'off' });
  });
});

describe('the backups: section', () => {
  it('refuses a section that would write unencrypted backups, a relative folder, a passphrase in the YAML', async () => {
    for (const [body, message] of [
      [`  folder: ${folder}\n`, 'exactly one of recipient'],
      [`  folder: ${folder}\n  recipient: ${key}.pub\n  passphraseEnv: X\n`, 'exactly one of recipient'],
      [`  folder: backups\n  recipient: ${key}.pub\n`, 'absolute path'],
      [`  folder: ${folder}\n  passphrase: hunter2\n`, 'passphrase'],
      [`  folder: ${folder}\n  passphraseEnv: "not a name"\n`, 'environment variable'],
      [`  folder: ${folder}\n  every: 10s\n  recipient: ${key}.pub\n`, 'at least 1m'],
    ] as const) {
      const file = join(work.dir, 'bad.yaml');
      writeFileSync(file, yaml(body));
      const r = await runCli(['apply', '-f', file, '--yes', '--json'], { env: { ...env, ...quiet } });
      expect(r.code, body).toBe(2);
      const error = JSON.parse(r.stderr).error as { code: string; message: string };
      expect(error.code, body).toBe('KT_CONFIG_FILE_INVALID');
      expect(error.message, body).toContain(message);
      expect(error.message, body).not.toContain('hunter2');
    }
  });

  it('file names carry the time, to the second, in UTC', () => {
    const at = Date.parse('2026-03-01T02:03:04.567Z');
    expect(backupFileName(at)).toBe('keyturn-backup-20260301T020304Z.ktbk');
    expect(backupTimeOf(backupFileName(at))).toBe(Date.parse('2026-03-01T02:03:04Z'));
    expect(backupTimeOf('keyturn-backup-20260301T020304Z.ktbk.tmp')).toBeNull();
  });
});
