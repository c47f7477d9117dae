import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
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
});
