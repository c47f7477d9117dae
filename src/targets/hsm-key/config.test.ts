import { describe, expect, it } from 'vitest';
import { parseTargetConfig } from '../registry.js';
import { pinIn } from './pin.js';
import { configProblems } from '../../../test/helpers/target-config.js';

const problems = configProblems;

const valid = { type: 'hsm-key', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signing' };

describe('hsm-key config', () => {
  it('defaults keyType to ec-p256 and labelPrefix to keyturn-', () => {
    expect(parseTargetConfig(valid)).toEqual({ ...valid, keyType: 'ec-p256', labelPrefix: 'keyturn-' });
    expect(parseTargetConfig({ ...valid, keyType: 'ed25519', labelPrefix: 'app-' })).toMatchObject({ keyType: 'ed25519', labelPrefix: 'app-' });
  });

  it('refuses a relative module, a token label over 32 bytes, an unknown key type and unknown keys', () => {
    expect(problems({ ...valid, module: 'libsofthsm2.so' })).toContain('module: must be the absolute path of a PKCS#11 library');
    expect(problems({ ...valid, token: 'é'.repeat(17) })).toContain('token: must be at most 32 bytes');
    expect(problems({ ...valid, keyType: 'rsa-1024' })).toContain('keyType: must be one of ec-p256, rsa-2048, ed25519');
    expect(problems({ ...valid, pin: '1234' })).toContain('pin');
  });
});

describe('hsm-key PIN', () => {
  it('is the admin value itself or its pin field', () => {
    expect(pinIn('1234')).toBe('1234');
    expect(pinIn({ pin: '1234' })).toBe('1234');
    expect(pinIn({ password: '1234' })).toBeNull();
    expect(pinIn('')).toBeNull();
    expect(pinIn(null)).toBeNull();
    expect(pinIn(undefined)).toBeNull();
  });
});
