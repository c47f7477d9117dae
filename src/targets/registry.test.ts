import { describe, expect, it } from 'vitest';
import { createTarget, TARGET_TYPES, targetConfigSchema, targetRegistry } from './registry.js';
import { configProblems } from '../../test/helpers/target-config.js';

/** An http-api-key target for a provider that takes a key of the caller's choosing. */
const HTTP_API_KEY = {
  type: 'http-api-key' as const,
  baseUrl: 'https://api.example.com',
  create: { path: '/v1/keys', headers: { Authorization: 'Bearer {{admin.password}}' }, body: { name: '{{keyName}}', key: '{{key}}' } },
  test: { path: '/v1/whoami', headers: { Authorization: 'Bearer {{key}}' } },
  revoke: { path: '/v1/keys/{{keyName}}', headers: { Authorization: 'Bearer {{admin.password}}' } },
};

const problems = configProblems;

describe('target registry', () => {
  it('makes every type from its config, with defaults applied', () => {
    expect(TARGET_TYPES).toEqual([
      'postgres',
      'mysql',
      'redis',
      'ldap',
      'active-directory',
      'rabbitmq',
      'kerberos',
      'ssh',
      'script',
      'generic',
      'http-api-key',
      'internal-ca',
      'acme',
      'hsm-key',
      'signing-key',
    ]);
    expect(createTarget({ type: 'postgres', host: 'db', port: 5432, database: 'app' }).kind).toBe('postgres');
    expect(createTarget({ type: 'mysql', host: 'db', port: 3306 }).kind).toBe('mysql');
    expect(createTarget({ type: 'redis', host: 'cache', port: 6379, tls: true }).kind).toBe('redis');
    expect(createTarget({ type: 'ldap', url: 'ldaps://dir.example.org', userDn: 'uid={username},ou=people,dc=example,dc=org' }).kind).toBe('ldap');
    expect(createTarget({ type: 'active-directory', url: 'ldaps://dc1.corp.example.com', baseDn: 'DC=corp,DC=example,DC=com', domain: 'corp.example.com' }).kind).toBe('active-directory');
    expect(createTarget({ type: 'rabbitmq', host: 'mq', port: 5672 }).kind).toBe('rabbitmq');
    expect(createTarget({ type: 'script', set: ['/usr/local/bin/pw', 'set'], test: ['/usr/local/bin/pw', 'test'] }).kind).toBe('script');
    expect(createTarget({ type: 'kerberos', realm: 'EXAMPLE.ORG', host: 'kdc.example.org' }).kind).toBe('kerberos');
    expect(createTarget({ type: 'ssh', host: 'web1' }).kind).toBe('ssh');
    expect(createTarget({ type: 'generic' }).strategies).toEqual(['simple']);
    expect(createTarget(HTTP_API_KEY).strategies).toEqual(['dual-key']);
    expect(createTarget({ type: 'internal-ca', commonName: 'web', dnsNames: ['web.internal'] }).strategies).toEqual(['renew']);
    expect(createTarget({ type: 'hsm-key', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signing' }).strategies).toEqual(['renew']);
    expect(createTarget({ type: 'signing-key', alg: 'ES256' }).strategies).toEqual(['renew']);
    expect(targetConfigSchema.parse({ type: 'mysql', host: 'db', port: 3306 })).toEqual({ type: 'mysql', host: 'db', port: 3306, userHost: '%' });
    expect(targetConfigSchema.parse({ type: 'rabbitmq', host: 'mq', port: 5672 })).toEqual({ type: 'rabbitmq', host: 'mq', port: 5672, vhost: '/' });
  });

  it('each entry carries the strategies its target rotates with (what apply checks is what the target says)', () => {
    const configs: Record<string, Record<string, unknown>> = {
      postgres: { host: 'db', port: 5432, database: 'app' },
      mysql: { host: 'db', port: 3306 },
      redis: { host: 'cache', port: 6379 },
      ldap: { url: 'ldap://dir:389', startTls: true, userDn: 'cn={username},ou=svc,dc=example,dc=org' },
      'active-directory': { url: 'ldap://dc1:389', startTls: true, baseDn: 'DC=corp,DC=example,DC=com', domain: 'CORP' },
      rabbitmq: { host: 'mq', port: 5672 },
      script: { set: ['/usr/local/bin/pw', 'set'], test: ['/usr/local/bin/pw', 'test'] },
      kerberos: { realm: 'EXAMPLE.ORG', host: 'kdc', kadminLocal: true, keytab: { path: '/etc/app.keytab' } },
      ssh: { host: 'web1', hostKey: `SHA256:${'A'.repeat(43)}` },
      generic: {},
      'http-api-key': HTTP_API_KEY,
      'internal-ca': { commonName: 'web', dnsNames: ['web.internal'] },
      'hsm-key': { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signing' },
      'signing-key': { alg: 'EdDSA' },
    };
    for (const [type, config] of Object.entries(configs)) {
      const strategies = createTarget({ type, ...config } as Parameters<typeof createTarget>[0]).strategies;
      // http-api-key: one mode per config (dual-key when Keyturn makes the key, renew when the provider does), both in its entry.
      if (type === 'http-api-key') expect(targetRegistry.find(type)?.strategies).toEqual(expect.arrayContaining([...strategies]));
      else expect(strategies).toEqual(targetRegistry.find(type)?.strategies);
    }
    expect(targetRegistry.entry('generic').strategies).toEqual(['simple']);
  });

  it('reports each problem by key with what is expected', () => {
    expect(problems({ type: 'oracle' })).toContain(
      'type: type must be one of: postgres, mysql, redis, ldap, active-directory, rabbitmq, kerberos, ssh, script, generic, http-api-key, internal-ca, acme, hsm-key, signing-key',
    );
    expect(problems('postgres')).toContain('a target must be an object with a type');
    const pg = problems({ type: 'postgres', host: '', port: 70000, ssl: 'yes', extra: 1 });
    expect(pg).toContain('host: must be a host name or IP address');
    expect(pg).toContain('port: must be a whole number from 1 to 65535');
    expect(pg).toContain('database: must name the database to connect to');
    expect(pg).toContain('ssl: must be true or false');
    expect(pg).toContain('"extra"');
    expect(problems({ type: 'redis', host: 'redis://cache', port: 6379, connectTimeoutMs: 5 })).toMatch(/host: must be a bare host name.*connectTimeoutMs: must be at least 100 ms/);
    expect(problems({ type: 'rabbitmq', host: 'mq', port: 5672, managementUrl: 'http://guest:guest@mq:15672', vhost: '' })).toMatch(
      /vhost: must name a virtual host.*managementUrl: must be an http:\/\/ or https:\/\/ URL/s,
    );
    expect(problems({ type: 'generic', host: 'x' })).toContain('"host"');
    const ldap = problems({ type: 'ldap', url: 'ldaps://dir/ou=x?cn', startTls: true, userDn: 'ou=people,dc=example,dc=org', timeoutMs: 5 });
    expect(ldap).toContain('url: must be an ldap:// or ldaps:// URL with a host and an optional port');
    expect(ldap).toContain('userDn: must be a DN template whose first RDN is <attribute>={username}');
    expect(ldap).toContain('timeoutMs: must be at least 100 ms');
    expect(problems({ type: 'ldap', url: 'ldaps://dir', startTls: true, userDn: 'uid={username},dc=x' })).toContain('startTls: cannot be used with an ldaps:// URL');
    const ad = problems({ type: 'active-directory', url: 'ldap://dc1', baseDn: '', domain: 'not a domain' });
    expect(ad).toContain('url: a domain controller takes passwords only over TLS');
    expect(ad).toContain('baseDn: must be a DN');
    expect(ad).toContain('domain: must be a DNS domain');
    const krb = problems({ type: 'kerberos', realm: 'EXAMPLE ORG', host: 'kdc', keytab: { path: 'app.keytab', mode: '0666' }, toolsDir: '/opt/a:b' });
    expect(krb).toContain('realm: must be a realm name');
    expect(krb).toContain('keytab.path: must be the absolute path of the keytab file');
    expect(krb).toContain('keytab.mode: must not let group or others write');
    expect(krb).toContain('toolsDir: must not contain');
    expect(targetConfigSchema.parse({ type: 'kerberos', realm: 'EXAMPLE.ORG', host: 'kdc', keytab: { path: '/etc/app.keytab' } })).toEqual({
      type: 'kerberos',
      realm: 'EXAMPLE.ORG',
      host: 'kdc',
      port: 88,
      adminPort: 749,
      kpasswdPort: 464,
      keytab: { path: '/etc/app.keytab', mode: '0600' },
    });
    const ssh = problems({ type: 'ssh', host: 'web1', port: 0, authorizedKeysPath: '.ssh/authorized_keys', hostKey: 'MD5:aa:bb' });
    expect(ssh).toContain('port: must be a whole number from 1 to 65535');
    expect(ssh).toContain('authorizedKeysPath: must start with "~{username}/" (the home directory) or "/"');
    expect(ssh).toContain('hostKey: must be a host key fingerprint');
    expect(problems({ type: 'ssh', host: 'web1', authorizedKeysPath: '/etc/ssh/keys/../{username}' })).toContain('authorizedKeysPath: must not contain ".."');
    expect(targetConfigSchema.parse({ type: 'ssh', host: 'web1' })).toEqual({ type: 'ssh', host: 'web1', port: 22, authorizedKeysPath: '~{username}/.ssh/authorized_keys' });
  });
});
