/**
 * The Vault store (src/stores/vault/) against the local Vault server (test/servers/vault/): the
 * SecretStore contract, then what is Vault's own: config errors, token / AppRole / Kubernetes
 * logins and a fresh login after the token expires, the namespace header, a refused token, a
 * Vault that is down, sealed or throttling, values kept out of errors, what another Vault client
 * reading `<mount>/data/<path>` sees, and racing writers in separate store instances (as two
 * Keyturn processes would be).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { expectCode, rejection, runStoreContract } from '../src/contracts/store-contract.js';
import { DAY_MS, manualClock, type Clock } from '../src/core/clock.js';
import { isKeyturnError, KeyturnError } from '../src/core/errors.js';
import { issueLines } from '../src/core/issues.js';
import type { StoreDeps } from '../src/stores/deps.js';
import type { SecretStore } from '../src/stores/store.js';
import { vaultStoreEntry } from '../src/stores/vault/entry.js';
import { configSchema } from '../src/stores/vault/module.js';
import { makeCa, makeLeaf } from './helpers/certs.js';
import { startVaultServer, type VaultServer } from './servers/vault/server.js';

interface Limits {
  maxValueBytes: number;
  maxVersions: number;
  retentionMs: number;
  purgeProtection: boolean;
}

const LIMITS: Limits = { maxValueBytes: 64 * 1024, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true };

/** What prepareStore does with an outside store's entry: load, check the config (KT_STORE_CONFIG_INVALID per key), create. */
async function makeStore(input: Record<string, unknown>, clock: Clock, env: Record<string, string> = {}, limits: Limits = LIMITS): Promise<SecretStore> {
  const module = await vaultStoreEntry.load();
  const parsed = module.configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = issueLines(parsed.error.issues);
    throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the store configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
  }
  const settings = {
    maxValueBytes: limits.maxValueBytes,
    maxVersions: limits.maxVersions,
    retentionDays: limits.retentionMs / DAY_MS,
    purgeProtection: limits.purgeProtection,
  };
  Object.defineProperty(settings, 'envVar', { value: (name: string) => env[name], enumerable: false });
  const deps = { clock, settings } as unknown as StoreDeps;
  return module.create(parsed.data as { type: string }, deps);
}

runStoreContract({
  name: 'vault through its HTTP API (undici) against the local server',
  make: async ({ clock, options }) => {
    const server = await startVaultServer({ clock });
    const store = await makeStore({ type: 'vault', address: server.url, maxRetries: 1 }, clock, { VAULT_TOKEN: server.rootToken }, options);
    return {
      store,
      close: async () => {
        await store.close?.();
        await server.close();
      },
    };
  },
});

describe('the Vault store (against the local server)', () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const x of opened.splice(0).reverse()) await x.close();
  });

  async function server(options: Parameters<typeof startVaultServer>[0] = {}): Promise<VaultServer> {
    const s = await startVaultServer(options);
    opened.push(s);
    return s;
  }

  async function store(input: Record<string, unknown>, clock: Clock, env: Record<string, string> = {}, limits: Limits = LIMITS): Promise<SecretStore> {
    const s = await makeStore(input, clock, env, limits);
    opened.push({ close: async () => s.close?.() });
    return s;
  }

  function tmpFile(name: string, text: string): string {
    const file = join(mkdtempSync(join(tmpdir(), 'kt-vault-')), name);
    writeFileSync(file, text);
    return file;
  }

  it('refuses a bad config with KT_STORE_CONFIG_INVALID, one problem per key, and has no field for a plaintext credential', async () => {
    const clock = manualClock();
    const bad = async (input: Record<string, unknown>): Promise<string[]> => {
      const e = await rejection(() => makeStore(input, clock));
      expect(e.code).toBe('KT_STORE_CONFIG_INVALID');
      return (e.details as { problems: string[] }).problems;
    };
    expect((await bad({ type: 'vault' })).join('\n')).toMatch(/address/);
    expect((await bad({ type: 'vault', address: 'ftp://vault' })).join('\n')).toMatch(/address/);
    expect((await bad({ type: 'vault', address: 'https://vault', mount: '/secret/' })).join('\n')).toMatch(/mount/);
    expect((await bad({ type: 'vault', address: 'https://vault', token: 'hvs.x' })).join('\n')).toMatch(/token/);
    expect((await bad({ type: 'vault', address: 'https://vault', auth: { method: 'approle', roleId: 'r', secretId: 's' } })).join('\n')).toMatch(/secretId/);
    expect((await bad({ type: 'vault', address: 'https://vault', auth: { method: 'ldap' } })).join('\n')).toMatch(/method/);
    expect(configSchema.parse({ type: 'vault', address: 'https://vault:8200' })).toMatchObject({ mount: 'secret', ledgerFolder: '~keyturn', auth: { method: 'token', tokenEnv: 'VAULT_TOKEN' } });
    expect(configSchema.parse({ type: 'vault', address: 'https://vault:8200', auth: { method: 'kubernetes', role: 'keyturn' } }).auth).toEqual({
      method: 'kubernetes',
      role: 'keyturn',
      mount: 'kubernetes',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    // A secret-id file that cannot be read is a config problem, found on first use.
    const vault = await server({ clock });
    const s = await store({ type: 'vault', address: vault.url, auth: { method: 'approle', roleId: 'r', secretIdFile: '/nonexistent/secret-id' } }, clock);
    await expectCode(() => s.get('a/b'), 'KT_STORE_CONFIG_INVALID');
  });

  it('what another Vault client reading <mount>/data/<path> sees: the current value, an object as plain JSON; stages in custom_metadata', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const s = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    await s.put('prod/db/app', { username: 'app', password: 'p1' });
    const v2 = await s.put('prod/db/app', { username: 'app', password: 'p2' });
    await s.put('prod/api/key', 'plain-string');
    const read = async (path: string) => {
      const res = await fetch(`${vault.url}/v1/secret/data/${path}`, { headers: { 'X-Vault-Token': vault.rootToken } });
      return (await res.json()) as { data: { data: Record<string, unknown>; metadata: { version: number; custom_metadata: Record<string, string> } } };
    };
    const db = await read('prod/db/app');
    expect(db.data.data).toEqual({ username: 'app', password: 'p2' });
    expect(db.data.metadata.version).toBe(v2.number);
    expect(db.data.metadata.custom_metadata).toMatchObject({ 'kt-current': '2', 'kt-previous': '1' });
    expect((await read('prod/api/key')).data.data).toEqual({ value: 'plain-string' });
    // A string that looks like JSON comes back a string (its kind is in the ledger).
    await s.put('prod/api/key', '{"a":1}');
    expect((await s.get('prod/api/key'))?.value).toBe('{"a":1}');
    // Vault's own max_versions is lifted above Keyturn's (its default of 10 would destroy staged versions).
    const meta = (await (await fetch(`${vault.url}/v1/secret/metadata/prod/db/app`, { headers: { 'X-Vault-Token': vault.rootToken } })).json()) as { data: { max_versions: number } };
    expect(meta.data.max_versions).toBe(LIMITS.maxVersions + 100);
    // A soft-deleted secret is hidden from other readers too (its versions are soft-deleted in Vault).
    await s.remove('prod/db/app');
    expect((await fetch(`${vault.url}/v1/secret/data/prod/db/app`, { headers: { 'X-Vault-Token': vault.rootToken } })).status).toBe(404);
    await s.restore('prod/db/app');
    expect((await read('prod/db/app')).data.data).toEqual({ username: 'app', password: 'p2' });
  });

  it('adopts a secret another Vault client wrote: its versions get ids vault-<n>, the newest is current', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    for (const password of ['a', 'b']) {
      await fetch(`${vault.url}/v1/secret/data/legacy/db`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken }, body: JSON.stringify({ data: { password } }) });
    }
    const s = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    expect(await s.get('legacy/db')).toMatchObject({ id: 'vault-2', number: 2, value: { password: 'b' } });
    const v3 = await s.put('legacy/db', { password: 'c' }, { expectCurrentVersion: 2 });
    expect(v3.number).toBe(3);
    expect((await s.versions('legacy/db')).map((v) => [v.id, v.stages])).toEqual([
      [v3.id, ['current']],
      ['vault-2', ['previous']],
      ['vault-1', []],
    ]);
    // Another client writes behind Keyturn's back: its version is adopted unstaged, and numbering goes on.
    await fetch(`${vault.url}/v1/secret/data/legacy/db`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken }, body: JSON.stringify({ data: { password: 'x' } }) });
    const v5 = await s.put('legacy/db', { password: 'd' });
    expect(v5.number).toBe(5);
    expect((await s.versions('legacy/db')).map((v) => v.id)).toEqual([v5.id, 'vault-4', v3.id, 'vault-2', 'vault-1']);
    // Listing shows the mount's secrets Keyturn can name (another client's too), never the ledger folder.
    await fetch(`${vault.url}/v1/secret/data/other%20client/x`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken }, body: JSON.stringify({ data: { a: '1' } }) });
    await fetch(`${vault.url}/v1/secret/data/plain/y`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken }, body: JSON.stringify({ data: { a: '1' } }) });
    const listed: string[] = [];
    for await (const p of s.list('')) listed.push(p);
    expect(listed).toEqual(['legacy/db', 'plain/y']);
  });

  it('a token from VAULT_TOKEN or a token file; a refused token is KT_STORE_AUTH_FAILED and no value is in the message', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const none = await store({ type: 'vault', address: vault.url }, clock, {});
    expect((await rejection(() => none.get('a/b'))).code).toBe('KT_STORE_AUTH_FAILED');
    const wrong = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: 'hvs.wrong' });
    const refused = await rejection(() => wrong.put('a/b', 'the-secret-value'));
    expect(refused.code).toBe('KT_STORE_AUTH_FAILED');
    expect(refused.message).toMatch(/permission denied/);
    expect(JSON.stringify({ m: refused.message, d: refused.details })).not.toContain('the-secret-value');
    expect(refused.message).not.toContain('hvs.wrong');
    // A token file (a Vault Agent sink) is read again after a 403: a rotated token is picked up.
    const tokenFile = tmpFile('token', 'hvs.stale\n');
    const fromFile = await store({ type: 'vault', address: vault.url, auth: { method: 'token', tokenFile } }, clock);
    expect((await rejection(() => fromFile.get('a/b'))).code).toBe('KT_STORE_AUTH_FAILED');
    writeFileSync(tokenFile, `${vault.rootToken}\n`);
    expect((await fromFile.put('a/b', 'v')).number).toBe(1);
    // Another env var name.
    const named = await store({ type: 'vault', address: vault.url, auth: { method: 'token', tokenEnv: 'KT_VAULT' } }, clock, { KT_VAULT: vault.rootToken });
    expect((await named.get('a/b'))?.value).toBe('v');
  });

  it('AppRole: logs in with the role id and the secret id from its file, and again when the token expires', async () => {
    const clock = manualClock();
    const vault = await server({ clock, approle: { roles: { keyturn: { roleId: 'role-1', secretId: 'sid-1' } } }, tokenTtlSeconds: 60 });
    const s = await store({ type: 'vault', address: vault.url, auth: { method: 'approle', roleId: 'role-1', secretIdFile: tmpFile('sid', 'sid-1\n') } }, clock);
    await s.put('app/k', 'one');
    expect(vault.logins.approle).toBe(1);
    // The server ends the token early (revoked, or a TTL the client did not know): 403, a fresh login, the call goes through.
    vault.expireLoginTokens();
    expect((await s.get('app/k'))?.value).toBe('one');
    expect(vault.logins.approle).toBe(2);
    // Past the lease by the clock: the store logs in before sending.
    clock.advance(61_000);
    await s.put('app/k', 'two');
    expect(vault.logins.approle).toBe(3);
    const badSecret = await store({ type: 'vault', address: vault.url, auth: { method: 'approle', roleId: 'role-1', secretIdFile: tmpFile('sid', 'nope') } }, clock);
    const e = await rejection(() => badSecret.get('app/k'));
    expect(e.code).toBe('KT_STORE_AUTH_FAILED');
    expect(e.message).toMatch(/approle login was refused.*invalid role or secret ID/);
    expect(e.message).not.toContain('nope');
  });

  it('Kubernetes auth: the service-account JWT from its file, checked by Vault against the signing key and the role', async () => {
    const clock = manualClock(Date.now());
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const vault = await server({ clock, kubernetes: { key: publicKey, roles: { keyturn: { serviceAccountNames: ['keyturn'], namespaces: ['secrets'] } } } });
    const jwt = async (name: string) =>
      new SignJWT({ 'kubernetes.io': { namespace: 'secrets', serviceaccount: { name } } })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('https://kubernetes.default.svc')
        .setSubject(`system:serviceaccount:secrets:${name}`)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
    const s = await store({ type: 'vault', address: vault.url, auth: { method: 'kubernetes', role: 'keyturn', tokenFile: tmpFile('token', await jwt('keyturn')) } }, clock);
    await s.put('k8s/secret', { a: '1' });
    expect(vault.logins.kubernetes).toBe(1);
    const other = await store({ type: 'vault', address: vault.url, auth: { method: 'kubernetes', role: 'keyturn', tokenFile: tmpFile('token', await jwt('intruder')) } }, clock);
    expect((await rejection(() => other.get('k8s/secret'))).code).toBe('KT_STORE_AUTH_FAILED');
    const forged = (await generateKeyPair('RS256')).privateKey;
    const forgedJwt = await new SignJWT({ 'kubernetes.io': { namespace: 'secrets', serviceaccount: { name: 'keyturn' } } }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(forged);
    const bad = await store({ type: 'vault', address: vault.url, auth: { method: 'kubernetes', role: 'keyturn', tokenFile: tmpFile('token', forgedJwt) } }, clock);
    expect((await rejection(() => bad.get('k8s/secret'))).code).toBe('KT_STORE_AUTH_FAILED');
  });

  it('the namespace goes to Vault as X-Vault-Namespace, on logins too; each namespace has its own secrets', async () => {
    const clock = manualClock();
    const vault = await server({ clock, approle: { roles: { keyturn: { roleId: 'r', secretId: 's' } } } });
    const a = await store({ type: 'vault', address: vault.url, namespace: 'team-a', auth: { method: 'approle', roleId: 'r', secretIdFile: tmpFile('sid', 's') } }, clock);
    const root = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    await a.put('ns/secret', 'in team-a');
    expect(vault.requests.length).toBeGreaterThan(0);
    expect(vault.requests.filter((r) => r.path !== '/v1/auth/token/lookup-self').every((r) => r.namespace === 'team-a')).toBe(true);
    expect(vault.requests.some((r) => r.path === '/v1/auth/approle/login' && r.namespace === 'team-a')).toBe(true);
    expect(vault.kv('secret', 'team-a').size).toBeGreaterThan(0);
    expect(await root.get('ns/secret')).toBeNull();
    expect((await a.get('ns/secret'))?.value).toBe('in team-a');
  });

  it('a Vault that is down, or sealed through every retry, is KT_STORE_UNAVAILABLE; throttling within the retries is absorbed', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const s = await store({ type: 'vault', address: vault.url, maxRetries: 2 }, clock, { VAULT_TOKEN: vault.rootToken });
    await s.put('t/k', 'one');
    vault.throttle(2, 0);
    expect((await s.get('t/k'))?.value).toBe('one');
    const throttled = vault.requests.length;
    vault.throttle(5, 0);
    const e429 = await rejection(() => s.get('t/k'));
    expect(e429.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e429.message).toMatch(/429 .*rate limit quota exceeded/);
    expect(vault.requests.length - throttled).toBe(3);
    vault.throttle(0);
    vault.seal(true);
    const sealed = await rejection(() => s.put('t/k', 'secret-two'));
    expect(sealed.code).toBe('KT_STORE_UNAVAILABLE');
    expect(sealed.message).toMatch(/503 Vault is sealed/);
    expect(sealed.message).not.toContain('secret-two');
    vault.seal(false);
    expect((await s.get('t/k'))?.value).toBe('one');
    await vault.close();
    const down = await rejection(() => s.get('t/k'));
    expect(down.code).toBe('KT_STORE_UNAVAILABLE');
    expect(down.message).toContain(vault.url);
  });

  it("HTTPS: Vault's certificate is trusted through caCertFile; without it the call fails at once, naming caCertFile", async () => {
    const clock = manualClock();
    const ca = await makeCa(mkdtempSync(join(tmpdir(), 'kt-vault-ca-')));
    const leaf = await makeLeaf(ca, { name: 'vault', cn: 'vault.test', sans: ['IP:127.0.0.1'] });
    const vault = await server({ clock, tls: { key: leaf.key, cert: readFileSync(leaf.chainFile, 'utf8') } });
    const trusted = await store({ type: 'vault', address: vault.url, caCertFile: ca.certFile }, clock, { VAULT_TOKEN: vault.rootToken });
    expect((await trusted.put('tls/k', 'v')).number).toBe(1);
    const untrusted = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    const e = await rejection(() => untrusted.get('tls/k'));
    expect(e.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e.message).toMatch(/caCertFile/);
  });

  it('two store instances (two Keyturn processes) racing: one stage move wins, one put per expected version wins', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const one = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    const two = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    for (let round = 0; round < 5; round++) {
      const path = `race/${round}`;
      const v1 = await one.put(path, 'one');
      const a = await one.put(path, 'a', { stages: [] });
      const b = await two.put(path, 'b', { stages: [] });
      const moves = await Promise.allSettled([one.moveStage(path, 'current', a.id, v1.id), two.moveStage(path, 'current', b.id, v1.id)]);
      expect(moves.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(moves.some((r) => r.status === 'rejected' && isKeyturnError(r.reason, 'KT_STAGE_CONFLICT'))).toBe(true);
      expect((await two.get(path, { stage: 'previous' }))?.id).toBe(v1.id);
      const puts = await Promise.allSettled([
        one.put(path, 'x', { expectCurrentVersion: (await one.describe(path))!.currentVersion!.number }),
        two.put(path, 'y', { expectCurrentVersion: (await two.describe(path))!.currentVersion!.number }),
      ]);
      expect(puts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((await one.versions(path)).map((v) => v.number)).toEqual([4, 3, 2, 1]);
    }
  });

  it("exact interleavings: a stage move whose ledger write lands second is refused by Vault's cas, and a put waits for another put's claim", async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const one = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    const two = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    const ledgerPath = '/v1/secret/data/~keyturn/x/k';
    const v1 = await one.put('x/k', 'one');
    const a = await one.put('x/k', 'a', { stages: [] });
    const b = await two.put('x/k', 'b', { stages: [] });

    // one has read the ledger and is about to write its move; two moves first.
    const held = vault.hold((r) => r.method === 'POST' && r.path === ledgerPath);
    const late = one.moveStage('x/k', 'current', a.id, v1.id).then(
      () => null,
      (e: unknown) => e,
    );
    const record = await held.arrived;
    await two.moveStage('x/k', 'current', b.id, v1.id);
    held.release();
    expect(isKeyturnError(await late, 'KT_STAGE_CONFLICT')).toBe(true);
    expect(record.status).toBe(400); // Vault's check-and-set refused the late write
    expect((await one.get('x/k'))?.id).toBe(b.id);
    expect((await one.get('x/k', { stage: 'previous' }))?.id).toBe(v1.id);

    // one has claimed version 4 and its data write is held: two's put waits for the claim, then is refused by its expectation.
    const data = vault.hold((r) => r.method === 'POST' && r.path === '/v1/secret/data/x/k');
    const first = one.put('x/k', 'c', { expectCurrentVersion: 3 });
    await data.arrived;
    const looked = vault.hold((r) => r.method === 'GET' && r.path === '/v1/secret/metadata/x/k');
    const second = two.put('x/k', 'd', { expectCurrentVersion: 3 }).then(
      () => null,
      (e: unknown) => e,
    );
    await looked.arrived; // two found the claim and looks whether its version landed
    looked.release();
    data.release();
    expect((await first).number).toBe(4);
    expect(await second).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 3, actual: 4 } });
    expect((await two.versions('x/k')).map((v) => v.number)).toEqual([4, 3, 2, 1]);
  });

  it('a claim left by a crashed writer is dropped after claimWaitMs, and the waiting put goes ahead', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const s = await store({ type: 'vault', address: vault.url, claimWaitMs: 50 }, clock, { VAULT_TOKEN: vault.rootToken });
    const v1 = await s.put('stale/k', 'one');
    const ledgerUrl = `${vault.url}/v1/secret/data/~keyturn/stale/k`;
    const headers = { 'X-Vault-Token': vault.rootToken };
    const read = (await (await fetch(ledgerUrl, { headers })).json()) as { data: { data: Record<string, unknown>; metadata: { version: number } } };
    const claimed = { ...read.data.data, claim: { number: 2, id: 'crashed-run', kind: 'string', stages: ['current'] } };
    await fetch(ledgerUrl, { method: 'POST', headers, body: JSON.stringify({ options: { cas: read.data.metadata.version }, data: claimed }) });
    // Another writer waits for the claim, then drops it and moves on.
    const v2 = await s.put('stale/k', 'two', { expectCurrentVersion: 1 });
    expect(v2).toMatchObject({ number: 2, stages: ['current'] });
    expect((await s.get('stale/k', { stage: 'previous' }))?.id).toBe(v1.id);
  });

  it('purgeVersion destroys an unstaged version past the retention hold, and says why not otherwise', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const s = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    const v1 = await s.put('pv/k', 'one');
    const v2 = await s.put('pv/k', 'two');
    const v3 = await s.put('pv/k', 'three');
    expect(await s.purgeVersion!('pv/k', v3.id)).toEqual({ outcome: 'staged', stages: ['current'] });
    expect(await s.purgeVersion!('pv/k', v1.id)).toEqual({ outcome: 'held', until: clock.now() + LIMITS.retentionMs });
    clock.advance(LIMITS.retentionMs);
    expect(await s.purgeVersion!('pv/k', v1.id)).toEqual({ outcome: 'purged' });
    expect(await s.purgeVersion!('pv/k', v1.id)).toEqual({ outcome: 'gone' });
    expect((await s.versions('pv/k')).map((v) => v.id)).toEqual([v3.id, v2.id]);
    await expectCode(() => s.get('pv/k', { versionId: v1.id }), 'KT_VERSION_NOT_FOUND');
    // Vault destroyed it: another client cannot read it either.
    expect((await fetch(`${vault.url}/v1/secret/data/pv/k?version=1`, { headers: { 'X-Vault-Token': vault.rootToken } })).status).toBe(404);
  });

  it('a put that crashed after claiming its number is finished by its retry with the same version id', async () => {
    const clock = manualClock();
    const vault = await server({ clock });
    const s = await store({ type: 'vault', address: vault.url }, clock, { VAULT_TOKEN: vault.rootToken });
    await s.put('crash/k', 'one');
    // What a crash leaves between the claim and the data write: a claim for version 2 in the ledger.
    const ledgerUrl = `${vault.url}/v1/secret/data/~keyturn/crash/k`;
    const headers = { 'X-Vault-Token': vault.rootToken };
    const read = (await (await fetch(ledgerUrl, { headers })).json()) as { data: { data: Record<string, unknown>; metadata: { version: number } } };
    const claimed = { ...read.data.data, claim: { number: 2, id: 'run-7', kind: 'string', stages: ['pending'] } };
    await fetch(ledgerUrl, { method: 'POST', headers, body: JSON.stringify({ options: { cas: read.data.metadata.version }, data: claimed }) });
    const again = await s.put('crash/k', 'two', { versionId: 'run-7', stages: ['pending'] });
    expect(again).toMatchObject({ id: 'run-7', number: 2, stages: ['pending'] });
    expect((await s.put('crash/k', 'two', { versionId: 'run-7', stages: ['pending'] })).number).toBe(2);
    await expectCode(() => s.put('crash/k', 'other', { versionId: 'run-7' }), 'KT_VERSION_CONFLICT');
    expect((await s.versions('crash/k')).map((v) => v.number)).toEqual([2, 1]);
  });
});
