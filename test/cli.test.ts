/**
 * The `keyturn` CLI: every secret command, both output shapes, exit codes, and bad input that
 * gets its own code while the state database stays byte-for-byte the same.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';

const home = useCliHome();
const { kt, dump } = home;

describe('secret put and get', () => {
  it('stores from --value, --stdin, --file and --field, and reads each back', async () => {
    expect((await kt(['secret', 'put', 'a/value', '--value', 'v1'])).code).toBe(0);
    expect((await kt(['secret', 'put', 'a/stdin', '--stdin'], 'from-stdin\n')).code).toBe(0);
    const file = join(home.dir, 'value.json');
    writeFileSync(file, '{"username":"app","password":"pw"}');
    expect((await kt(['secret', 'put', 'a/file', '--file', file, '--json-value'])).code).toBe(0);
    expect((await kt(['secret', 'put', 'a/fields', '--field', 'username=app', '--field', 'password=a=b'])).code).toBe(0);

    expect((await kt(['secret', 'get', 'a/value'])).stdout).toBe('v1');
    expect((await kt(['secret', 'get', 'a/stdin'])).stdout).toBe('from-stdin');
    expect(JSON.parse((await kt(['secret', 'get', 'a/file'])).stdout)).toEqual({ username: 'app', password: 'pw' });
    expect((await kt(['secret', 'get', 'a/fields', '--field', 'password'])).stdout).toBe('a=b');
    const json = JSON.parse((await kt(['secret', 'get', 'a/fields', '--json'])).stdout);
    expect(json).toMatchObject({ path: 'a/fields', version: 1, stages: ['current'], kind: 'json', value: { username: 'app', password: 'a=b' } });
  });

  it('reads by stage, version number and version id', async () => {
    await kt(['secret', 'put', 'a/b', '--value', 'one']);
    const two = JSON.parse((await kt(['secret', 'put', 'a/b', '--value', 'two', '--json'])).stdout);
    await kt(['secret', 'put', 'a/b', '--value', 'next', '--stage', 'pending']);
    expect((await kt(['secret', 'get', 'a/b'])).stdout).toBe('two');
    expect((await kt(['secret', 'get', 'a/b', '--stage', 'previous'])).stdout).toBe('one');
    expect((await kt(['secret', 'get', 'a/b', '--stage', 'pending'])).stdout).toBe('next');
    expect((await kt(['secret', 'get', 'a/b', '--version', '1'])).stdout).toBe('one');
    expect((await kt(['secret', 'get', 'a/b', '--version', two.id])).stdout).toBe('two');
  });

  it('keeps metadata and a repeated --version-id is a no-op', async () => {
    const args = [
      'secret',
      'put',
      'app/k',
      '--value',
      'v',
      '--type',
      'app-secret',
      '--description',
      'session',
      '--owner',
      'team-a',
      '--tag',
      'env=prod',
      '--tag',
      'tier=1',
      '--version-id',
      'release-1',
    ];
    expect((await kt(args)).code).toBe(0);
    expect((await kt(args)).code).toBe(0);
    const ls = JSON.parse((await kt(['secret', 'ls', '--json'])).stdout);
    expect(ls).toEqual([expect.objectContaining({ path: 'app/k', type: 'app-secret', description: 'session', owner: 'team-a', tags: { env: 'prod', tier: '1' }, versions: 1 })]);
  });
});

describe('listing, history and rollback', () => {
  it('lists as a table and as JSON, by prefix', async () => {
    for (const p of ['prod/db/a', 'prod/api', 'dev/x']) await kt(['secret', 'put', p, '--value', 'v']);
    const table = (await kt(['secret', 'ls', 'prod'])).stdout.split('\n');
    expect(table[0]).toMatch(/^PATH\s+TYPE\s+CURRENT\s+VERSIONS\s+UPDATED$/);
    expect(table.slice(1, 3).map((l) => l.split(/\s+/)[0])).toEqual(['prod/api', 'prod/db/a']);
    expect(JSON.parse((await kt(['secret', 'ls', '--json'])).stdout).map((s: { path: string }) => s.path)).toEqual(['dev/x', 'prod/api', 'prod/db/a']);
    expect((await kt(['secret', 'ls', 'nothing'])).stdout).toBe('No secrets under nothing.\n');
  });

  it('shows history without values and rolls back to previous', async () => {
    await kt(['secret', 'put', 'a/b', '--value', 'first-value']);
    await kt(['secret', 'put', 'a/b', '--value', 'second-value']);
    const history = await kt(['secret', 'history', 'a/b']);
    expect(history.stdout).toMatch(/^VERSION\s+ID\s+STAGES\s+KIND\s+CREATED\n2\s+\S+\s+current\s+string/);
    expect(history.stdout).not.toContain('value');
    const rb = await kt(['secret', 'rollback', 'a/b', '--json']);
    expect(JSON.parse(rb.stdout)).toMatchObject({ current: { version: 1 }, previous: { version: 2 } });
    expect((await kt(['secret', 'get', 'a/b'])).stdout).toBe('first-value');
    await kt(['secret', 'rollback', 'a/b']);
    expect((await kt(['secret', 'get', 'a/b'])).stdout).toBe('second-value');
    await kt(['secret', 'put', 'solo', '--value', 'v']);
    const none = await kt(['secret', 'rollback', 'solo']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('KT_NO_PREVIOUS_VERSION');
  });
});

describe('delete, restore, purge', () => {
  it('soft-deletes, restores, and refuses a purge inside the window', async () => {
    await kt(['secret', 'put', 'a/b', '--value', 'v']);
    expect((await kt(['secret', 'rm', 'a/b', '--recovery-days', '7'])).code).toBe(0);
    const get = await kt(['secret', 'get', 'a/b']);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('KT_SECRET_DELETED');
    expect((await kt(['secret', 'ls', '--deleted'])).stdout).toMatch(/a\/b/);
    // Refused for its protection before confirmation is even asked for.
    const noYes = await kt(['secret', 'purge', 'a/b']);
    expect(noYes.code).toBe(1);
    expect(noYes.stderr).toContain('KT_PURGE_PROTECTED');
    const protectedPurge = await kt(['secret', 'purge', 'a/b', '--yes']);
    expect(protectedPurge.code).toBe(1);
    expect(protectedPurge.stderr).toContain('KT_PURGE_PROTECTED');
    expect((await kt(['secret', 'restore', 'a/b'])).code).toBe(0);
    expect((await kt(['secret', 'get', 'a/b'])).stdout).toBe('v');
  });

  it('purges at once when purge protection is off', async () => {
    await kt(['secret', 'put', 'a/b', '--value', 'v']);
    await kt(['secret', 'rm', 'a/b']);
    const noYes = await runCli(['secret', 'purge', 'a/b'], { env: { ...home.env, KEYTURN_PURGE_PROTECTION: 'false' } });
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('KT_CONFIRMATION_REQUIRED');
    expect(noYes.stderr).toContain('--yes');
    expect((await kt(['secret', 'ls', '--deleted'])).stdout).toMatch(/a\/b/);
    const r = await runCli(['secret', 'purge', 'a/b', '--yes'], { env: { ...home.env, KEYTURN_PURGE_PROTECTION: 'false' } });
    expect(r.code, r.stderr).toBe(0);
    expect((await kt(['secret', 'ls', '--deleted', '--json'])).stdout).toBe('[]\n');
  });
});

describe('bad input gets its own code, exit 2 (bad input), 3 (not found) or 1, and changes nothing', () => {
  const cases: Array<[string, string[], string, number, string?]> = [
    ['empty path', ['secret', 'put', '', '--value', 'v'], 'KT_PATH_EMPTY', 2],
    ['dot-dot', ['secret', 'put', 'a/../b', '--value', 'v'], 'KT_PATH_DOT_SEGMENT', 2],
    ['double slash', ['secret', 'put', 'a//b', '--value', 'v'], 'KT_PATH_EMPTY_SEGMENT', 2],
    ['leading slash', ['secret', 'put', '/a', '--value', 'v'], 'KT_PATH_LEADING_SLASH', 2],
    ['control char', ['secret', 'put', 'a\tb', '--value', 'v'], 'KT_PATH_CONTROL_CHAR', 2],
    ['bad char', ['secret', 'put', 'a$b', '--value', 'v'], 'KT_PATH_INVALID_CHAR', 2],
    ['too long', ['secret', 'put', 'p'.repeat(513), '--value', 'v'], 'KT_PATH_TOO_LONG', 2],
    ['too large', ['secret', 'put', 'a/b', '--stdin'], 'KT_VALUE_TOO_LARGE', 2, 'x'.repeat(65 * 1024)],
    ['malformed JSON', ['secret', 'put', 'a/b', '--stdin', '--json-value'], 'KT_VALUE_INVALID_JSON', 2, '{"password": '],
    ['JSON not an object', ['secret', 'put', 'a/b', '--stdin', '--json-value'], 'KT_VALUE_NOT_OBJECT', 2, '["a"]'],
    ['no value', ['secret', 'put', 'a/b'], 'KT_VALUE_MISSING', 2],
    ['two values', ['secret', 'put', 'a/b', '--value', 'v', '--stdin'], 'KT_VALUE_SOURCE_CONFLICT', 2],
    ['field without =', ['secret', 'put', 'a/b', '--field', 'password'], 'KT_VALUE_FIELD_INVALID', 2],
    ['bad tag', ['secret', 'put', 'a/b', '--value', 'v', '--tag', 'novalue'], 'KT_TAG_INVALID', 2],
    ['unknown stage on put', ['secret', 'put', 'a/b', '--value', 'v', '--stage', 'live'], 'KT_STAGE_UNKNOWN', 2],
    ['unknown stage on get', ['secret', 'get', 'ok/one', '--stage', 'live'], 'KT_STAGE_UNKNOWN', 2],
    ['unknown version number', ['secret', 'get', 'ok/one', '--version', '9'], 'KT_VERSION_NOT_FOUND', 3],
    ['unknown version id', ['secret', 'get', 'ok/one', '--version', 'abc'], 'KT_VERSION_NOT_FOUND', 3],
    ['unset stage', ['secret', 'get', 'ok/one', '--stage', 'pending'], 'KT_STAGE_NOT_SET', 3],
    ['unknown field', ['secret', 'get', 'ok/fields', '--field', 'nope'], 'KT_FIELD_NOT_FOUND', 3],
    ['field of a string', ['secret', 'get', 'ok/one', '--field', 'x'], 'KT_FIELD_NOT_AVAILABLE', 2],
    ['missing secret', ['secret', 'get', 'no/such'], 'KT_SECRET_NOT_FOUND', 3],
    ['restore a live secret', ['secret', 'restore', 'ok/one'], 'KT_SECRET_NOT_DELETED', 1],
    ['bad setting', ['secret', 'put', 'a/b', '--value', 'v'], 'KT_CONFIG_INVALID', 2],
  ];

  it.each(cases)('%s', async (name, argv, code, exit, stdin) => {
    await kt(['secret', 'put', 'ok/one', '--value', 'v']);
    await kt(['secret', 'put', 'ok/fields', '--field', 'a=1']);
    const before = dump();
    const extraEnv = name === 'bad setting' ? { KEYTURN_MAX_VALUE_BYTES: 'lots' } : {};
    const r = await runCli([...argv, '--json'], { env: { ...home.env, ...extraEnv }, ...(stdin === undefined ? {} : { stdin }) });
    expect(r.code).toBe(exit);
    expect(JSON.parse(r.stderr).error.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(dump()).toEqual(before);
    const human = await runCli(argv, { env: { ...home.env, ...extraEnv }, ...(stdin === undefined ? {} : { stdin }) });
    expect(human.stderr).toMatch(new RegExp(`^error ${code}: .+\\n  fix: .+\\n$`));
  });

  it('an unknown option is a usage error with exit 2', async () => {
    const r = await kt(['secret', 'put', 'a/b', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    const j = await kt(['secret', 'get', '--json']);
    expect(j.code).toBe(2);
    expect(j.stderr).toContain('"KT_USAGE"');
  });
});

describe('the installed command', () => {
  it('exits quietly when its reader stops early (keyturn ... | head)', async () => {
    const big = { ...home.env, KEYTURN_MAX_VALUE_BYTES: '2000000' };
    expect((await runCli(['secret', 'put', 'big/value', '--stdin'], { env: big, stdin: 'x'.repeat(1_000_000) })).code).toBe(0);
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./helpers/cli.js');
    // A value far larger than a pipe buffer, read by a reader that leaves after 10 bytes.
    const script = `"${process.execPath}" "${BIN}" secret get big/value | head -c 10 >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`;
    const child = spawn('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '', ...big }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(stderr).toContain('status=0');
  });

  it('runs through bin/keyturn.js with help, exit codes and a round trip', () => {
    const help = spawnCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: keyturn');
    expect(spawnCli(['secret', 'put', '--help']).stdout).toContain('--stdin');
    expect(spawnCli(['secret', 'put', 'bin/test', '--stdin'], { env: home.env, stdin: 'through-the-bin\n' }).code).toBe(0);
    const get = spawnCli(['secret', 'get', 'bin/test'], { env: home.env });
    expect(get).toMatchObject({ code: 0, stdout: 'through-the-bin', stderr: '' });
    expect(spawnCli(['secret', 'get', '/bad'], { env: home.env }).code).toBe(2);
    expect(spawnCli(['secret', 'get', 'no/such'], { env: home.env }).code).toBe(3);
    const status = JSON.parse(spawnCli(['status', '--json'], { env: home.env }).stdout);
    expect(status).toMatchObject({ home: home.dir, state: { dialect: 'sqlite' }, secrets: { secrets: 1, deleted: 0, versions: 1 } });
  });
});
