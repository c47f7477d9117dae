/**
 * The file consumer refuses, like OpenSSH's StrictModes, to write through folders others can
 * write: a symlinked subfolder in a 0777 folder, a group-writable folder of the file, a
 * world-writable folder on the way, a symlink followed out of a sticky folder, a file directly
 * in a sticky folder, a destination that is a symlink; and modes that let group or others write
 * are refused at apply with the key path. Each refusal writes nothing. Sticky ancestors such as
 * /tmp (where every test folder lives) and symlinks between folders only their owner can write are fine.
 */
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { isKeyturnError } from '../src/core/errors.js';
import { createConsumer, parseConsumerConfig } from '../src/consumers/registry.js';
import { caught, recordingContext, version } from '../src/contracts/consumer-contract.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyturn-strict-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function folder(path: string, mode: number): Promise<string> {
  await mkdir(path, { recursive: true });
  await chmod(path, mode);
  return path;
}

async function refused(path: string, reason: RegExp): Promise<void> {
  const e = await caught(() => createConsumer({ type: 'file', path }).deliver(recordingContext().ctx, version('new-secret')));
  expect(isKeyturnError(e, 'KT_CONSUMER_PATH_UNSAFE'), String(e)).toBe(true);
  expect((e as Error).message).toMatch(reason);
  expect((e as Error).message).not.toContain('new-secret');
}

/** Every file under `root`, with its content (symlinks not followed). */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name)] = await readFile(join(entry.parentPath, entry.name), 'utf8');
  }
  return out;
}

describe('file consumer destinations (StrictModes)', () => {
  it('a symlinked subfolder in a 0777 folder cannot redirect the write to another folder', async () => {
    const victim = await folder(join(dir, 'victim'), 0o700);
    await writeFile(join(victim, 'db.env'), 'victim content');
    const shared = await folder(join(dir, 'shared'), 0o777);
    await symlink(victim, join(shared, 'app'));
    const before = await tree(dir);
    await refused(join(shared, 'app', 'db.env'), /a folder on the way, .*\/shared, is writable by group and others \(mode 0777\)/);
    expect(await tree(dir)).toEqual(before);
  });

  it('refuses a folder of the file that group can write, and a world-writable folder on the way', async () => {
    const groupWritable = await folder(join(dir, 'g'), 0o770);
    await refused(join(groupWritable, 'db.env'), /the folder of the file, .*\/g, is writable by group \(mode 0770\); run `chmod go-w/);
    const open = await folder(join(dir, 'open'), 0o757);
    const inner = await folder(join(open, 'inner'), 0o700);
    await refused(join(inner, 'db.env'), /a folder on the way, .*\/open, is writable by others \(mode 0757\)/);
    expect(await tree(dir)).toEqual({});
  });

  it("a sticky folder is fine on the way, but not as the file's folder, and a symlink is never followed out of it", async () => {
    const sticky = await folder(join(dir, 'sticky'), 0o1777);
    const own = await folder(join(sticky, 'own'), 0o700);
    await createConsumer({ type: 'file', path: join(own, 'db.env') }).deliver(recordingContext().ctx, version('ok'));
    expect(await readFile(join(own, 'db.env'), 'utf8')).toBe('ok');

    await refused(join(sticky, 'db.env'), /the folder of the file, .*\/sticky, is writable by group and others \(mode 01777\)/);
    const elsewhere = await folder(join(dir, 'elsewhere'), 0o700);
    await symlink(elsewhere, join(sticky, 'link'));
    await refused(join(sticky, 'link', 'db.env'), /symlink in .*\/sticky/);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('a symlink between folders only their owner can write is followed, and the resolved chain is checked too', async () => {
    const real = await folder(join(dir, 'real'), 0o700);
    await symlink(real, join(dir, 'alias'));
    await createConsumer({ type: 'file', path: join(dir, 'alias', 'db.env') }).deliver(recordingContext().ctx, version('v'));
    expect(await readFile(join(real, 'db.env'), 'utf8')).toBe('v');

    const loose = await folder(join(dir, 'loose'), 0o777);
    const target = await folder(join(loose, 'target'), 0o700);
    await symlink(target, join(dir, 'alias2'));
    await refused(join(dir, 'alias2', 'db.env'), /a folder on the way, .*\/loose, is writable/);
    expect(await readdir(target)).toEqual([]);
  });

  it('refuses a destination that is a symlink, and leaves both files as they were', async () => {
    await writeFile(join(dir, 'real'), 'real content');
    await symlink(join(dir, 'real'), join(dir, 'link'));
    await refused(join(dir, 'link'), /is a symlink/);
    expect(await readFile(join(dir, 'real'), 'utf8')).toBe('real content');
  });
});

describe('secret file modes', () => {
  it('refuses modes that let group or others write, at apply with the key path; group read is fine', () => {
    for (const mode of ['0777', '0666', '0620', '0602']) {
      const yaml = `version: 1\nsecrets:\n  app/key:\n    type: app-secret\n    consumers:\n      - { type: file, path: /etc/app/key, mode: "${mode}" }\n`;
      const e = (() => {
        try {
          parseConfig(yaml, {});
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(isKeyturnError(e, 'KT_CONFIG_FILE_INVALID'), mode).toBe(true);
      expect((e as Error).message).toContain('secrets.app/key.consumers.0.mode: must not let group or others write the secret file');
    }
    expect(parseConsumerConfig({ type: 'file', path: '/etc/app/key', mode: '0640' })).toMatchObject({ mode: '0640' });
    expect(parseConsumerConfig({ type: 'file', path: '/etc/app/key', mode: '0444' })).toMatchObject({ mode: '0444' });
  });
});
