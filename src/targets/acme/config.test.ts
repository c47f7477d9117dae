/**
 * The acme target's config schema: defaults, strictness, names, the challenge address, and
 * renewBefore as a duration or a share of the lifetime (a third of a lifetime shorter than it).
 */
import { describe, expect, it } from 'vitest';
import { parseTargetConfig } from '../registry.js';
import { acmeConfigSchema, parseListen, renewBeforeMs } from './config.js';

const base = { type: 'acme', directoryUrl: 'https://acme.example/dir', names: ['www.example.com'], challenge: { type: 'http-01', listen: '0.0.0.0:80' } } as const;
const DAY = 86_400_000;

function problems(input: unknown): string {
  const r = acmeConfigSchema.safeParse(input);
  return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

describe('acme config', () => {
  it('takes the minimal config with defaults', () => {
    const c = acmeConfigSchema.parse(base);
    expect(c.keyType).toBe('ec-p256');
    expect(c.renewBefore).toBe('30d');
    expect(parseTargetConfig(base).type).toBe('acme');
  });

  it('is strict and checks each field', () => {
    expect(problems({ ...base, extra: 1 })).toMatch(/extra|Unrecognized/);
    expect(problems({ ...base, directoryUrl: 'ftp://x/dir' })).toContain('directoryUrl');
    expect(problems({ ...base, names: [] })).toContain('at least one name');
    expect(problems({ ...base, names: ['a.example', 'A.example'] })).toContain('twice');
    expect(problems({ ...base, names: ['*.example.com'] })).toContain('dns-01');
    expect(problems({ ...base, names: ['bad_name.example'] })).toContain('must be a DNS name');
    expect(problems({ ...base, keyType: 'ed25519' })).toContain('keyType');
    expect(problems({ ...base, challenge: { type: 'dns-01', listen: '0.0.0.0:80' } })).toContain('http-01');
    expect(problems({ ...base, challenge: { type: 'http-01', listen: '0.0.0.0' } })).toContain('HOST:PORT');
    expect(problems({ ...base, renewBefore: '1.5d' })).toContain('renewBefore');
    expect(problems({ ...base, renewBefore: '0%' })).toContain('renewBefore');
    expect(problems({ ...base, email: 'nope' })).toContain('email');
    expect(problems({ ...base, renewBefore: '33%', email: 'ops@example.com', caBundle: 'ca.pem', timeoutMs: 60_000, keyType: 'rsa-2048' })).toBe('');
  });

  it('splits HOST:PORT, an IPv6 host in brackets', () => {
    expect(parseListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListen('localhost:0')).toBeNull();
    expect(parseListen('::1:80')).toBeNull();
  });

  it('renewBefore: a duration, a share, or a third of a lifetime the duration does not fit in', () => {
    expect(renewBeforeMs('30d', 90 * DAY)).toBe(30 * DAY);
    expect(renewBeforeMs('30d', 6 * DAY)).toBe(2 * DAY);
    expect(renewBeforeMs('30d', 30 * DAY)).toBe(10 * DAY);
    expect(renewBeforeMs('25%', 8 * DAY)).toBe(2 * DAY);
    expect(renewBeforeMs('12h', 7 * DAY)).toBe(12 * 3_600_000);
  });
});
