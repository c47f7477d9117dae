/**
 * The OCI Vault store through the official OCI SDK (oci-vault, oci-secrets, oci-common's config
 * file signer) against the local OCI Vault server (test/servers/oci): the store contract, plus
 * config errors, signatures refused, the service down, throttling absorbed by the SDK's retries,
 * values kept out of errors, and what an application reading OCI directly sees.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import * as common from 'oci-common';
import { SecretsClient } from 'oci-secrets';
import { VaultsClient } from 'oci-vault';
import { DAY_MS, manualClock, type Clock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import { expectCode, rejection, runStoreContract, type ContractOptions } from '../src/contracts/store-contract.js';
import type { StoreDeps } from '../src/stores/deps.js';
import type { SecretStore } from '../src/stores/store.js';
import { ociStoreEntry } from '../src/stores/oci/entry.js';
import { writeOciCredentials, type OciCredentials } from './servers/oci/credentials.js';
import { startOciServer, type OciServer } from './servers/oci/server.js';

const COMPARTMENT = 'ocid1.compartment.oc1..keyturntest';
const VAULT = 'ocid1.vault.oc1.us-ashburn-1.keyturntest';
const KEY = 'ocid1.key.oc1.us-ashburn-1.keyturntest';

let dir: string;
let creds: OciCredentials;
let stranger: OciCredentials;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kt-oci-'));
  creds = writeOciCredentials(dir);
  stranger = writeOciCredentials(dir, { name: 'stranger' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFor(server: OciServer, c: OciCredentials = creds, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'oci',
    region: 'us-ashburn-1',
    compartmentId: COMPARTMENT,
    vaultId: VAULT,
    keyId: KEY,
    prefix: 'kt-',
    endpoints: { vaults: server.url, secrets: server.url },
    auth: { type: 'config-file', file: c.configFile, profile: c.profile },
    ...extra,
  };
}

async function makeStore(config: Record<string, unknown>, clock: Clock, options: Partial<ContractOptions> = {}): Promise<SecretStore> {
  const module = await ociStoreEntry.load();
  const parsed = module.configSchema.parse(config) as { type: string };
  const settings = {
    maxValueBytes: options.maxValueBytes ?? 64 * 1024,
    maxVersions: options.maxVersions ?? 100,
    retentionDays: (options.retentionMs ?? 7 * DAY_MS) / DAY_MS,
    purgeProtection: options.purgeProtection ?? true,
  };
  return module.create(parsed, { clock, settings } as unknown as StoreDeps);
}

runStoreContract({
  name: 'oci through the OCI TypeScript SDK against the local server',
  make: async ({ clock, options }) => {
    const server = await startOciServer({ keys: [creds], clock, pageSize: 3 });
    const store = await makeStore(configFor(server), clock, options);
    return {
      store,
      close: async () => {
        await store.close?.();
        await server.close();
      },
    };
  },
  skip: {
    'purge protection holds a deleted secret until its recovery window ends':
      'OCI deletes a secret itself at its scheduled time and has no call to delete one sooner, so a purge after the window finds the secret already gone; Keyturn checks the window on purge and OCI deletes at its end (store-oci test "purge")',
    'without purge protection a deleted secret can be purged at once':
      'OCI has no immediate delete: a purge moves the deletion to the earliest time OCI allows, a day later, and the secret stays visible as deleted until then (store-oci test "purge")',
  },
});

describe('oci store', () => {
  let server: OciServer | undefined;
  let store: SecretStore | undefined;
  const clock = manualClock();

  async function open(opts: { keys?: OciCredentials[]; as?: OciCredentials; options?: Partial<ContractOptions> } = {}): Promise<{ server: OciServer; store: SecretStore }> {
    server = await startOciServer({ keys: opts.keys ?? [creds], clock });
    store = await makeStore(configFor(server, opts.as ?? creds), clock, opts.options);
    return { server, store };
  }

  afterEach(async () => {
    await store?.close?.();
    await server?.close();
    store = undefined;
    server = undefined;
  });

  test('a config that does not check is refused, one problem per key; no field takes a key', async () => {
    const module = await ociStoreEntry.load();
    const bad = module.configSchema.safeParse({ type: 'oci', region: 'Not A Region', compartmentId: 'x', vaultId: VAULT, keyId: KEY, privateKey: '-----BEGIN' });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['region', 'compartmentId']));
    expect(bad.error!.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
    const good = module.configSchema.parse({ type: 'oci', region: 'eu-frankfurt-1', compartmentId: COMPARTMENT, vaultId: VAULT, keyId: KEY });
    expect(good).toMatchObject({ auth: { type: 'config-file' } });
    expect(module.configSchema.safeParse({ type: 'oci', region: 'eu-frankfurt-1', compartmentId: COMPARTMENT, vaultId: VAULT, keyId: KEY, auth: { type: 'api-key', key: 'x' } }).success).toBe(false);
  });

  test('a key the service does not know is refused: KT_STORE_AUTH_FAILED', async () => {
    const { store: s } = await open({ as: stranger });
    const e = await rejection(() => s.put('app/k', 'the-value-1'));
    expect(e.code).toBe('KT_STORE_AUTH_FAILED');
    expect(e.message).toContain('NotAuthenticated');
    expect(e.message).not.toContain('the-value-1');
  });

  test('a signature by another key under a known keyId is refused: KT_STORE_AUTH_FAILED', async () => {
    const forged = join(dir, 'forged-config');
    const text = readFileSync(creds.configFile, 'utf8').replace(/^key_file=.*$/m, `key_file=${join(dir, 'stranger-key.pem')}`);
    writeFileSync(forged, text);
    const { store: s } = await open({ as: { ...creds, configFile: forged } });
    const e = await rejection(() => s.get('app/k'));
    expect(e.code).toBe('KT_STORE_AUTH_FAILED');
    expect(e.message).toContain('the signature does not match');
  });

  test('assertPurgeable says what purge would, changing nothing', async () => {
    const { store: s } = await open({ options: { purgeProtection: true } });
    await s.put('app/k', 'one');
    await expectCode(() => s.assertPurgeable!('app/k'), 'KT_SECRET_NOT_DELETED');
    await s.remove('app/k', { recoveryDays: 7 });
    await expectCode(() => s.assertPurgeable!('app/k'), 'KT_PURGE_PROTECTED');
    clock.advance(7 * DAY_MS - 1);
    await expectCode(() => s.assertPurgeable!('app/k'), 'KT_PURGE_PROTECTED');
    expect(await s.describe('app/k')).toMatchObject({ path: 'app/k', purgeAfter: clock.now() + 1 });
  });

  test('a config file that cannot be read: KT_STORE_AUTH_FAILED, and the store works once it can', async () => {
    const { server: srv } = await open();
    const file = join(dir, 'later-config');
    const s = await makeStore(configFor(srv, { ...creds, configFile: file }), clock);
    await expectCode(() => s.get('app/k'), 'KT_STORE_AUTH_FAILED');
    writeFileSync(file, readFileSync(creds.configFile, 'utf8'));
    expect(await s.get('app/k')).toBeNull();
    await s.close?.();
  });

  test('a service that is down: KT_STORE_UNAVAILABLE after the SDK retries', async () => {
    const { server: srv, store: s } = await open();
    await srv.close();
    await expectCode(() => s.get('app/k'), 'KT_STORE_UNAVAILABLE');
  });

  test('throttling (429 TooManyRequests) is absorbed by the SDK retries; past them it is KT_STORE_UNAVAILABLE', async () => {
    const { server: srv, store: s } = await open();
    await s.put('app/k', 'v1');
    srv.throttle(3);
    expect((await s.get('app/k'))?.value).toBe('v1');
    srv.throttle(1000);
    const e = await rejection(() => s.put('app/k', 'secret-value-xyz'));
    expect(e.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e.message).toContain('TooManyRequests');
    expect(e.message).not.toContain('secret-value-xyz');
    srv.throttle(0);
  });

  test('an application reading OCI directly sees Keyturn current as CURRENT and JSON as its text', async () => {
    const { server: srv, store: s } = await open();
    const v1 = await s.put('prod/db/app_user', { username: 'app', password: 'p1' }, { versionId: 'run:1' });
    const p = await s.put('prod/db/app_user', { username: 'app', password: 'p2' }, { stages: ['pending'], versionId: 'run:2' });
    const app = new SecretsClient({ authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(creds.configFile, creds.profile) });
    app.endpoint = srv.url;
    const read = async (stage: 'CURRENT' | 'PENDING' | 'PREVIOUS') => {
      const r = await app.getSecretBundleByName({ secretName: 'kt-prod__db__app_uuser', vaultId: VAULT, stage: stage as never });
      const content = (r.secretBundle.secretBundleContent as { content: string }).content;
      return { text: Buffer.from(content, 'base64').toString('utf8'), name: r.secretBundle.versionName, number: r.secretBundle.versionNumber };
    };
    expect(await read('CURRENT')).toEqual({ text: '{"username":"app","password":"p1"}', name: 'run_c1_j', number: 1 });
    expect(await read('PENDING')).toMatchObject({ text: '{"username":"app","password":"p2"}', number: 2 });
    await s.moveStage('prod/db/app_user', 'current', p.id, v1.id);
    expect(await read('CURRENT')).toMatchObject({ number: 2 });
    expect(await read('PREVIOUS')).toMatchObject({ number: 1 });
    // A string that looks like JSON stays a string.
    await s.put('app/raw', '{"a":1}');
    expect((await s.get('app/raw'))?.value).toBe('{"a":1}');
    app.close();
  });

  test('put with a version id is idempotent across store instances (a crashed Keyturn retrying)', async () => {
    const { server: srv, store: s } = await open();
    const first = await s.put('app/k', 'v1', { versionId: 'run-7' });
    const other = await makeStore(configFor(srv), clock);
    const again = await other.put('app/k', 'v1', { versionId: 'run-7' });
    expect(again).toMatchObject({ id: 'run-7', number: first.number });
    expect(await other.versions('app/k')).toHaveLength(1);
    await other.close?.();
  });

  test('purge: refused inside the window; at its end OCI has deleted the secret and the path is free again', async () => {
    const { store: s } = await open({ options: { purgeProtection: true } });
    await s.put('app/k', 'one');
    await s.remove('app/k', { recoveryDays: 7 });
    await expectCode(() => s.purge('app/k'), 'KT_PURGE_PROTECTED');
    clock.advance(7 * DAY_MS);
    expect(await s.describe('app/k')).toBeNull();
    await expectCode(() => s.purge('app/k'), 'KT_SECRET_NOT_FOUND');
    expect((await s.put('app/k', 'new')).number).toBe(1);
  });

  test('purge without protection moves the deletion to the earliest time OCI allows', async () => {
    const { store: s } = await open({ options: { purgeProtection: false } });
    await s.put('app/k', 'one');
    const removed = await s.remove('app/k');
    expect(removed.purgeAfter).toBeGreaterThan(clock.now() + 29 * DAY_MS);
    await s.purge('app/k');
    const info = await s.describe('app/k');
    expect(info?.purgeAfter).toBeLessThanOrEqual(clock.now() + DAY_MS + 10 * 60_000);
    clock.advance(DAY_MS + 10 * 60_000);
    expect(await s.describe('app/k')).toBeNull();
  });

  test('a recovery window past 30 days is held 30 days, what OCI allows', async () => {
    const { store: s } = await open();
    await s.put('app/k', 'one');
    const removed = await s.remove('app/k', { recoveryDays: 90 });
    expect(removed.purgeAfter).toBe(clock.now() + 30 * DAY_MS - 10 * 60_000);
  });

  test('every request is signed: the server counts no unsigned success', async () => {
    const { store: s } = await open();
    await s.put('app/k', 'v');
    const res = await fetch(`${server!.url}/20180608/secrets?compartmentId=${COMPARTMENT}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('NotAuthenticated');
  });

  test('the server honours opc-retry-token: the same token within 24 hours returns the first answer', async () => {
    const { server: srv } = await open();
    const vaults = new VaultsClient({ authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(creds.configFile, creds.profile) });
    vaults.endpoint = srv.url;
    const details = { compartmentId: COMPARTMENT, vaultId: VAULT, keyId: KEY, secretName: 'plain', secretContent: { contentType: 'BASE64', content: 'eA==' } as never };
    const a = await vaults.createSecret({ createSecretDetails: details, opcRetryToken: 'token-1' });
    const b = await vaults.createSecret({ createSecretDetails: details, opcRetryToken: 'token-1' });
    expect(b.secret.id).toBe(a.secret.id);
    await expect(vaults.createSecret({ createSecretDetails: details, opcRetryToken: 'token-2' })).rejects.toMatchObject({ statusCode: 409 });
    clock.advance(DAY_MS);
    await expect(vaults.createSecret({ createSecretDetails: details, opcRetryToken: 'token-1' })).rejects.toMatchObject({ statusCode: 409, serviceCode: 'Conflict' });
    vaults.close();
  });

  test('a put retried after its secret was deleted and purged creates it again (its retry token is not replayed)', async () => {
    const { store: s } = await open({ options: { purgeProtection: false } });
    await s.put('app/k', 'one', { versionId: 'r1' });
    await s.remove('app/k', { recoveryDays: 7 });
    clock.advance(7 * DAY_MS);
    expect(await s.describe('app/k')).toBeNull();
    expect(await s.put('app/k', 'two', { versionId: 'r1' })).toMatchObject({ number: 1, value: 'two' });
    expect((await s.get('app/k'))?.value).toBe('two');
  });

  test("a value past OCI's 25 KB bundle limit is refused before it is sent: KT_VALUE_TOO_LARGE", async () => {
    const { server: srv, store: s } = await open();
    const before = srv.requests;
    await expectCode(() => s.put('app/big', 'x'.repeat(25 * 1024 + 1)), 'KT_VALUE_TOO_LARGE');
    expect(srv.requests).toBe(before);
    expect((await s.put('app/big', 'x'.repeat(25 * 1024))).number).toBe(1);
  });

  test('the server is eventually consistent as OCI documents: a new secret is CREATING, then ACTIVE; a write meanwhile is 409 IncorrectState', async () => {
    const { server: srv } = await open();
    const vaults = new VaultsClient(
      { authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(creds.configFile, creds.profile) },
      { retryConfiguration: common.NoRetryConfigurationDetails },
    );
    vaults.endpoint = srv.url;
    const details = { compartmentId: COMPARTMENT, vaultId: VAULT, keyId: KEY, secretName: 'settling', secretContent: { contentType: 'BASE64', content: 'eA==' } as never };
    const created = await vaults.createSecret({ createSecretDetails: details });
    expect(created.secret.lifecycleState).toBe('CREATING');
    await expect(vaults.updateSecret({ secretId: created.secret.id, updateSecretDetails: { description: 'x' } })).rejects.toMatchObject({ statusCode: 409, serviceCode: 'IncorrectState' });
    expect((await vaults.getSecret({ secretId: created.secret.id })).secret.lifecycleState).toBe('ACTIVE');
    const stale = await vaults.updateSecret({ secretId: created.secret.id, ifMatch: 'not-the-etag', updateSecretDetails: { description: 'y' } }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ statusCode: 412 });
    vaults.close();
  });

  test('a secret made outside Keyturn is adopted with OCI stages as its stages', async () => {
    const { server: srv, store: s } = await open();
    const vaults = new VaultsClient({ authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(creds.configFile, creds.profile) });
    vaults.endpoint = srv.url;
    const content = (text: string, stage?: 'PENDING') => ({ contentType: 'BASE64', content: Buffer.from(text).toString('base64'), ...(stage ? { stage } : {}) }) as never;
    const made = await vaults.createSecret({ createSecretDetails: { compartmentId: COMPARTMENT, vaultId: VAULT, keyId: KEY, secretName: 'kt-legacy__db', secretContent: content('old') } });
    await s.describe('legacy/db'); // lets the new secret settle
    await vaults.updateSecret({ secretId: made.secret.id, updateSecretDetails: { secretContent: content('new', 'PENDING') } });
    expect((await s.get('legacy/db'))?.value).toBe('old');
    expect(await s.versions('legacy/db')).toEqual([expect.objectContaining({ id: 'oci.2', number: 2, stages: ['pending'] }), expect.objectContaining({ id: 'oci.1', number: 1, stages: ['current'] })]);
    await s.moveStage('legacy/db', 'current', 'oci.2', 'oci.1');
    expect((await s.get('legacy/db'))?.value).toBe('new');
    expect((await s.get('legacy/db', { stage: 'previous' }))?.value).toBe('old');
    vaults.close();
  });

  test('errors never carry values', async () => {
    const { store: s } = await open();
    await s.put('app/k', 'super-secret-value', { versionId: 'x1' });
    const e = await rejection(() => s.put('app/k', 'another-secret-value', { versionId: 'x1' }));
    expect(isKeyturnError(e, 'KT_VERSION_CONFLICT')).toBe(true);
    expect(e.message).not.toContain('secret-value');
  });
});
