/**
 * The GCP Secret Manager store through the official @google-cloud/secret-manager client (gRPC)
 * against the local server (test/servers/gcp): the store contract, then what is particular to
 * GCP: config errors, credentials refused, the service down or throttling, values kept out of
 * errors, and what an application reading Secret Manager directly sees.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@google-cloud/secret-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, manualClock, type Clock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import { rejection, runStoreContract, type ContractOptions } from '../src/contracts/store-contract.js';
import type { StoreDeps } from '../src/stores/deps.js';
import { GcpStore } from '../src/stores/gcp/gcp-store.js';
import { configSchema, create } from '../src/stores/gcp/module.js';
import { gcpStoreEntry } from '../src/stores/gcp/entry.js';
import { secretIdOf, pathOfId } from '../src/stores/gcp/names.js';
import type { SecretStore } from '../src/stores/store.js';
import { seeded } from './helpers/seeded.js';
import { newServiceAccountKey } from './servers/gcp/auth.js';
import { RpcError } from './servers/gcp/model.js';
import { startGcpServer, type GcpServer } from './servers/gcp/server.js';

const PROJECT = 'keyturn-test';

async function all(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const dir = mkdtempSync(join(tmpdir(), 'kt-gcp-'));

/** Application Default Credentials for this process: a service-account key file the server trusts. */
function useCredentials(key: object): void {
  const file = join(dir, `key-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
}

function deps(clock: Clock, options: Partial<ContractOptions> = {}): StoreDeps {
  return {
    state: undefined as never,
    ring: undefined as never,
    clock,
    settings: {
      maxValueBytes: options.maxValueBytes ?? 64 * 1024,
      maxVersions: options.maxVersions ?? 100,
      retentionDays: (options.retentionMs ?? 7 * DAY_MS) / DAY_MS,
      purgeProtection: options.purgeProtection ?? true,
    },
  };
}

function storeFor(server: GcpServer, clock: Clock, options: Partial<ContractOptions> = {}, extra: Record<string, unknown> = {}): SecretStore {
  const config = configSchema.parse({ type: 'gcp', project: PROJECT, apiEndpoint: server.host, port: server.port, insecure: true, ...extra });
  return create(config, deps(clock, options));
}

runStoreContract({
  name: 'gcp through @google-cloud/secret-manager (gRPC) against the local server',
  make: async ({ clock, options }) => {
    const server = await startGcpServer({ clock });
    useCredentials(server.key);
    const store = storeFor(server, clock, options, { prefix: 'kt-' });
    return {
      store,
      close: async () => {
        await store.close?.();
        await server.close();
      },
    };
  },
});

describe('gcp store: particulars', () => {
  let server: GcpServer;
  const clock = manualClock();
  const stores: SecretStore[] = [];
  const open = (extra: Record<string, unknown> = {}, options: Partial<ContractOptions> = {}) => {
    const s = storeFor(server, clock, options, extra);
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await startGcpServer({ clock });
    useCredentials(server.key);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close?.();
    server.faults.resourceExhausted = 0;
    server.faults.unavailable = 0;
    server.deny = false;
    useCredentials(server.key);
  });
  afterAll(async () => {
    await server.close();
  });

  it('the entry loads the module; the config is strict and has no credential', async () => {
    const module = await gcpStoreEntry.load();
    expect(gcpStoreEntry.kind).toBe('gcp');
    expect(module.configSchema.safeParse({ type: 'gcp', project: PROJECT }).success).toBe(true);
    const bad = [
      { type: 'gcp' },
      { type: 'gcp', project: 'Bad Project' },
      { type: 'gcp', project: PROJECT, credentials: '{"private_key":"..."}' },
      { type: 'gcp', project: PROJECT, prefix: 'has/slash' },
      { type: 'gcp', project: PROJECT, insecure: true },
      { type: 'gcp', project: PROJECT, insecure: true, apiEndpoint: 'secretmanager.googleapis.com' },
      { type: 'gcp', project: PROJECT, location: 'Europe West' },
    ];
    for (const input of bad) expect(module.configSchema.safeParse(input).success, JSON.stringify(input)).toBe(false);
  });

  it('a bad config through prepareStore is KT_STORE_CONFIG_INVALID naming the key', async () => {
    const { prepareStore } = await import('../src/stores/registry.js');
    const e = await rejection(() => prepareStore({ type: 'gcp', project: PROJECT, insecure: true, apiEndpoint: '10.0.0.1' }, deps(clock) as never));
    expect(e.code).toBe('KT_STORE_CONFIG_INVALID');
    expect(e.message).toContain('insecure');
  });

  it('secret ids: paths map one to one onto [A-Za-z0-9_-]{1,255}, long ones by hash', () => {
    const paths = ['prod/db/app_user', 'prod/db.app', 'prod_/x', 'prod/_x', 'a.b/c', 'a_db/c', 'x'.repeat(512), `${'x'.repeat(511)}y`];
    const ids = paths.map((p) => secretIdOf('kt-', p));
    expect(new Set(ids).size).toBe(paths.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
    expect(ids[0]).toBe('kt-prod__db__app_uuser');
    for (const p of paths.slice(0, 6)) expect(pathOfId('kt-', secretIdOf('kt-', p))).toBe(p);
  });

  it('an application reading Secret Manager directly finds current, pending and previous as version aliases', async () => {
    const store = open({ prefix: 'app-' });
    const v1s = await store.put('prod/api/key', 'one');
    const v2s = await store.put('prod/api/key', { user: 'u', password: 'p' });
    const pending = await store.put('prod/api/key', 'three', { stages: ['pending'] });
    const client = new v1.SecretManagerServiceClient({ apiEndpoint: server.host, port: server.port, sslCreds: grpc.credentials.createInsecure() });
    const authz = (await (await client.auth.getClient()).getRequestHeaders()).get('authorization')!;
    const opts = { otherArgs: { headers: { authorization: authz } } };
    const name = `projects/${PROJECT}/secrets/${secretIdOf('app-', 'prod/api/key')}`;
    const read = async (alias: string) => (await client.accessSecretVersion({ name: `${name}/versions/${alias}` }, opts))[0].payload!.data!.toString();
    expect(await read('current')).toBe('{"user":"u","password":"p"}');
    expect(await read('previous')).toBe('one');
    expect(await read('pending')).toBe('three');
    // `latest` is the newest version, pending included: applications read `current`.
    expect(await read('latest')).toBe('three');
    expect([v1s.number, v2s.number, pending.number]).toEqual([1, 2, 3]);
    const [secret] = await client.getSecret({ name }, opts);
    expect(secret.annotations?.['keyturn-path']).toBe('prod/api/key');
    expect(secret.labels?.['managed-by']).toBe('keyturn');
    // A deleted secret's versions are disabled: an application reading it is refused.
    await store.remove('prod/api/key', { recoveryDays: 7 });
    const refused = await client.accessSecretVersion({ name: `${name}/versions/current` }, opts).catch((e: { code: number }) => e);
    expect((refused as { code: number }).code).toBe(grpc.status.FAILED_PRECONDITION);
    await store.restore('prod/api/key');
    expect(await read('current')).toBe('{"user":"u","password":"p"}');
    await client.close();
  });

  it('a location keeps the secrets under projects/P/locations/L, with no replication policy', async () => {
    const store = open({ prefix: 'reg-', location: 'europe-west1' });
    await store.put('a/b', 'regional');
    const name = `projects/${PROJECT}/locations/europe-west1/secrets/${secretIdOf('reg-', 'a/b')}`;
    expect(server.model.getSecret({ name }).annotations?.['keyturn-path']).toBe('a/b');
    expect((await store.get('a/b'))?.value).toBe('regional');
    expect(await all(store.list(''))).toEqual(['a/b']);
  });

  it("a secret at Keyturn's id that is not Keyturn's (no or another path annotation) is KT_STORE_FAILED, never overwritten", async () => {
    const store = open({ prefix: 'foreign-' });
    server.model.createSecret({ parent: `projects/${PROJECT}`, secretId: secretIdOf('foreign-', 'a/b'), secret: { replication: { automatic: {} }, annotations: { owner: 'someone-else' } } });
    expect((await rejection(() => store.get('a/b'))).code).toBe('KT_STORE_FAILED');
    expect((await rejection(() => store.put('a/b', 'mine'))).code).toBe('KT_STORE_FAILED');
    expect(await all(store.list(''))).toEqual([]);
  });

  it('a delete interrupted before its versions were disabled is finished by the next delete', async () => {
    const store = open({ prefix: 'rm-' });
    await store.put('a/b', 'one');
    await store.put('a/b', 'two');
    const name = `projects/${PROJECT}/secrets/${secretIdOf('rm-', 'a/b')}`;
    const original = server.model.setVersionState.bind(server.model);
    server.model.setVersionState = () => {
      throw new RpcError(grpc.status.UNAVAILABLE, 'The service is currently unavailable.');
    };
    try {
      expect((await rejection(() => store.remove('a/b', { recoveryDays: 7 }))).code).toBe('KT_STORE_UNAVAILABLE');
    } finally {
      server.model.setVersionState = original;
    }
    expect(server.model.listSecretVersions({ parent: name }).versions.map((v) => v.state)).toEqual(['ENABLED', 'ENABLED']);
    expect((await rejection(() => store.remove('a/b', { recoveryDays: 7 }))).code).toBe('KT_SECRET_DELETED');
    expect(server.model.listSecretVersions({ parent: name }).versions.map((v) => v.state)).toEqual(['DISABLED', 'DISABLED']);
    await store.restore('a/b');
    expect((await store.get('a/b'))?.value).toBe('two');
  });

  it('a string that looks like JSON comes back a string', async () => {
    const store = open({ prefix: 'kind-' });
    await store.put('a/json-looking', '{"a":1}');
    expect(await store.get('a/json-looking')).toMatchObject({ kind: 'string', value: '{"a":1}' });
  });

  it('credentials the service does not know are KT_STORE_AUTH_FAILED; so is a permission refused', async () => {
    useCredentials(newServiceAccountKey(`stranger@${PROJECT}.iam.gserviceaccount.com`).key);
    const stranger = open({ prefix: 'auth-' });
    const e = await rejection(() => stranger.put('a/b', 'secret-value-1'));
    expect(e.code).toBe('KT_STORE_AUTH_FAILED');
    expect(e.message).toContain('UNAUTHENTICATED');
    expect(e.message).not.toContain('secret-value-1');
    useCredentials(server.key);
    const store = open({ prefix: 'auth-' });
    server.deny = true;
    const denied = await rejection(() => store.get('a/b'));
    expect(denied.code).toBe('KT_STORE_AUTH_FAILED');
    expect(denied.message).toContain('PERMISSION_DENIED');
  });

  it('throttling (RESOURCE_EXHAUSTED) is absorbed by retries, on reads and writes', async () => {
    const store = open({ prefix: 'busy-' });
    server.faults.resourceExhausted = 3;
    const before = server.refused.resourceExhausted;
    const v = await store.put('a/b', 'value');
    expect(server.refused.resourceExhausted - before).toBe(3);
    server.faults.resourceExhausted = 2;
    expect((await store.get('a/b'))?.id).toBe(v.id);
    expect(server.refused.resourceExhausted - before).toBe(5);
  });

  it('UNAVAILABLE on a read is retried; a write is not retried blindly (KT_STORE_UNAVAILABLE), and a retry with the same version id adds nothing twice', async () => {
    const store = open({ prefix: 'flaky-' });
    server.faults.unavailable = 2;
    expect(await store.get('a/b')).toBeNull();
    await store.put('a/b', 'one');
    // The write itself fails: GetSecret and UpdateSecret (the claim) succeed, AddSecretVersion is refused.
    const calls = () => server.calls.AddSecretVersion ?? 0;
    const adds = calls();
    const originalAdd = server.model.addSecretVersion.bind(server.model);
    let failNext = true;
    server.model.addSecretVersion = (req) => {
      const out = originalAdd(req);
      if (failNext) {
        failNext = false;
        // The version was added, but the answer is lost (as when a connection drops).
        throw new RpcError(grpc.status.UNAVAILABLE, 'The service is currently unavailable.');
      }
      return out;
    };
    try {
      const lost = await rejection(() => store.put('a/b', 'two-value', { versionId: 'run-1' }));
      expect(lost.code).toBe('KT_STORE_UNAVAILABLE');
      expect(lost.message).toContain('AddSecretVersion');
    } finally {
      server.model.addSecretVersion = originalAdd;
    }
    expect(calls() - adds).toBe(1);
    const again = await store.put('a/b', 'two-value', { versionId: 'run-1' });
    expect(again).toMatchObject({ id: 'run-1', number: 2, stages: ['current'] });
    expect(calls() - adds).toBe(1);
    expect((await store.versions('a/b')).map((v) => [v.number, v.id])).toEqual([
      [2, 'run-1'],
      [1, expect.any(String)],
    ]);
  });

  it('a claim left by a put that never comes back holds other puts for its lease, then they take it over', async () => {
    const config = configSchema.parse({ type: 'gcp', project: PROJECT, apiEndpoint: server.host, port: server.port, insecure: true, prefix: 'lease-' });
    const store = new GcpStore(config, { clock, claimLeaseMs: 300 });
    stores.push(store);
    await store.put('a/b', 'one');
    server.faults.unavailable = 0;
    const originalAdd = server.model.addSecretVersion.bind(server.model);
    server.model.addSecretVersion = () => {
      throw new RpcError(grpc.status.UNAVAILABLE, 'The service is currently unavailable.');
    };
    try {
      expect((await rejection(() => store.put('a/b', 'crashed', { versionId: 'crashed-run' }))).code).toBe('KT_STORE_UNAVAILABLE');
    } finally {
      server.model.addSecretVersion = originalAdd;
    }
    const name = `projects/${PROJECT}/secrets/${secretIdOf('lease-', 'a/b')}`;
    expect(server.model.getSecret({ name }).annotations?.['kt-put']).toContain('crashed-run');
    const getsBefore = server.calls.GetSecret ?? 0;
    const v = await store.put('a/b', 'two', { expectCurrentVersion: 1 });
    expect(v).toMatchObject({ number: 2, stages: ['current'] });
    // It read the secret again while it waited (the claim was still there), then took it over.
    expect((server.calls.GetSecret ?? 0) - getsBefore).toBeGreaterThanOrEqual(2);
    expect(server.model.getSecret({ name }).annotations?.['kt-put']).toBeUndefined();
  });

  it('a put refused for sure (not lost on the way) drops its claim, so the next put does not wait', async () => {
    const config = configSchema.parse({ type: 'gcp', project: PROJECT, apiEndpoint: server.host, port: server.port, insecure: true, prefix: 'release-' });
    const store = new GcpStore(config, { clock, claimLeaseMs: 60_000 });
    stores.push(store);
    await store.put('a/b', 'one');
    server.deny = false;
    const originalAdd = server.model.addSecretVersion.bind(server.model);
    server.model.addSecretVersion = () => {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Secret payload data must be at most 65536 bytes.');
    };
    try {
      expect((await rejection(() => store.put('a/b', 'refused'))).code).toBe('KT_STORE_FAILED');
    } finally {
      server.model.addSecretVersion = originalAdd;
    }
    const getsBefore = server.calls.GetSecret ?? 0;
    expect((await store.put('a/b', 'two')).number).toBe(2);
    expect((server.calls.GetSecret ?? 0) - getsBefore).toBe(1);
  });

  for (const seed of [7, 1234]) {
    it(`racing compare-and-set puts from two clients: one winner a round, consecutive numbers, no stray version (seed ${seed})`, async () => {
      const rng = seeded(seed);
      const a = open({ prefix: `race${seed}-` });
      const b = open({ prefix: `race${seed}-` });
      await a.put('race/k', 'v1');
      for (let round = 1; round <= 6; round++) {
        const writers = [0, 1, 2, 3].map((w) => ({ w, store: rng() < 0.5 ? a : b, order: rng() })).sort((x, y) => x.order - y.order);
        const results = await Promise.allSettled(writers.map(({ w, store }) => store.put('race/k', `w${w}-r${round}`, { expectCurrentVersion: round })));
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        expect((won[0] as PromiseFulfilledResult<{ number: number }>).value.number).toBe(round + 1);
        for (const r of results.filter((x) => x.status === 'rejected')) {
          expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: round, actual: round + 1 } });
        }
      }
      expect((await b.versions('race/k')).map((v) => v.number)).toEqual([7, 6, 5, 4, 3, 2, 1]);
      const versions = await server.model.listSecretVersions({ parent: `projects/${PROJECT}/secrets/${secretIdOf(`race${seed}-`, 'race/k')}` });
      expect(versions.versions.map((v) => v.state)).toEqual(Array(7).fill('ENABLED'));
    });
  }

  it('the service down is KT_STORE_UNAVAILABLE naming the endpoint, within the configured time', async () => {
    const down = await startGcpServer({ clock });
    const port = down.port;
    await down.close();
    const store = storeFor({ ...server, host: '127.0.0.1', port } as GcpServer, clock, {}, { timeoutSeconds: 2 });
    stores.push(store);
    const e = await rejection(() => store.get('a/b'));
    expect(e.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });

  it('values never reach error messages', async () => {
    const store = open({ prefix: 'quiet-' }, { maxValueBytes: 64 });
    await store.put('a/b', 'first-secret-value', { versionId: 'v1' });
    const errors = await Promise.all([
      rejection(() => store.put('a/b', 'other-secret-value', { versionId: 'v1' })),
      rejection(() => store.put('a/b', 'x-secret-value'.repeat(10))),
      rejection(() => store.put('a/b', 'next-secret-value', { expectCurrentVersion: 7 })),
    ]);
    for (const e of errors) {
      expect(isKeyturnError(e)).toBe(true);
      expect(`${e.message} ${JSON.stringify(e.details)}`).not.toMatch(/secret-value/);
    }
  });
});
