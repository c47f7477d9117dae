import { describe, expect, it } from 'vitest';
import { httpApiKeyConfigSchema } from './config.js';
import { hintMatches, isKeyturnName, keyName, listedKeys, namedFor } from './keys.js';
import { renderRequest, retryAfterMs, UnsafeHeader } from './session.js';
import { MissingValue } from './template.js';

describe('http-api-key keys', () => {
  it('names a key by 16 hex digits of its SHA-256, found inside a longer name', () => {
    expect(keyName('secret-value')).toBe('kt-31160254d1297393');
    expect(namedFor('keyturn kt-31160254d1297393 (prod)', 'secret-value')).toBe(true);
    expect(namedFor('kt-31160254d1297394', 'secret-value')).toBe(false);
    expect(namedFor(null, 'secret-value')).toBe(false);
    expect(isKeyturnName('keyturn kt-0123456789abcdef')).toBe(true);
    expect(isKeyturnName('first-key')).toBe(false);
  });

  it("matches a provider's hint: start and end around a mask, or the last characters; at least 4 shown", () => {
    const key = 'sk-live-4Nq0abcdefghf9d2';
    for (const hint of ['sk-l...f9d2', 'sk-live-****f9d2', 'sk-l…f9d2', '****f9d2', 'f9d2']) expect(hintMatches(hint, key), hint).toBe(true);
    for (const hint of ['sk-x...f9d2', 'sk...d2x', 'a...b', 'sk-l...f9...d2', key, '']) expect(hintMatches(hint, key), hint).toBe(false);
  });

  it('reads the keys of a list answer by the configured fields, or null for another shape', () => {
    const fields = { items: 'result.keys', id: 'meta.id', name: 'label', hint: 'masked' };
    expect(listedKeys({ result: { keys: [{ meta: { id: 7 }, label: 'kt-1', masked: 'ab...cd' }, { meta: { id: 'k2' } }] } }, fields)).toEqual([
      { id: '7', name: 'kt-1', hint: 'ab...cd' },
      { id: 'k2', name: null, hint: null },
    ]);
    expect(listedKeys([{ id: 'a' }], { items: '', id: 'id', name: 'name' })).toEqual([{ id: 'a', name: null, hint: null }]);
    expect(listedKeys({ data: {} }, { items: 'data', id: 'id', name: 'name' })).toBeNull();
    expect(listedKeys({ data: [{ name: 'no id' }] }, { items: 'data', id: 'id', name: 'name' })).toBeNull();
  });
});

describe('http-api-key requests', () => {
  const config = httpApiKeyConfigSchema.parse({
    type: 'http-api-key',
    baseUrl: 'https://api.example.com/admin/',
    create: {
      path: '/accounts/{{username}}/keys?label={{keyName}}',
      headers: { Authorization: 'Bearer {{admin.password}}', 'X-Org': '{{admin.org}}' },
      body: { key: '{{key}}', tags: ['a', '{{username}}'], n: 1 },
    },
    test: { path: '/whoami', headers: { 'X-Api-Key': '{{key}}' } },
    revoke: { path: '/keys/{{keyName}}', headers: { Authorization: 'Bearer {{admin.password}}' } },
  });
  const values = { username: 'team a/b', key: 'k-1"x', keyName: 'kt-0011223344556677', admin: { username: 'ops', password: 'tok', org: 'o1' } };

  it('renders the URL (values encoded), headers and JSON body', () => {
    const r = renderRequest(config, config.create, values);
    expect(r).toEqual({
      method: 'POST',
      url: 'https://api.example.com/admin/accounts/team%20a%2Fb/keys?label=kt-0011223344556677',
      headers: { accept: 'application/json', authorization: 'Bearer tok', 'x-org': 'o1', 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'k-1"x', tags: ['a', 'team a/b'], n: 1 }),
    });
    expect(renderRequest(config, config.test, values).body).toBeUndefined();
  });

  it('says which value is missing, and refuses a header value with a line break', () => {
    expect(() => renderRequest(config, config.create, { ...values, admin: null })).toThrow(MissingValue);
    expect(() => renderRequest(config, config.create, { ...values, admin: { username: 'ops', password: 'tok' } })).toThrow(expect.objectContaining({ adminField: 'org' }));
    expect(() => renderRequest(config, config.test, { ...values, key: 'a\r\nb' })).toThrow(UnsafeHeader);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});
