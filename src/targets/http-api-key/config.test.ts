import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../../core/errors.js';
import { parseConfig } from '../../config/load.js';
import { parseTargetConfig } from '../registry.js';
import { httpApiKeyStrategiesOf } from './config.js';
import { configProblems } from '../../../test/helpers/target-config.js';

const admin = { Authorization: 'Bearer {{admin.password}}' };
const valid = {
  type: 'http-api-key',
  baseUrl: 'https://api.example.com/admin',
  create: { path: '/v1/accounts/{{username}}/keys', headers: admin, body: { name: 'keyturn {{keyName}}', key: '{{key}}' } },
  test: { path: '/v1/whoami', headers: { Authorization: 'Bearer {{key}}' } },
  list: { path: '/v1/accounts/{{username}}/keys', headers: admin, response: { items: 'data', hint: 'hint' } },
  revoke: { path: '/v1/accounts/{{username}}/keys/{{keyId}}', headers: admin },
};

const problems = configProblems;

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

  describe('keys the provider makes (create.response.key)', () => {
    const generated = { ...valid, create: { path: '/v1/accounts/{{username}}/keys', headers: admin, body: { name: 'keyturn {{keyName}}' }, response: { key: 'secret.value', id: 'id' } } };

    it('reads the answer paths, and rotates with renew only', () => {
      const c = parseTargetConfig(generated);
      expect(c.type === 'http-api-key' && c.create.response).toEqual({ key: 'secret.value', id: 'id' });
      expect(httpApiKeyStrategiesOf(c as never)).toEqual(['renew']);
      expect(httpApiKeyStrategiesOf(parseTargetConfig(valid) as never)).toEqual(['dual-key']);
    });

    it('refuses {{key}} in create, a create without {{keyName}}, no list, and a revoke by {{key}} only', () => {
      const { list: _list, ...withoutList } = generated;
      const p = problems({
        ...withoutList,
        create: { ...generated.create, body: { key: '{{key}}' } },
        revoke: { method: 'POST', path: '/v1/revoke', headers: admin, body: { key: '{{key}}' } },
      });
      expect(p).toContain('create: must not send {{key}} with create.response.key: the provider makes the key and answers it');
      expect(p).toContain('create: must name the key {{keyName}} with create.response.key');
      expect(p).toContain('list: is needed with create.response.key');
      expect(p).toContain('revoke: must name {{keyId}} or {{keyName}} with create.response.key');
      expect(problems({ ...generated, create: { ...generated.create, response: { key: '' } } })).toContain('create.response.key: must be a dotted path such as secret or data.key');
      expect(problems({ ...generated, create: { ...generated.create, response: { id: 'id' } } })).toContain('create.response.key: must be the dotted path of the key');
      // Without response.key, the old rule names the new way out.
      expect(problems({ ...valid, create: { ...valid.create, body: { name: '{{keyName}}' } } })).toContain('or set create.response.key when the provider makes the key and answers it');
    });

    const yaml = (createResponse: boolean, strategy: string, type = 'database-credential') => `version: 1
targets:
  api:
    type: http-api-key
    baseUrl: https://api.example.com
    account: acct_1
    admin: admin/api
    create: { path: /v1/keys, headers: { Authorization: "Bearer {{admin.password}}" }, body: ${createResponse ? '{ name: "{{keyName}}" }, response: { key: secret }' : '{ name: "{{keyName}}", key: "{{key}}" }'} }
    test: { path: /v1/whoami, headers: { Authorization: "Bearer {{key}}" } }
    list: { path: /v1/keys, headers: { Authorization: "Bearer {{admin.password}}" } }
    revoke: { path: "/v1/keys/{{keyId}}", headers: { Authorization: "Bearer {{admin.password}}" } }
secrets:
  admin/api:
    type: database-credential
    initial: { username: ops, password: token-0123456789 }
  app/api-key:
    type: ${type}
    target: api
    strategy: ${strategy}
`;
    const refusal = (text: string): string => {
      try {
        parseConfig(text, {});
      } catch (e) {
        if (isKeyturnError(e)) return e.message;
        throw e;
      }
      throw new Error('expected the config to be refused');
    };

    it('a database-credential renews on such a target; dual-key is refused there, renew on a target whose create sends {{key}}', () => {
      expect(parseConfig(yaml(true, 'renew'), {}).secrets['app/api-key']?.strategy).toBe('renew');
      expect(parseConfig(yaml(false, 'dual-key'), {}).secrets['app/api-key']?.strategy).toBe('dual-key');
      expect(refusal(yaml(true, 'dual-key'))).toContain('the provider makes the key (create.response.key), so dual-key');
      expect(refusal(yaml(false, 'renew'))).toContain('renew is for a provider that makes the key (create.response.key)');
      expect(refusal(yaml(true, 'renew', 'app-secret'))).toContain('renew is for a certificate, a signing-key, or a database-credential whose target makes the key');
    });
  });
});
