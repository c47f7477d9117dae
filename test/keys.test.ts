/**
 * Envelope encryption end to end: values bound to their row, root-key rotation (the old key stops
 * working, values are not re-encrypted), recovery from a rotation interrupted at either point,
 * key-file permissions, and a home that is not initialized.
 */
import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { generateRootKey, NEXT_ROOT_KEY_FILE, OLD_ROOT_KEY_FILE, readRootKeyFile, writeRootKeyFile } from '../src/crypto/root-key.js';
import { initHome, openKeyturn } from '../src/runtime/keyturn.js';
import { expectCode } from '../src/contracts/store-contract.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeEach(() => {
  tmp = tempDir();
  env = { KEYTURN_HOME: tmp.dir };
});
afterEach(() => tmp.remove());

function rawDb(): DatabaseSync {
  return new DatabaseSync(join(tmp.dir, 'keyturn.db'));
}

describe('values are bound to their row', () => {
  it('a sealed value copied onto another version or another secret fails with KT_DECRYPT_FAILED', async () => {
    await initHome(loadSettings(env));
    const kt = await openKeyturn(loadSettings(env));
    const v1 = await kt.store.put('app/a', 'value-one');
    const v2 = await kt.store.put('app/a', 'value-two');
    const other = await kt.store.put('app/b', 'value-b');
    await kt.close();

    const db = rawDb();
    const sealedOf = (id: string) => (db.prepare('SELECT sealed FROM secret_versions WHERE id = ?').get(id) as { sealed: string }).sealed;
    db.prepare('UPDATE secret_versions SET sealed = ? WHERE id = ?').run(sealedOf(v2.id), v1.id);
    db.prepare('UPDATE secret_versions SET sealed = ? WHERE id = ?').run(sealedOf(v2.id), other.id);
    db.close();

    const again = await openKeyturn(loadSettings(env));
    try {
      await expectCode(() => again.store.get('app/a', { versionId: v1.id }), 'KT_DECRYPT_FAILED');
      await expectCode(() => again.store.get('app/b'), 'KT_DECRYPT_FAILED');
      expect((await again.store.get('app/a'))?.value).toBe('value-two');
    } finally {
      await again.close();
    }
    const cli = await runCli(['secret', 'get', 'app/b'], { env });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('KT_DECRYPT_FAILED');
    expect(cli.stdout).toBe('');
  });
});

describe('root key rotation', () => {
  it('re-wraps data keys only; the old key stops working and the new one opens everything', async () => {
    expect((await runCli(['init'], { env })).code).toBe(0);
    expect((await runCli(['secret', 'put', 'app/a', '--value', 'kept-across-rotation'], { env })).code).toBe(0);
    const oldKey = readFileSync(join(tmp.dir, 'root.key'), 'utf8').trim();
    const db = rawDb();
    const sealedBefore = db.prepare('SELECT id, sealed FROM secret_versions').all();
    const wrappedBefore = db.prepare('SELECT id, wrapped, root_key_id FROM data_keys').all();
    db.close();

    const r = await runCli(['key', 'rotate-root', '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { previousRootKeyId: string; rootKeyId: string; dataKeysRewrapped: number; oldKeyFile: string };
    expect(result.dataKeysRewrapped).toBe(1);
    expect(result.rootKeyId).not.toBe(result.previousRootKeyId);
    expect(existsSync(join(tmp.dir, NEXT_ROOT_KEY_FILE))).toBe(false);
    expect(result.oldKeyFile).toBe(join(tmp.dir, OLD_ROOT_KEY_FILE));
    expect(readRootKeyFile(result.oldKeyFile).id).toBe(result.previousRootKeyId);

    const after = rawDb();
    expect(after.prepare('SELECT id, sealed FROM secret_versions').all()).toEqual(sealedBefore);
    const wrappedAfter = after.prepare('SELECT id, wrapped, root_key_id FROM data_keys').all() as Array<{ wrapped: string; root_key_id: string }>;
    after.close();
    expect(wrappedAfter[0]!.wrapped).not.toBe((wrappedBefore[0] as { wrapped: string }).wrapped);
    expect(wrappedAfter[0]!.root_key_id).toBe(result.rootKeyId);

    expect((await runCli(['secret', 'get', 'app/a'], { env })).stdout).toBe('kept-across-rotation');
    const withOld = await runCli(['secret', 'get', 'app/a'], { env: { ...env, KEYTURN_ROOT_KEY: oldKey } });
    expect(withOld.code).toBe(1);
    expect(withOld.stderr).toContain('KT_ROOT_KEY_MISMATCH');
    // root.key.old is not a candidate: with root.key holding it, the state does not open either.
    copyFileSync(join(tmp.dir, OLD_ROOT_KEY_FILE), join(tmp.dir, 'root.key'));
    expect((await runCli(['secret', 'get', 'app/a'], { env })).stderr).toContain('KT_ROOT_KEY_MISMATCH');
  });

  it('recovers when interrupted before the database commit (the old key stays)', async () => {
    const settings = loadSettings(env);
    await initHome(settings);
    const kt = await openKeyturn(settings);
    await kt.store.put('app/a', 'v');
    const oldId = kt.ring.rootKey.id;
    await kt.close();
    writeRootKeyFile(join(tmp.dir, NEXT_ROOT_KEY_FILE), generateRootKey());

    const reopened = await openKeyturn(settings);
    expect(reopened.ring.rootKey.id).toBe(oldId);
    expect((await reopened.store.get('app/a'))?.value).toBe('v');
    await reopened.close();
    expect(existsSync(join(tmp.dir, NEXT_ROOT_KEY_FILE))).toBe(false);
    expect(existsSync(join(tmp.dir, OLD_ROOT_KEY_FILE))).toBe(false);
  });

  /**
   * A rotation stopped right after its database commit: root.key still holds the old key and
   * root.key.next the new one; `beforeCommit` runs first (to leave other files as a crash would).
   */
  async function committedRotation(beforeCommit: () => void = () => undefined) {
    const settings = loadSettings(env);
    await initHome(settings);
    const kt = await openKeyturn(settings);
    await kt.store.put('app/a', 'v');
    const oldId = kt.ring.rootKey.id;
    beforeCommit();
    const next = generateRootKey(join(tmp.dir, NEXT_ROOT_KEY_FILE));
    writeRootKeyFile(join(tmp.dir, NEXT_ROOT_KEY_FILE), next);
    await kt.ring.rotateRoot(next);
    await kt.close();
    return { settings, oldId, next };
  }

  /** Opens the home: the new key is settled in root.key and the replaced one kept in root.key.old (0600). */
  async function expectSettled(settings: ReturnType<typeof loadSettings>, nextId: string, oldId: string): Promise<void> {
    const reopened = await openKeyturn(settings);
    expect(reopened.ring.rootKey.id).toBe(nextId);
    expect((await reopened.store.get('app/a'))?.value).toBe('v');
    await reopened.close();
    expect(existsSync(join(tmp.dir, NEXT_ROOT_KEY_FILE))).toBe(false);
    expect(readRootKeyFile(join(tmp.dir, 'root.key')).id).toBe(nextId);
    expect(readRootKeyFile(join(tmp.dir, OLD_ROOT_KEY_FILE)).id).toBe(oldId);
    expect(statSync(join(tmp.dir, OLD_ROOT_KEY_FILE)).mode & 0o777).toBe(0o600);
  }

  it('recovers when interrupted after the database commit (the new key is settled, the old one kept)', async () => {
    const { settings, oldId, next } = await committedRotation();
    await expectSettled(settings, next.id, oldId);
  });

  it('recovers when interrupted after root.key.old was written, before the rename', async () => {
    const { settings, oldId, next } = await committedRotation(() => copyFileSync(join(tmp.dir, 'root.key'), join(tmp.dir, OLD_ROOT_KEY_FILE)));
    await expectSettled(settings, next.id, oldId);
  });

  it('after the commit, a root.key.old holding some other key is not overwritten: KT_ROOT_KEY_OLD_EXISTS until it is moved away', async () => {
    const stranger = generateRootKey();
    const { settings, oldId, next } = await committedRotation(() => writeRootKeyFile(join(tmp.dir, OLD_ROOT_KEY_FILE), stranger));
    await expectCode(() => openKeyturn(settings), 'KT_ROOT_KEY_OLD_EXISTS');
    expect(readRootKeyFile(join(tmp.dir, OLD_ROOT_KEY_FILE)).id).toBe(stranger.id);
    expect(readRootKeyFile(join(tmp.dir, 'root.key')).id).toBe(oldId);
    expect(readRootKeyFile(join(tmp.dir, NEXT_ROOT_KEY_FILE)).id).toBe(next.id);
    renameSync(join(tmp.dir, OLD_ROOT_KEY_FILE), join(tmp.dir, 'elsewhere.key'));
    await expectSettled(settings, next.id, oldId);
  });

  it('refuses --output when the key is in root.key (the new key goes there)', async () => {
    expect((await runCli(['init'], { env })).code).toBe(0);
    const key = readFileSync(join(tmp.dir, 'root.key'), 'utf8');
    const r = await runCli(['key', 'rotate-root', '--output', join(tmp.dir, 'new.key'), '--yes'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('leave out --output');
    expect(existsSync(join(tmp.dir, 'new.key'))).toBe(false);
    expect(readFileSync(join(tmp.dir, 'root.key'), 'utf8')).toBe(key);
  });

  it('with KEYTURN_ROOT_KEY, writes the new key to --output and the old env key stops working', async () => {
    const key = generateRootKey().key.toString('base64');
    const envKey = { ...env, KEYTURN_ROOT_KEY: key };
    expect((await runCli(['init'], { env: envKey })).code).toBe(0);
    expect(existsSync(join(tmp.dir, 'root.key'))).toBe(false);
    await runCli(['secret', 'put', 'x', '--value', 'v'], { env: envKey });
    const noOutput = await runCli(['key', 'rotate-root', '--yes'], { env: envKey });
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toContain('--output');
    const out = join(tmp.dir, 'new.key');
    expect((await runCli(['key', 'rotate-root', '--output', out, '--yes'], { env: envKey })).code).toBe(0);
    expect((await runCli(['secret', 'get', 'x'], { env: envKey })).stderr).toContain('KT_ROOT_KEY_MISMATCH');
    const newKey = readFileSync(out, 'utf8').trim();
    expect((await runCli(['secret', 'get', 'x'], { env: { ...env, KEYTURN_ROOT_KEY: newKey } })).stdout).toBe('v');
  });
});

describe('key files and initialization', () => {
  it('writes root.key with mode 0600 and refuses one others can read', async () => {
    await runCli(['init'], { env });
    const file = join(tmp.dir, 'root.key');
    expect(readFileSync(file, 'utf8').trim()).toHaveLength(44);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp.dir, 'keyturn.db')).mode & 0o777).toBe(0o600);
    expect(statSync(tmp.dir).mode & 0o777).toBe(0o700);
    chmodSync(file, 0o644);
    const r = await runCli(['secret', 'ls'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KT_ROOT_KEY_FILE_MODE');
  });

  it('refuses a second init and a malformed key', async () => {
    expect((await runCli(['init'], { env })).code).toBe(0);
    const again = await runCli(['init', '--json'], { env });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.code).toBe('KT_ALREADY_INITIALIZED');
    const bad = await runCli(['secret', 'ls'], { env: { ...env, KEYTURN_ROOT_KEY: 'not-a-key' } });
    expect(bad.stderr).toContain('KT_ROOT_KEY_INVALID');
  });

  it('a home that is not initialized says so and creates nothing', async () => {
    const home = join(tmp.dir, 'nothing-here');
    const r = await runCli(['secret', 'ls'], { env: { KEYTURN_HOME: home } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KT_NOT_INITIALIZED');
    expect(existsSync(home)).toBe(false);
  });

  it('a lost root.key is reported as missing, not as corrupt data', async () => {
    await runCli(['init'], { env });
    copyFileSync(join(tmp.dir, 'root.key'), join(tmp.dir, 'backup.key'));
    const { unlinkSync } = await import('node:fs');
    unlinkSync(join(tmp.dir, 'root.key'));
    expect((await runCli(['status'], { env })).stderr).toContain('KT_ROOT_KEY_MISSING');
    writeFileSync(join(tmp.dir, 'root.key'), readFileSync(join(tmp.dir, 'backup.key')), { mode: 0o600 });
    expect((await runCli(['status'], { env })).code).toBe(0);
  });
});
