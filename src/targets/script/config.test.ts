import { describe, expect, it } from 'vitest';
import { parseTargetConfig } from '../registry.js';
import { exitCodesOf } from './config.js';
import { expandArgv, scriptCall, secretSpellings } from './script-env.js';
import { scriptConfigSchema } from './config.js';

/** The schema's problems for a config with `input` over a minimal valid one, as `path: message; ...`. */
const problems = (input: Record<string, unknown>): string =>
  (scriptConfigSchema.safeParse({ type: 'script', set: ['/bin/x'], test: ['/bin/x'], ...input }).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

describe('script target config', () => {
  it('takes the non-secret placeholders and fills in the defaults', () => {
    const c = parseTargetConfig({ type: 'script', set: ['/bin/x', 'set', '--user={username}', '{primaryUsername}', '{strategy}', '{action}', '{"json":1}'], test: ['/bin/x'] });
    expect(c).toMatchObject({ input: 'env', timeoutMs: 30_000 });
  });

  it('refuses a placeholder that would put a secret on the command line, and any unknown one', () => {
    for (const secret of ['{password}', '--pw={currentPassword}', '{admin.password}', '{KEYTURN_PASSWORD}', '{token}', '{value}']) {
      expect(problems({ set: ['/bin/x', secret] })).toMatch(/set\.1: \{[^}]+\} would put a secret on the command line/);
    }
    expect(problems({ revoke: ['/bin/x', 'a', '{host}'] })).toContain('revoke.2: unknown placeholder {host}');
    expect(problems({ test: ['{username}'] })).toContain('test.0: the command itself cannot hold a placeholder');
    expect(problems({ test: [] })).toContain('test: must name the command to run');
  });

  it('refuses KEYTURN_* variables, a relative cwd, an unknown input and exit codes that clash', () => {
    expect(problems({ env: { KEYTURN_PASSWORD: 'x' } })).toContain('env.KEYTURN_PASSWORD: KEYTURN_* variables are set by Keyturn');
    expect(problems({ cwd: 'rel' })).toContain('cwd: must be an absolute folder path');
    expect(problems({ input: 'argv' })).toContain('input: must be env or stdin');
    expect(problems({})).toBe('');
    expect(problems({ exitCodes: { authFailed: 4 } })).toContain('exit code 4 would mean both authFailed and userMissing');
    expect(problems({ exitCodes: { authFailed: 0 } })).toContain('exitCodes.authFailed: must be a whole number from 1 to 255 (0 is success)');
    expect(problems({ passwordLimits: { maxLength: 8 } })).toContain('passwordLimits.maxLength: must be at least 16');
    expect(exitCodesOf({ authFailed: 42 })).toMatchObject({ authFailed: 42, userMissing: 4 });
  });
});

describe('script target calls', () => {
  const config = scriptConfigSchema.parse({ type: 'script', set: ['/bin/x', 'set', '{username}'], test: ['/bin/x', 'test', '{username}'], env: { PGHOST: 'db' } });
  const cred = { username: 'app', password: 'new-Pw-1', port: 5432 };

  it('expands only placeholders, and refuses a value that would read as an option', () => {
    expect(expandArgv(['/bin/x', 'u={username}', '{strategy}'], { username: 'app', primaryUsername: 'app', strategy: 'single-user', action: 'set' })).toEqual(['/bin/x', 'u=app', 'single-user']);
    expect(() => expandArgv(['/bin/x', '{username}'], { username: '-rf', primaryUsername: 'x', strategy: 'single-user', action: 'set' })).toThrow(/would read as an option/);
  });

  it('passes passwords in the environment, or only on stdin, and never a NUL', () => {
    const env = scriptCall(config, 'set', { strategy: 'single-user', primaryUsername: 'app', credential: cred, current: { username: 'app', password: 'old-Pw-1' }, admin: null });
    expect(env.argv).toEqual(['/bin/x', 'set', 'app']);
    expect(env.env).toMatchObject({ PGHOST: 'db', KEYTURN_PASSWORD: 'new-Pw-1', KEYTURN_CURRENT_PASSWORD: 'old-Pw-1', KEYTURN_INPUT: 'env' });
    expect(env.env.KEYTURN_ADMIN_USERNAME).toBeUndefined();
    expect(env.stdin).toBeUndefined();

    const stdin = scriptCall({ ...config, input: 'stdin' }, 'test', { strategy: 'single-user', primaryUsername: 'app', credential: cred, current: { username: 'app', password: 'old' }, admin: null });
    expect(Object.keys(stdin.env).filter((k) => k.includes('PASSWORD'))).toEqual([]);
    expect(JSON.parse(stdin.stdin!)).toEqual({ version: 1, action: 'test', strategy: 'single-user', primaryUsername: 'app', credential: cred, current: null, admin: null });

    expect(() => scriptCall(config, 'test', { strategy: 'single-user', primaryUsername: 'app', credential: { username: 'app', password: 'a\0b' }, current: null, admin: null })).toThrow(
      /KEYTURN_PASSWORD.*NUL character \(use input: stdin\)/,
    );
  });

  it('scrubs every password and extra field, not the user names', () => {
    const forms = secretSpellings([cred, { username: 'kt_admin', password: 'adm-Pw-1' }, null]);
    for (const f of ['new-Pw-1', 'adm-Pw-1', '5432', Buffer.from('app:new-Pw-1').toString('base64').replace(/=+$/, '')]) expect(forms).toContain(f);
    for (const f of ['app', 'kt_admin', Buffer.from('app').toString('hex')]) expect(forms).not.toContain(f);
  });
});
