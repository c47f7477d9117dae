/**
 * The file consumer against real files: the shared contract, then templates, modes (never wider,
 * even for the temp file while it is written), idempotence that keeps the mtime, and atomic
 * replacement seen by a reader in another process.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import type { SecretValue } from '../src/core/types.js';
import { createConsumer, parseConsumerConfig } from '../src/consumers/registry.js';
import { caught, contractValues, recordingContext, runConsumerContract, version } from '../src/contracts/consumer-contract.js';

/** Records every `open` of a temp file: flags, requested mode, and the mode the file had right after creation. */
const opens = vi.hoisted(() => [] as Array<{ path: string; flags: unknown; mode: unknown; modeAtCreation: number }>);
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  const open: typeof real.open = async (path, flags, mode) => {
    const handle = await real.open(path, flags, mode);
    if (String(path).endsWith('.keyturn-tmp')) opens.push({ path: String(path), flags, mode, modeAtCreation: (await handle.stat()).mode & 0o7777 });
    return handle;
  };
  return { ...real, open, default: { ...real, open } };
});

runConsumerContract({
  name: 'file',
  make: async ({ dir, broken }) => ({
    consumer: createConsumer({ type: 'file', path: broken ? join(dir, 'missing-folder', 'secret') : join(dir, 'secret') }),
    file: join(dir, 'secret'),
  }),
  observe: async ({ file }) => {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null) return { carries: 'value', value: null };
    // Without a template a string is written as is and fields as JSON; contract strings never start with "{".
    return { carries: 'value', value: text.startsWith('{') ? (JSON.parse(text) as SecretValue) : text };
  },
});

describe('file consumer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyturn-file-'));
    opens.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const ctx = () => recordingContext().ctx;
  const modeOf = async (p: string) => (await stat(p)).mode & 0o7777;

  it('renders a template with fields and metadata, one pass only', async () => {
    const file = join(dir, 'db.env');
    const c = createConsumer({ type: 'file', path: file, template: 'USER={{username}}\nPASS={{ password }}\nPORT={{port}}\nAT={{_path}}@{{_version}} ({{_version_id}})\n' });
    await c.deliver(ctx(), { path: 'prod/db/app', versionId: 'run-42', number: 7, value: { username: 'app', password: 'p{{username}}w', port: 5432 } });
    expect(await readFile(file, 'utf8')).toBe('USER=app\nPASS=p{{username}}w\nPORT=5432\nAT=prod/db/app@7 (run-42)\n');
  });

  it('renders {{value}} for a string secret, and writes fields as JSON without a template', async () => {
    const file = join(dir, 'token');
    await createConsumer({ type: 'file', path: file, template: 'TOKEN={{value}}\n' }).deliver(ctx(), version('abc'));
    expect(await readFile(file, 'utf8')).toBe('TOKEN=abc\n');
    await createConsumer({ type: 'file', path: file }).deliver(ctx(), version({ a: '1', b: [2] }));
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: '1', b: [2] });
  });

  it('an unknown field placeholder fails at render time naming the placeholder, never a value, and writes nothing', async () => {
    const file = join(dir, 'db.env');
    const { fields } = contractValues();
    const c = createConsumer({ type: 'file', path: file, template: 'PASS={{pasword}}\n' });
    const e = await caught(() => c.deliver(ctx(), version(fields)));
    expect(isKeyturnError(e, 'KT_TEMPLATE_PLACEHOLDER_UNKNOWN')).toBe(true);
    expect((e as Error).message).toContain('{{pasword}}');
    expect((e as Error).message).toContain('username, password');
    expect((e as Error).message).not.toContain(fields.password);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    const onString = await caught(() => c.deliver(ctx(), version('plain')));
    expect(isKeyturnError(onString, 'KT_TEMPLATE_PLACEHOLDER_UNKNOWN')).toBe(true);
    expect((onString as Error).message).toContain('use {{value}}');
  });

  it('malformed templates and reserved names fail when the config is read', () => {
    for (const [template, words] of [
      ['A={{a}} B={{', 'not closed'],
      ['A={{ not a name }}', 'not a name'],
      ['A={{_secret}}', 'unknown placeholder {{_secret}}'],
    ] as const) {
      const e = (() => {
        try {
          parseConsumerConfig({ type: 'file', path: join(dir, 'f'), template });
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(isKeyturnError(e, 'KT_CONSUMER_CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toContain('template: ');
      expect((e as Error).message).toContain(words);
    }
  });

  it('writes mode 0600 by default, and the temp file is created exclusively with that mode (never wider)', async () => {
    const previous = process.umask(0);
    try {
      const file = join(dir, 'secret');
      await createConsumer({ type: 'file', path: file }).deliver(ctx(), version('v1'));
      expect(await modeOf(file)).toBe(0o600);
      expect(opens).toHaveLength(1);
      const flags = opens[0]!.flags as number;
      for (const flag of [constants.O_CREAT, constants.O_EXCL, constants.O_NOFOLLOW, constants.O_WRONLY]) expect(flags & flag).toBe(flag);
      expect(opens[0]!.mode).toBe(0o600);
      expect(opens[0]!.modeAtCreation).toBe(0o600);
      expect(opens[0]!.path.startsWith(join(dir, '.secret.'))).toBe(true);
    } finally {
      process.umask(previous);
    }
  });

  it('applies the configured mode exactly, whatever the umask, and accepts an unquoted YAML number', async () => {
    const previous = process.umask(0o077);
    try {
      const file = join(dir, 'shared');
      await createConsumer({ type: 'file', path: file, mode: '0640' }).deliver(ctx(), version('v1'));
      expect(await modeOf(file)).toBe(0o640);
      expect(opens[0]!.modeAtCreation & ~0o640).toBe(0);
      expect(parseConsumerConfig({ type: 'file', path: file, mode: 640 })).toMatchObject({ mode: '0640' });
      const e = await caught(async () => parseConsumerConfig({ type: 'file', path: file, mode: 384 }));
      expect(isKeyturnError(e, 'KT_CONSUMER_CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toContain('mode: must be permission bits in octal, quoted');
    } finally {
      process.umask(previous);
    }
  });

  it('replaces a wider file with the narrow mode', async () => {
    const file = join(dir, 'secret');
    await writeFile(file, 'old');
    await chmod(file, 0o644);
    await createConsumer({ type: 'file', path: file }).deliver(ctx(), version('new'));
    expect(await modeOf(file)).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe('new');
  });

  it('does not touch a file that already holds the rendered content (same inode, same mtime)', async () => {
    const file = join(dir, 'secret');
    const c = createConsumer({ type: 'file', path: file, template: 'X={{value}}\n' });
    await c.deliver(ctx(), version('same'));
    const first = await stat(file);
    opens.length = 0;
    await c.deliver(ctx(), version('same'));
    const second = await stat(file);
    expect(opens).toHaveLength(0);
    expect(second.ino).toBe(first.ino);
    expect(second.mtimeMs).toBe(first.mtimeMs);
    await c.deliver(ctx(), version('changed'));
    expect((await stat(file)).ino).not.toBe(first.ino);
  });

  it('leaves no temp file behind, after success or failure', async () => {
    const file = join(dir, 'secret');
    await createConsumer({ type: 'file', path: file }).deliver(ctx(), version('v1'));
    await writeFile(join(dir, 'blocker'), 'x');
    const e = await caught(() => createConsumer({ type: 'file', path: join(dir, 'blocker', 'f') }).deliver(ctx(), version('v2')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect(await readdir(dir)).toEqual(['blocker', 'secret'].sort());
  });

  it('refuses a symlink at the path: neither writes through it nor replaces it', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await writeFile(elsewhere, 'untouched');
    const file = join(dir, 'link');
    await symlink(elsewhere, file);
    const e = await caught(() => createConsumer({ type: 'file', path: file }).deliver(ctx(), version('v1')));
    expect(isKeyturnError(e, 'KT_CONSUMER_PATH_UNSAFE')).toBe(true);
    expect(await readFile(elsewhere, 'utf8')).toBe('untouched');
    expect(await readFile(file, 'utf8')).toBe('untouched');
  });

  it('check fails when the file is missing or its mode drifted', async () => {
    const file = join(dir, 'secret');
    const c = createConsumer({ type: 'file', path: file });
    const missing = await caught(() => c.check!(ctx()));
    expect((missing as Error).message).toContain('does not exist');
    await c.deliver(ctx(), version('v1'));
    await chmod(file, 0o644);
    const drifted = await caught(() => c.check!(ctx()));
    expect(isKeyturnError(drifted, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((drifted as Error).message).toContain('mode 0644, expected 0600');
  });

  it('refuses relative paths and unknown keys when the config is read', () => {
    expect(() => parseConsumerConfig({ type: 'file', path: 'db.env' })).toThrow(/path: must be an absolute path/);
    expect(() => parseConsumerConfig({ type: 'file', path: '/x', owner: 'root' })).toThrow(/Unrecognized key: "owner"/);
  });

  it('a reader in another process never sees a partial file during 200 replacements', async () => {
    const file = join(dir, 'big');
    const done = join(dir, 'done');
    // Contents of different sizes, each made of one repeated letter: a partial or mixed read shows.
    const contents = ['a'.repeat(256 * 1024), 'b'.repeat(64 * 1024), 'c'.repeat(1024 * 1024)];
    const c = createConsumer({ type: 'file', path: file });
    await c.deliver(ctx(), version(contents[0]!));
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const [file, done] = process.argv.slice(1);
         const whole = new Map([['a', 'a'.repeat(256 * 1024)], ['b', 'b'.repeat(64 * 1024)], ['c', 'c'.repeat(1024 * 1024)]]);
         let reads = 0, bad = 0;
         for (let i = 0; i < 1e6 && !fs.existsSync(done); i++) {
           const t = fs.readFileSync(file, 'latin1');
           reads++;
           if (whole.get(t[0]) !== t) bad++;
         }
         process.stdout.write(JSON.stringify({ reads, bad }));`,
        file,
        done,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    for (let i = 1; i <= 200; i++) await c.deliver(ctx(), version(contents[i % 3]!));
    await writeFile(done, '');
    await exited;
    const result = JSON.parse(out) as { reads: number; bad: number };
    expect(result.reads).toBeGreaterThan(0);
    expect(result.bad).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['big', 'done']);
  });
});
