/**
 * Keyturn refuses a home folder that group or others can write or that another user owns, and a
 * root.key another user owns (its mode is checked already), with KT_HOME_UNSAFE /
 * KT_ROOT_KEY_FILE_OWNER and the chmod/chown that fixes it; nothing in the home is written. Homes
 * made by mkdtemp (0700 under the sticky /tmp) are fine, and so is a home others may only read.
 * The ownership cases chown to another uid, which needs root.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, type Settings } from '../src/config/settings.js';
import { isKeyturnError } from '../src/core/errors.js';
import { initHome, openKeyturn } from '../src/runtime/keyturn.js';
import { caught } from '../src/contracts/consumer-contract.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const OTHER_UID = 65534;
const asRoot = process.getuid?.() === 0;

let tmp: ReturnType<typeof tempDir>;
let settings: Settings;
let home: string;

/** Names, sizes and mtimes of everything in the home. */
function snapshot(): Record<string, string> {
  return Object.fromEntries(readdirSync(home).map((n) => [n, `${statSync(join(home, n)).size}@${statSync(join(home, n)).mtimeMs}`]));
}

beforeEach(async () => {
  tmp = tempDir();
  home = join(tmp.dir, 'home');
  settings = loadSettings({ KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent' });
  await initHome(settings);
});
afterEach(() => tmp.remove());

async function refusedWith(code: 'KT_HOME_UNSAFE' | 'KT_ROOT_KEY_FILE_OWNER', fix: string): Promise<void> {
  const before = snapshot();
  const e = await caught(() => openKeyturn(settings));
  expect(isKeyturnError(e, code), String(e)).toBe(true);
  expect((e as Error).message).toContain(fix);
  expect(snapshot()).toEqual(before);
}

describe("the home folder and root.key must be the user's own", () => {
  it('a fresh home under the system temp folder opens; one others may read (0755) does too', async () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    await (await openKeyturn(settings)).close();
    chmodSync(home, 0o755);
    await (await openKeyturn(settings)).close();
  });

  it('refuses a home group or others can write, naming the chmod, and writes nothing', async () => {
    for (const mode of [0o770, 0o702, 0o777]) {
      chmodSync(home, mode);
      await refusedWith('KT_HOME_UNSAFE', `run \`chmod 700 ${home}\``);
    }
    const cli = await runCli(['status'], { env: { KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('KT_HOME_UNSAFE');
    expect(cli.stderr).toContain('chmod 700');
  });

  it('init refuses an existing home others can write and creates nothing in it', async () => {
    const other = join(tmp.dir, 'other');
    mkdirSync(other);
    chmodSync(other, 0o777);
    const e = await caught(() => initHome(loadSettings({ KEYTURN_HOME: other, KEYTURN_LOG_LEVEL: 'silent' })));
    expect(isKeyturnError(e, 'KT_HOME_UNSAFE')).toBe(true);
    expect(readdirSync(other)).toEqual([]);
  });

  it.skipIf(!asRoot)('refuses a home another user owns, naming the chown (needs root to chown)', async () => {
    chownSync(home, OTHER_UID, OTHER_UID);
    await refusedWith('KT_HOME_UNSAFE', `run \`chown ${process.getuid!()} ${home}\``);
  });

  it.skipIf(!asRoot)('refuses a root.key another user owns, naming the chown (needs root to chown)', async () => {
    const key = join(home, 'root.key');
    chownSync(key, OTHER_UID, OTHER_UID);
    await refusedWith('KT_ROOT_KEY_FILE_OWNER', `run \`chown ${process.getuid!()} ${key}\``);
    const cli = await runCli(['status'], { env: { KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(cli.stderr).toContain('KT_ROOT_KEY_FILE_OWNER');
  });
});
