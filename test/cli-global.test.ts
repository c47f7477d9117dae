/**
 * Options every command takes, wherever they stand: `--home`, `--json` and `-q` before or after
 * the command, `KEYTURN_OUTPUT=json` as the default format, and the top-level help listing every
 * environment variable with its default. Suggested commands follow how Keyturn was started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_VARS } from '../src/config/env-vars.js';
import { normalizeArgv } from '../src/cli/main.js';
import { runCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';

const home = useCliHome();
const scratch = mkdtempSync(join(tmpdir(), 'kt-global-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('normalizeArgv', () => {
  it('moves global options written before the command to its end, values included', () => {
    expect(normalizeArgv(['--json', 'secret', 'ls'])).toEqual({ argv: ['secret', 'ls', '--json'], command: 'secret', subcommand: 'ls' });
    expect(normalizeArgv(['--home', '/h', '-q', 'secret', 'get', 'a/b'])).toEqual({ argv: ['secret', 'get', 'a/b', '--home', '/h', '-q'], command: 'secret', subcommand: 'get' });
    expect(normalizeArgv(['--home=/h', 'status'])).toEqual({ argv: ['status', '--home=/h'], command: 'status' });
    expect(normalizeArgv(['--json', 'secret', 'put', 'a', '--', '--json'])).toEqual({ argv: ['secret', 'put', 'a', '--json', '--', '--json'], command: 'secret', subcommand: 'put' });
    expect(normalizeArgv(['secret', '--help']).subcommand).toBeUndefined();
    expect(normalizeArgv(['--json', '--help'])).toEqual({ argv: ['--json', '--help'], command: undefined });
  });
});

describe('global options on real command lines', () => {
  it('--json and --home before the command work like after it', async () => {
    expect((await home.kt(['secret', 'put', 'app/a', '--value', 'one'])).code).toBe(0);
    const before = await runCli(['--json', '--home', home.dir, 'secret', 'ls']);
    const after = await runCli(['secret', 'ls', '--home', home.dir, '--json']);
    expect(before.code).toBe(0);
    expect(before.stdout).toBe(after.stdout);
    expect((JSON.parse(before.stdout) as Array<{ path: string }>).map((s) => s.path)).toEqual(['app/a']);
  });

  it('KEYTURN_OUTPUT=json makes JSON the default; an unknown format is a usage error', async () => {
    const r = await runCli(['status'], { env: { ...home.env, KEYTURN_OUTPUT: 'json' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ initialized: true, home: home.dir });
    const bad = await runCli(['status'], { env: { ...home.env, KEYTURN_OUTPUT: 'yaml' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('KEYTURN_OUTPUT: must be one of text, json');
    // A usage error is a JSON object too, and only that, when JSON is the default.
    const usage = await runCli(['secret', 'nope'], { env: { ...home.env, KEYTURN_OUTPUT: 'json' } });
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toMatchObject({ error: { code: 'KT_USAGE' } });
  });

  it('a group sets up only the subcommand named; its help and a typo still see them all', async () => {
    expect((await runCli(['secret', 'get', '--help'])).stdout).toContain('Usage: keyturn secret get');
    const group = await runCli(['secret', '--help']);
    for (const name of ['put', 'get', 'ls', 'history', 'rollback', 'rm', 'restore', 'purge']) expect(group.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const typo = await runCli(['secret', 'gett', 'a/b']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean get?');
  });

  it('-q prints no messages but keeps the data asked for', async () => {
    const put = await home.kt(['-q', 'secret', 'put', 'app/q', '--value', 'quiet-value']);
    expect(put).toMatchObject({ code: 0, stdout: '' });
    expect((await home.kt(['secret', 'get', 'app/q', '--quiet'])).stdout).toBe('quiet-value');
    expect((await home.kt(['secret', 'rm', 'app/q', '-q'])).stdout).toBe('');
  });

  it('the top-level help lists every environment variable with its default, and the exit codes', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const v of ENV_VARS) expect(help.stdout).toMatch(new RegExp(`^  ${v.name} .*\\(default: ${(v.default ?? v.unset)!.replace(/[.*+?^${}()|[\]\\~]/g, '\\$&')}\\)$`, 'm'));
    expect(help.stdout).toContain('3 what you asked for does not exist');
  });

  it('commands it suggests say npx keyturn when run through npx, keyturn otherwise', async () => {
    const plain = await runCli(['init', '--home', join(scratch, 'plain')]);
    expect(plain.stdout).toContain('Next: keyturn secret put');
    const npx = await runCli(['init', '--home', join(scratch, 'npx')], { env: { npm_command: 'exec' } });
    expect(npx.stdout).toContain('Next: npx keyturn secret put');
    const missing = await runCli(['secret', 'get', 'no/such', '--home', join(scratch, 'npx')], { env: { npm_command: 'exec' } });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('`npx keyturn secret ls`');
  });
});
