/**
 * The Azure store signing in the product's way: DefaultAzureCredential from the environment a
 * deployment sets (AKS workload identity: AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST; or a service principal's AZURE_CLIENT_SECRET),
 * at the local server's Entra ID authority, with the store's `disableInstanceDiscovery` and
 * `caCertFile`: no credential handed in. Refused secrets and federated tokens are
 * KT_STORE_AUTH_FAILED without the secret in the message; an unreadable caCertFile is
 * KT_STORE_CONFIG_INVALID.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import { rejection } from '../src/contracts/store-contract.js';
import { create } from '../src/stores/azure/module.js';
import type { SecretStore } from '../src/stores/store.js';
import { startAzureServer, type AzureServer } from './servers/azure/server.js';
import { sqliteState, tempDir, type TestState } from './helpers/state.js';

const VARS = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST', 'AZURE_TOKEN_CREDENTIALS'] as const;

let server: AzureServer;
let tmp: ReturnType<typeof tempDir>;
let caFile: string;
const saved = new Map(VARS.map((v) => [v, process.env[v]]));
const open: { store: SecretStore; state: TestState }[] = [];

beforeAll(async () => {
  server = await startAzureServer();
  tmp = tempDir('kt-azure-signin-');
  caFile = join(tmp.dir, 'ca.pem');
  writeFileSync(caFile, server.ca);
});

afterEach(async () => {
  for (const v of VARS) {
    if (saved.get(v) === undefined) delete process.env[v];
    else process.env[v] = saved.get(v);
  }
  for (const o of open.splice(0)) {
    await o.store.close?.();
    await o.state.close();
  }
});

afterAll(async () => {
  await server.close();
  tmp.remove();
});

/** A store made from its config alone (DefaultAzureCredential), after setting `env`. */
async function storeWith(env: Record<string, string>, config: Record<string, unknown> = {}): Promise<SecretStore> {
  for (const v of VARS) delete process.env[v];
  Object.assign(process.env, env);
  const clock = manualClock();
  const state = await sqliteState(clock);
  const store = create(
    { type: 'azure', vaultUrl: server.url, disableChallengeResourceVerification: true, disableInstanceDiscovery: true, caCertFile: caFile, pollIntervalMs: 1, ...config } as { type: string },
    { state: state.state, ring: state.ring, clock, settings: { maxValueBytes: 4096, maxVersions: 100, retentionDays: 7, purgeProtection: true } },
  );
  open.push({ store, state });
  return store;
}

function tokenFile(token: string, name: string): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, token, { mode: 0o600 });
  return file;
}

describe('azure store: signing in through DefaultAzureCredential at the local Entra ID authority', () => {
  it('workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST): the token endpoint takes the federated token and the vault the access token', async () => {
    const before = server.entra.tokenRequests.length;
    const store = await storeWith({
      AZURE_TENANT_ID: server.tenantId,
      AZURE_CLIENT_ID: server.entra.clientId,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile(await server.entra.federatedToken(), 'wi-token'),
      AZURE_AUTHORITY_HOST: server.entra.authorityHost,
    });
    const v = await store.put('app/wi', 'through workload identity');
    expect(await store.get('app/wi')).toMatchObject({ id: v.id, value: 'through workload identity' });
    expect(server.entra.tokenRequests.slice(before)).toEqual(['ok']);
  });

  it('a service principal (AZURE_CLIENT_SECRET), with the authority host in the store config instead of the environment', async () => {
    const before = server.entra.tokenRequests.length;
    const store = await storeWith(
      { AZURE_TENANT_ID: server.tenantId, AZURE_CLIENT_ID: server.entra.clientId, AZURE_CLIENT_SECRET: server.entra.clientSecret },
      { authorityHost: server.entra.authorityHost },
    );
    await store.put('app/sp', { username: 'app', password: 'p' });
    expect((await store.get('app/sp'))?.value).toEqual({ username: 'app', password: 'p' });
    expect(server.entra.tokenRequests.slice(before)).toEqual(['ok']);
  });

  it('a wrong client secret is KT_STORE_AUTH_FAILED, and the secret is not in the message', async () => {
    const wrong = 'kt~not-the-secret-0123456789';
    const store = await storeWith({ AZURE_TENANT_ID: server.tenantId, AZURE_CLIENT_ID: server.entra.clientId, AZURE_CLIENT_SECRET: wrong, AZURE_AUTHORITY_HOST: server.entra.authorityHost });
    const e = await rejection(() => store.get('app/sp'));
    expect(e).toMatchObject({ code: 'KT_STORE_AUTH_FAILED' });
    expect(String((e as Error).message)).toContain('AADSTS7000215');
    expect(JSON.stringify(e)).not.toContain(wrong);
  });

  it('a federated token signed by a key the issuer does not publish, or for another subject, is KT_STORE_AUTH_FAILED', async () => {
    for (const [i, token] of [await server.entra.federatedToken({ wrongKey: true }), await server.entra.federatedToken({ subject: 'system:serviceaccount:other:other' })].entries()) {
      const store = await storeWith({
        AZURE_TENANT_ID: server.tenantId,
        AZURE_CLIENT_ID: server.entra.clientId,
        AZURE_FEDERATED_TOKEN_FILE: tokenFile(token, `bad-token-${i}`),
        AZURE_AUTHORITY_HOST: server.entra.authorityHost,
      });
      expect(await rejection(() => store.get('app/wi'))).toMatchObject({ code: 'KT_STORE_AUTH_FAILED' });
    }
    expect(server.entra.tokenRequests.slice(-2)).toEqual(['invalid_client', 'invalid_client']);
  });

  it('an authority host that is not https, or a caCertFile that is empty, is KT_STORE_CONFIG_INVALID', async () => {
    for (const bad of [{ authorityHost: 'http://login.example.test' }, { authorityHost: 'not a url' }, { caCertFile: '' }, { disableInstanceDiscovery: 'yes' }]) {
      expect(await rejection(() => storeWith({}, bad)), JSON.stringify(bad)).toMatchObject({ code: 'KT_STORE_CONFIG_INVALID' });
    }
  });

  it('an unreadable caCertFile is KT_STORE_CONFIG_INVALID, naming the key', async () => {
    const store = await storeWith({}, { caCertFile: join(tmp.dir, 'missing.pem') });
    expect(await rejection(() => store.get('app/x'))).toMatchObject({ code: 'KT_STORE_CONFIG_INVALID', details: { key: 'caCertFile' } });
  });
});
