import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { ENV_VARS } from './env-vars.js';
import { loadSettings } from './settings.js';

describe('settings', () => {
  it('has sane defaults and is frozen', () => {
    const s = loadSettings({ KEYTURN_HOME: '/tmp/kt-home' });
    expect(s).toMatchObject({ home: '/tmp/kt-home', sqliteFile: '/tmp/kt-home/keyturn.db', maxValueBytes: 65536, purgeProtection: true, recoveryDays: 30, maxVersions: 100, retentionDays: 7 });
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('takes --home over KEYTURN_HOME', () => {
    expect(loadSettings({ KEYTURN_HOME: '/a' }, { home: '/b' }).home).toBe('/b');
  });

  it('never shows the root key when printed', () => {
    const s = loadSettings({ KEYTURN_ROOT_KEY: 'c2VjcmV0LWtleS1tYXRlcmlhbA==' });
    expect(s.rootKeyFromEnv).toBe('c2VjcmV0LWtleS1tYXRlcmlhbA==');
    expect(JSON.stringify(s)).not.toContain('c2VjcmV0');
  });

  it('KEYTURN_ADDR: https anywhere, http only to loopback, only an origin; the token is never printed', () => {
    expect(loadSettings({}).remote).toBeUndefined();
    const s = loadSettings({ KEYTURN_ADDR: 'https://keyturn.example.com:8787/', KEYTURN_TOKEN: 'kt_secret-token', KEYTURN_CACERT: '/etc/ca.pem' });
    expect(s.remote).toEqual({ addr: 'https://keyturn.example.com:8787', caCertFile: '/etc/ca.pem' });
    expect(s.remote!.token).toBe('kt_secret-token');
    expect(JSON.stringify(s)).not.toContain('kt_secret');
    for (const ok of ['http://127.0.0.1:8787', 'http://[::1]:9000', 'http://localhost:1234', 'https://10.0.0.5']) expect(loadSettings({ KEYTURN_ADDR: ok }).remote!.addr).toBe(ok);
    for (const [bad, problem] of [
      ['http://10.0.0.5:8787', 'plain http:// is only for'],
      ['ftp://127.0.0.1', 'must start with https://'],
      ['https://host:8787/v1', 'only scheme, host and port'],
      ['https://user:pw@host', 'only scheme, host and port'],
      ['host:8787', 'must start with https://'],
      ['not a url', 'must be a URL'],
    ]) {
      let caught: unknown;
      try {
        loadSettings({ KEYTURN_ADDR: bad });
      } catch (e) {
        caught = e;
      }
      expect(isKeyturnError(caught, 'KT_CONFIG_INVALID'), bad).toBe(true);
      expect((caught as Error).message, bad).toContain(`KEYTURN_ADDR: `);
      expect((caught as Error).message, bad).toContain(problem);
    }
  });

  it('reports every bad variable by name with KT_CONFIG_INVALID', () => {
    let caught: unknown;
    try {
      loadSettings({ KEYTURN_MAX_VALUE_BYTES: 'lots', KEYTURN_RECOVERY_DAYS: '3', KEYTURN_DATABASE_URL: 'mysql://x', KEYTURN_PURGE_PROTECTION: 'maybe' });
    } catch (e) {
      caught = e;
    }
    expect(isKeyturnError(caught, 'KT_CONFIG_INVALID')).toBe(true);
    const message = (caught as Error).message;
    for (const name of ['KEYTURN_MAX_VALUE_BYTES', 'KEYTURN_RECOVERY_DAYS', 'KEYTURN_DATABASE_URL', 'KEYTURN_PURGE_PROTECTION']) expect(message).toContain(name);
  });

  it('names the problem of each bad variable without echoing its value', () => {
    let caught: unknown;
    try {
      loadSettings({ KEYTURN_RECOVERY_DAYS: 'sekrit-3', KEYTURN_LOG_LEVEL: 'loud', KEYTURN_OUTPUT: 'yaml' });
    } catch (e) {
      caught = e;
    }
    const message = (caught as Error).message;
    expect(message).toContain('KEYTURN_RECOVERY_DAYS: must be a whole number from 7 to 90');
    expect(message).toContain('KEYTURN_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent');
    expect(message).toContain('KEYTURN_OUTPUT: must be one of text, json');
    expect(message).not.toContain('sekrit');
  });

  it('lists each default that the settings apply', () => {
    const s = loadSettings({});
    const def = (name: string) => ENV_VARS.find((v) => v.name === name)!.default;
    expect(String(s.maxValueBytes)).toBe(def('KEYTURN_MAX_VALUE_BYTES'));
    expect(String(s.recoveryDays)).toBe(def('KEYTURN_RECOVERY_DAYS'));
    expect(String(s.maxVersions)).toBe(def('KEYTURN_MAX_VERSIONS'));
    expect(String(s.retentionDays)).toBe(def('KEYTURN_RETENTION_DAYS'));
    expect(String(s.purgeProtection)).toBe(def('KEYTURN_PURGE_PROTECTION'));
    expect(s.logLevel).toBe(def('KEYTURN_LOG_LEVEL'));
    expect(String(s.audit.checkpointEvery)).toBe(def('KEYTURN_AUDIT_CHECKPOINT_EVERY'));
    expect(String(s.audit.checkpointSeconds)).toBe(def('KEYTURN_AUDIT_CHECKPOINT_SECONDS'));
    expect(String(s.audit.sinkTimeoutMs)).toBe(def('KEYTURN_AUDIT_SINK_TIMEOUT_MS'));
    expect(String(s.audit.sinkBatch)).toBe(def('KEYTURN_AUDIT_SINK_BATCH'));
  });
});
