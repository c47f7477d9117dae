/**
 * The http-api-key target against a local API-key provider of this process
 * (test/helpers/api-key-provider.ts): the Target contract (dual-key, nothing skipped), then what
 * is particular to an HTTP API: the limit of two active keys, rate limits (waited out, or
 * KT_TARGET_RATE_LIMITED), failures and lost answers, keys found by their name or the provider's
 * hint, a provider that ignores the key sent, revoke by the key itself, TLS with caFile, and no key
 * or admin token in any error or log line.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { newPassword, uniqueName } from '../src/contracts/names.js';
import { keyName } from '../src/targets/http-api-key/keys.js';
import { createTarget } from '../src/targets/registry.js';
import type { Credential, Target, TargetContext } from '../src/targets/target.js';
import { apiKeyProvider } from './helpers/api-key-provider.js';
import { tempDir } from './helpers/state.js';
import { httpApiKeyFixture, providerConfig, type HttpApiKeyFixture } from './fixtures/targets/http-api-key.js';

runTargetContract({ name: 'http-api-key (local provider)', strategies: ['dual-key'], make: () => httpApiKeyFixture() });

/** The error `fn` throws (it must throw a KeyturnError). */
async function failure(fn: () => Promise<unknown>): Promise<KeyturnError> {
  try {
    await fn();
  } catch (e) {
    if (isKeyturnError(e)) return e;
    throw e;
  }
  throw new Error('expected a KeyturnError');
}

describe('http-api-key target: provider specifics', () => {
  let fx: HttpApiKeyFixture;
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger('trace', sink);
  const ctx = (overrides: Partial<TargetContext> = {}): TargetContext => fx.context('dual-key', '', { log, ...overrides });
  const secrets: string[] = [];

  async function account(): Promise<Credential> {
    const cred = { username: uniqueName('acct'), password: newPassword() };
    secrets.push(cred.password);
    await fx.createUser(cred.username, cred.password);
    return cred;
  }
  function next(of: Credential): Credential {
    const cred = { username: of.username, password: newPassword() };
    secrets.push(cred.password);
    return cred;
  }
  /** No key, no admin token in the error's text (message, details, JSON form). */
  function clean(e: KeyturnError): KeyturnError {
    const text = `${e.message} ${JSON.stringify(e.toJSON())} ${e.stack ?? ''}`;
    for (const s of [...secrets, fx.provider.adminToken, fx.provider.readOnlyToken]) expect(text.includes(s), `${e.code} shows a secret`).toBe(false);
    return e;
  }

  beforeAll(async () => {
    fx = await httpApiKeyFixture();
    secrets.push(fx.provider.adminToken);
  });
  afterEach(() => {
    const logs = lines.splice(0).join('');
    for (const s of [...secrets, fx.provider.adminToken]) expect(logs.includes(s), 'a secret reached a log line').toBe(false);
    fx.provider.maxActiveKeys = 2;
  });
  afterAll(async () => {
    await fx.close();
  });

  it('names each key it creates by its keyName; the old key is found by the provider hint and revoked', async () => {
    const old = await account();
    const k1 = next(old);
    await fx.target.set(ctx(), k1, old);
    const names = fx.provider.activeKeys(old.username).map((k) => k.name);
    expect(names).toEqual(['first-key', `keyturn ${keyName(k1.password)}`]);
    await fx.target.revoke!(ctx(), old);
    expect(fx.provider.activeKeys(old.username).map((k) => k.key)).toEqual([k1.password]);
  });

  it('a third key is KT_TARGET_KEY_LIMIT and changes nothing; once the old key is revoked the rotation goes through', async () => {
    const old = await account();
    const k1 = next(old);
    await fx.target.set(ctx(), k1, old);
    const k2 = next(old);
    const e = clean(await failure(() => fx.target.set(ctx(), k2, k1)));
    expect(e.code).toBe('KT_TARGET_KEY_LIMIT');
    expect(e.message).toContain('409');
    expect(fx.provider.activeKeys(old.username).map((k) => k.key)).toEqual([old.password, k1.password]);
    await fx.target.revoke!(ctx(), old);
    await fx.target.set(ctx(), k2, k1);
    expect(fx.provider.activeKeys(old.username).map((k) => k.key)).toEqual([k1.password, k2.password]);
  });

  it('a 429 with a short Retry-After is waited out and sent again; a long one is KT_TARGET_RATE_LIMITED and creates nothing', async () => {
    const old = await account();
    const k1 = next(old);
    fx.provider.rateLimitNext(2, 0, 'create');
    await fx.target.set(ctx(), k1, old);
    expect(fx.provider.isActive(old.username, k1.password)).toBe(true);
    const creates = fx.provider.requests.filter((r) => r.route === 'create').slice(-3);
    expect(creates.map((r) => r.status)).toEqual([429, 429, 201]);

    await fx.target.revoke!(ctx(), old);
    const k2 = next(old);
    fx.provider.rateLimitNext(1, 3600, 'create');
    const e = clean(await failure(() => fx.target.set(ctx(), k2, k1)));
    expect(e.code).toBe('KT_TARGET_RATE_LIMITED');
    expect(e.message).toContain('Retry-After 3600 s');
    expect(e.details.retryAfterMs).toBe(3_600_000);
    expect(fx.provider.isActive(old.username, k2.password)).toBe(false);

    // Three 429s in a row are too many even when each is short; none without Retry-After is waited either.
    fx.provider.rateLimitNext(3, 0, 'test');
    expect(clean(await failure(() => fx.target.test(ctx(), k1))).code).toBe('KT_TARGET_RATE_LIMITED');
    fx.provider.rateLimitNext(1, null, 'test');
    expect(clean(await failure(() => fx.target.test(ctx(), k1))).message).toContain('no Retry-After');
    await fx.target.test(ctx(), k1);
  });

  it('maxRetryAfterMs 0 never waits', async () => {
    const t = createTarget({ ...fx.config(), maxRetryAfterMs: 0 });
    const old = await account();
    fx.provider.rateLimitNext(1, 0, 'test');
    expect(clean(await failure(() => t.test(ctx(), old))).code).toBe('KT_TARGET_RATE_LIMITED');
  });

  it('a 500 is KT_TARGET_UNAVAILABLE; the next set creates the key once', async () => {
    const old = await account();
    const k1 = next(old);
    fx.provider.failNext(1, 'create');
    expect(clean(await failure(() => fx.target.set(ctx(), k1, old))).code).toBe('KT_TARGET_UNAVAILABLE');
    expect(fx.provider.isActive(old.username, k1.password)).toBe(false);
    await fx.target.set(ctx(), k1, old);
    expect(await fx.unknownKeys(old.username, [old, k1])).toEqual([]);
  });

  it('a create whose answer is lost: the key is there, a retried set adds nothing, and revoke finds it by name', async () => {
    const old = await account();
    const k1 = next(old);
    fx.provider.dropNext(1, 'create');
    expect(clean(await failure(() => fx.target.set(ctx(), k1, old))).code).toBe('KT_TARGET_UNAVAILABLE');
    expect(fx.provider.isActive(old.username, k1.password)).toBe(true);
    const before = fx.provider.requests.filter((r) => r.route === 'create').length;
    await fx.target.set(ctx(), k1, old);
    expect(fx.provider.requests.filter((r) => r.route === 'create').length).toBe(before);
    expect(fx.provider.activeKeys(old.username)).toHaveLength(2);
    await fx.target.revoke!(ctx(), k1);
    expect(fx.provider.activeKeys(old.username).map((k) => k.key)).toEqual([old.password]);
  });

  it('admin errors: a wrong token is KT_TARGET_AUTH_FAILED, the read-only token KT_TARGET_PERMISSION_DENIED, none KT_TARGET_ADMIN_REQUIRED; nothing changes', async () => {
    const old = await account();
    const k1 = next(old);
    const wrong = { username: 'keyturn', password: `adm_${newPassword()}` };
    secrets.push(wrong.password);
    const auth = clean(await failure(() => fx.target.set(ctx({ admin: wrong }), k1, old)));
    expect(auth).toMatchObject({ code: 'KT_TARGET_AUTH_FAILED', details: { username: 'keyturn', driverCode: 401 } });
    const denied = clean(await failure(async () => fx.target.set(ctx({ admin: await fx.weakAdmin() }), k1, old)));
    expect(denied).toMatchObject({ code: 'KT_TARGET_PERMISSION_DENIED', details: { username: 'reader', driverCode: 403 } });
    expect(clean(await failure(() => fx.target.set(ctx({ admin: null }), k1, old))).code).toBe('KT_TARGET_ADMIN_REQUIRED');
    expect(clean(await failure(() => fx.target.revoke!(ctx({ admin: wrong }), old))).code).toBe('KT_TARGET_AUTH_FAILED');
    expect(fx.provider.activeKeys(old.username).map((k) => k.key)).toEqual([old.password]);
  });

  it('a provider that makes its own key instead of the one sent: the key it made is revoked and set fails', async () => {
    const base = providerConfig(fx.provider.url);
    // The body puts the key where the provider reads nothing: it makes a key of its own.
    const ignoring = createTarget({ ...base, create: { ...base.create, body: { name: 'keyturn {{keyName}}', secret: '{{key}}' } } });
    const old = await account();
    const k1 = next(old);
    const e = clean(await failure(() => ignoring.set(ctx(), k1, old)));
    expect(e.code).toBe('KT_TARGET_PASSWORD_REJECTED');
    expect(e.message).toContain('{{key}}');
    expect(fx.provider.activeKeys(old.username).map((k) => k.name)).toEqual(['first-key']);
  });

  it('a key that still works but is neither named nor hinted is not revoked blindly', async () => {
    const base = providerConfig(fx.provider.url);
    const noHint = createTarget({ ...base, list: { ...base.list!, response: { items: 'data' } } });
    const old = await account();
    const e = clean(await failure(() => noHint.revoke!(ctx(), old)));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message).toContain('revoke it by hand');
    expect(fx.provider.isActive(old.username, old.password)).toBe(true);
    // Two listed keys whose hint fits: ambiguous, nothing revoked.
    const twin = `${old.password.slice(0, 4)}-twin-${old.password.slice(-4)}`;
    secrets.push(twin);
    fx.provider.addKey(old.username, twin, 'by-hand');
    expect(clean(await failure(() => fx.target.revoke!(ctx(), old))).message).toContain('2 listed keys have a hint that fits it');
    expect(fx.provider.activeKeys(old.username)).toHaveLength(2);
  });

  it('a list answer of another shape is KT_TARGET_FAILED', async () => {
    const base = providerConfig(fx.provider.url);
    const wrong = createTarget({ ...base, list: { ...base.list!, response: { items: 'items' } } });
    const old = await account();
    const k1 = next(old);
    await fx.target.set(ctx(), k1, old);
    const e = clean(await failure(() => wrong.revoke!(ctx(), k1)));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message).toContain('list.response');
  });

  it('revokes by the key itself when the revoke request names {{key}} (no list)', async () => {
    // A provider whose revoke takes the key in its body: the local one's test route stands in, so the call is sent and answered 2xx.
    const { list: _list, ...base } = providerConfig(fx.provider.url);
    const byValue = createTarget({ ...base, revoke: { method: 'GET', path: '/v1/whoami', headers: { Authorization: 'Bearer {{key}}' } } });
    const old = await account();
    const before = fx.provider.requests.length;
    await byValue.revoke!(ctx(), old);
    expect(fx.provider.requests.slice(before).map((r) => r.route)).toEqual(['test']);
  });

  it('an account that does not exist on test is a refused key; on revoke, nothing to do', async () => {
    const ghost = { username: uniqueName('acct'), password: newPassword() };
    secrets.push(ghost.password);
    expect(clean(await failure(() => fx.target.test(ctx(), ghost))).code).toBe('KT_TARGET_AUTH_FAILED');
    await fx.target.revoke!(ctx(), ghost);
  });
});

describe('http-api-key target: TLS', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  function selfSigned(name: string): { cert: string; key: string; certFile: string } {
    const certFile = join(tmp.dir, `${name}.crt`);
    const keyFile = join(tmp.dir, `${name}.key`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile };
  }

  it('trusts the provider through caFile; without it (or with another CA) the handshake fails with KT_TARGET_UNAVAILABLE', async () => {
    const own = selfSigned('provider');
    const other = selfSigned('other');
    const provider = await apiKeyProvider({ tls: { cert: own.cert, key: own.key } });
    try {
      provider.addAccount('acct_tls');
      const key = newPassword();
      provider.addKey('acct_tls', key, 'first-key');
      const ctx: TargetContext = {
        strategy: 'dual-key',
        admin: { username: 'keyturn', password: provider.adminToken },
        primaryUsername: '',
        log: createLogger('silent'),
        signal: AbortSignal.timeout(20_000),
      };
      const trusted: Target = createTarget({ ...providerConfig(provider.url), caFile: own.certFile });
      await trusted.test(ctx, { username: 'acct_tls', password: key });
      for (const t of [createTarget(providerConfig(provider.url)), createTarget({ ...providerConfig(provider.url), caFile: other.certFile })]) {
        const e = await failure(() => t.test(ctx, { username: 'acct_tls', password: key }));
        expect(e.code).toBe('KT_TARGET_UNAVAILABLE');
        expect(e.message).toContain('TLS handshake failed');
      }
      const missing = await failure(() => createTarget({ ...providerConfig(provider.url), caFile: join(tmp.dir, 'none.pem') }).test(ctx, { username: 'acct_tls', password: key }));
      expect(missing.code).toBe('KT_TARGET_CONFIG_INVALID');
    } finally {
      await provider.close();
    }
  });
});
