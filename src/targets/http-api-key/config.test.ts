import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../../core/errors.js';
import { parseTargetConfig } from '../registry.js';

const admin = { Authorization: 'Bearer {{admin.password}}' };
const valid = {
  type: 'http-api-key',
  baseUrl: 'https://api.example.com/admin',
  create: { path: '/v1/accounts/{{username}}/keys', headers: admin, body: { name: 'keyturn {{keyName}}', key: '{{key}}' } },
  test: { path: '/v1/whoami', headers: { Authorization: 'Bearer {{key}}' } },
  list: { path: '/v1/accounts/{{username}}/keys', headers: admin, response: { items: 'data', hint: 'hint' } },
  revoke: { path: '/v1/accounts/{{username}}/keys/{{keyId}}', headers: admin },
};

function problems(input: Record<string, unknown>): string {
  try {
    parseTargetConfig(input);
  } catch (e) {
    if (isKeyturnError(e, 'KT_TARGET_CONFIG_INVALID')) return e.message;
    throw e;
  }
  throw new Error('expected KT_TARGET_CONFIG_INVALID');
}

describe('http-api-key config', () => {
  it('fills in the methods, refused statuses and list fields', () => {
    const c = parseTargetConfig(valid);
    expect(c).toMatchObject({
      create: { method: 'POST' },
      test: { method: 'GET', refusedStatus: [401, 403] },
      list: { method: 'GET', response: { items: 'data', id: 'id', name: 'name', hint: 'hint' } },
      revoke: { method: 'DELETE' },
    });
  });

  it('refuses a secret in a path, an unknown placeholder and one a request cannot have', () => {
    const p = problems({
      ...valid,
      create: { ...valid.create, path: '/v1/keys/{{key}}' },
      test: { ...valid.test, path: '/v1/{{token}}' },
      list: { ...valid.list, path: '/v1/{{admin.password}}/keys', body: { id: '{{keyId}}' } },
    });
    expect(p).toContain('create.path: {{key}} is secret: a path (and so the URL, which access logs and proxies keep) may hold only {{username}}, {{keyName}}');
    expect(p).toContain('test.path: unknown placeholder {{token}}');
    expect(p).toContain('list.path: {{admin.password}} is secret');
    expect(p).toContain('list.body: {{keyId}} cannot be used in the list request');
    expect(problems({ ...valid, test: { ...valid.test, headers: { Authorization: 'Bearer {{admin}}' } } })).toContain('{{admin}} needs a field');
  });

  it('needs {{key}} in create and test, a way to name the key in revoke, and list for {{keyId}}', () => {
    const p = problems({ ...valid, create: { ...valid.create, body: { name: '{{keyName}}' } }, test: { path: '/v1/whoami', headers: admin }, revoke: { path: '/v1/keys', headers: admin } });
    expect(p).toContain("create: must send the key Keyturn generated: {{key}} in the body or a header (the provider must take a key of the caller's choosing)");
    expect(p).toContain('test: must authenticate with the key');
    expect(p).toContain('revoke: must say which key to end');
    const { list: _list, ...withoutList } = valid;
    expect(problems(withoutList)).toContain('list: is needed to find {{keyId}}');
    // Revoking by the key's name or value needs no list.
    expect(parseTargetConfig({ ...withoutList, revoke: { method: 'POST', path: '/v1/revoke', headers: admin, body: { key: '{{key}}' } } }).type).toBe('http-api-key');
  });

  it('checks the URL, caFile, headers and timeouts', () => {
    expect(problems({ ...valid, baseUrl: 'https://u:p@api.example.com?x=1' })).toContain('baseUrl: must be an http:// or https:// URL without user, password, query or fragment');
    expect(problems({ ...valid, baseUrl: 'ftp://api.example.com' })).toContain('baseUrl: must be an http');
    expect(problems({ ...valid, baseUrl: 'http://api.example.com', caFile: '/etc/ca.pem' })).toContain('caFile: goes with an https:// baseUrl');
    expect(problems({ ...valid, create: { ...valid.create, path: 'v1/keys' } })).toContain('create.path: must start with a single "/"');
    expect(problems({ ...valid, create: { ...valid.create, path: '//evil.example/keys' } })).toContain('create.path: must start with a single "/"');
    expect(problems({ ...valid, test: { ...valid.test, headers: { Host: 'x', Authorization: 'Bearer {{key}}' } } })).toContain('is set by the HTTP client itself');
    expect(problems({ ...valid, test: { ...valid.test, headers: { Authorization: 'Bearer {{key}}\r\nX: y' } } })).toContain('must not contain line breaks');
    expect(problems({ ...valid, create: { ...valid.create, method: 'HEAD' } })).toContain('create.method: must be one of GET, POST, PUT, PATCH, DELETE');
    expect(problems({ ...valid, timeoutMs: 5, maxRetryAfterMs: -1, extra: true })).toMatch(/timeoutMs: must be at least 100 ms.*maxRetryAfterMs: must be 0 or more/s);
    expect(problems({ ...valid, test: { ...valid.test, refusedStatus: [] } })).toContain('test.refusedStatus: must list at least one status');
  });
});
