/** Field names to environment variable names, and the clean environment of a command. */
import { describe, expect, it } from 'vitest';
import { commandEnv, DEFAULT_PATH, upperSnake } from './env.js';

describe('upperSnake', () => {
  it('turns field names into UPPER_SNAKE', () => {
    const cases: Array<[string, string]> = [
      ['password', 'PASSWORD'],
      ['dbHost', 'DB_HOST'],
      ['db.host', 'DB_HOST'],
      ['db-host', 'DB_HOST'],
      ['HTTPServer', 'HTTP_SERVER'],
      ['tls2Cert', 'TLS2_CERT'],
      ['already_SNAKE', 'ALREADY_SNAKE'],
    ];
    for (const [field, name] of cases) expect(upperSnake(field)).toBe(name);
  });
});

describe('commandEnv', () => {
  const secret = { path: 'a/b', versionId: 'id-1', number: 2, value: 'v' };

  it('holds PATH, the configured variables and the delivery, nothing else', () => {
    expect(commandEnv('exec x', { LANG: 'C' }, secret)).toEqual({
      PATH: DEFAULT_PATH,
      LANG: 'C',
      KEYTURN_PATH: 'a/b',
      KEYTURN_VERSION: '2',
      KEYTURN_VERSION_ID: 'id-1',
      KEYTURN_VALUE: 'v',
    });
    expect(commandEnv('exec x', { PATH: '/opt/bin' }, secret).PATH).toBe('/opt/bin');
  });

  it('refuses a value holding NUL without echoing it', () => {
    expect(() => commandEnv('exec x', undefined, { ...secret, value: { token: 'abc\0def' } })).toThrow(/field "token" contains a NUL character/);
    expect(() => commandEnv('exec x', undefined, { ...secret, value: 'abc\0def' })).toThrow(/^exec x: the value contains a NUL/);
  });
});
