/**
 * The kubernetes store through @kubernetes/client-node against the local API server
 * (test/servers/kubernetes): the shared SecretStore contract, then what an application reading
 * the Secrets sees, config errors, refused tokens, an unreachable server, throttling, and values
 * kept out of error messages.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, manualClock } from '../src/core/clock.js';
import { isKeyturnError } from '../src/core/errors.js';
import { expectCode, runStoreContract } from '../src/contracts/store-contract.js';
import { kubernetesStoreEntry } from '../src/stores/kubernetes/entry.js';
import { indexName, versionName } from '../src/stores/kubernetes/names.js';
import type { SecretStore } from '../src/stores/store.js';
import { startKubernetesServer, type KubernetesServer } from './servers/kubernetes/index.js';

const SETTINGS = { maxValueBytes: 64 * 1024, maxVersions: 100, retentionDays: 7, purgeProtection: true };

async function makeStore(
  k8s: KubernetesServer,
  dir: string,
  options: { clock?: { now(): number }; settings?: Partial<typeof SETTINGS>; token?: string; config?: Record<string, unknown> } = {},
): Promise<SecretStore> {
  const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  await writeFile(kubeconfig, k8s.kubeconfig({ namespace: 'keyturn', ...(options.token ? { token: options.token } : {}) }), { mode: 0o600 });
  const module = await kubernetesStoreEntry.load();
  const config = module.configSchema.parse({ type: 'kubernetes', namespace: 'keyturn', kubeconfig, ...options.config });
  return module.create(config as { type: string }, { clock: options.clock ?? manualClock(), settings: { ...SETTINGS, ...options.settings } } as never);
}

runStoreContract({
  name: 'kubernetes through @kubernetes/client-node against the local API server',
  make: async ({ clock, options }) => {
    const k8s = await startKubernetesServer({ clock, namespaces: ['keyturn'] });
    const dir = await mkdtemp(join(tmpdir(), 'keyturn-k8s-store-'));
    const store = await makeStore(k8s, dir, {
      clock,
      settings: { maxValueBytes: options.maxValueBytes, maxVersions: options.maxVersions, retentionDays: options.retentionMs / DAY_MS, purgeProtection: options.purgeProtection },
    });
    return {
      store,
      close: async () => {
        await store.close?.();
        await k8s.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});

type Data = Record<string, string>;

describe('kubernetes store', () => {
  let k8s: KubernetesServer;
  let dir: string;

  beforeEach(async () => {
    k8s = await startKubernetesServer({ namespaces: ['keyturn'], forbiddenTokens: ['limited'] });
    dir = await mkdtemp(join(tmpdir(), 'keyturn-k8s-store-'));
  });

  afterEach(async () => {
    await k8s.close();
    await rm(dir, { recursive: true, force: true });
  });

  const decoded = (name: string): Data => {
    const s = k8s.cluster.peek('secrets', 'keyturn', name);
    return Object.fromEntries(Object.entries((s?.data as Data | undefined) ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };

  it('an application mounting the Secret named for the path sees the CURRENT value as ordinary keys', async () => {
    const store = await makeStore(k8s, dir);
    expect(indexName('prod/db/app')).toBe('prod.db.app');
    const v1 = await store.put('prod/db/app', { username: 'app', password: 'one', port: 5432 });
    expect(decoded('prod.db.app')).toEqual({ username: 'app', password: 'one', port: '5432' });
    const v2 = await store.put('prod/db/app', { username: 'app', password: 'two' }, { stages: ['pending'] });
    expect(decoded('prod.db.app').password).toBe('one');
    await store.moveStage('prod/db/app', 'current', v2.id, v1.id);
    expect(decoded('prod.db.app')).toEqual({ username: 'app', password: 'two' });
    const annotations = (k8s.cluster.peek('secrets', 'keyturn', 'prod.db.app')!.metadata as { annotations: Data }).annotations;
    expect(annotations).toMatchObject({ 'keyturn.dev/path': 'prod/db/app', 'keyturn.dev/version-id': v2.id, 'keyturn.dev/version': '2', 'keyturn.dev/kind': 'json' });
    // A string is the key `value`; a string that looks like JSON comes back a string.
    await store.put('app/token', '{"looks":"json"}');
    expect(decoded('app.token')).toEqual({ value: '{"looks":"json"}' });
    expect((await store.get('app/token'))?.value).toBe('{"looks":"json"}');
    // A path that is not DNS-shaped gets a hashed name, with the true path in the annotation.
    await store.put('Team_A/Key', 'x');
    const hashed = indexName('Team_A/Key');
    expect(hashed).toMatch(/^kt-team-a-key-[0-9a-f]{10}$/);
    expect((k8s.cluster.peek('secrets', 'keyturn', hashed)!.metadata as { annotations: Data }).annotations['keyturn.dev/path']).toBe('Team_A/Key');
    // A long last segment still gives valid names (every DNS label at most 63 characters).
    const long = `apps/${'a'.repeat(63)}`;
    const lv = await store.put(long, 'long');
    expect(indexName(long)).toBe(`apps.${'a'.repeat(63)}`);
    expect(
      versionName(long, lv.id)
        .split('.')
        .every((label) => label.length <= 63),
    ).toBe(true);
    expect((await store.get(long))?.value).toBe('long');
    // While deleted, the Secret holds no value (an application reading it gets no keys); restore puts it back.
    await store.remove('prod/db/app', { recoveryDays: 7 });
    expect(decoded('prod.db.app')).toEqual({});
    await store.restore('prod/db/app');
    expect(decoded('prod.db.app')).toEqual({ username: 'app', password: 'two' });
  });

  it('a 409 on the index write makes the store read again and decide again', async () => {
    const store = await makeStore(k8s, dir);
    const v1 = await store.put('a/b', 'one');
    const v2 = await store.put('a/b', 'two', { stages: [] });
    const seen = k8s.requests.length;
    k8s.faults.failNext({ status: 409, resource: 'secrets', methods: ['PUT'] });
    await store.moveStage('a/b', 'current', v2.id, v1.id);
    expect((await store.get('a/b'))?.id).toBe(v2.id);
    expect(
      k8s.requests
        .slice(seen)
        .filter((r) => r.method === 'PUT')
        .map((r) => r.status),
    ).toEqual([409, 200]);
    // A real concurrent stage move in between: the stale write is refused and the move is a KT_STAGE_CONFLICT.
    const v3 = await store.put('a/b', 'three', { stages: [] });
    const other = await makeStore(k8s, dir);
    await other.moveStage('a/b', 'current', v3.id, v2.id);
    await expectCode(() => store.moveStage('a/b', 'current', v1.id, v2.id), 'KT_STAGE_CONFLICT');
    expect((await store.get('a/b'))?.id).toBe(v3.id);
  });

  it('refused tokens are KT_STORE_AUTH_FAILED; a server that is down is KT_STORE_UNAVAILABLE', async () => {
    const bad = await makeStore(k8s, dir, { token: 'wrong' });
    await expectCode(() => bad.get('a/b'), 'KT_STORE_AUTH_FAILED');
    const limited = await makeStore(k8s, dir, { token: 'limited' });
    await expectCode(() => limited.put('a/b', 'secret-value-403'), 'KT_STORE_AUTH_FAILED');
    const store = await makeStore(k8s, dir);
    await k8s.close();
    await expectCode(() => store.get('a/b'), 'KT_STORE_UNAVAILABLE');
    k8s = await startKubernetesServer();
  });

  it('throttling is absorbed by retries; a persistent 5xx is KT_STORE_UNAVAILABLE', async () => {
    const store = await makeStore(k8s, dir);
    k8s.faults.throttle(3, 0);
    await store.put('a/b', 'v');
    expect(k8s.requests.filter((r) => r.status === 429)).toHaveLength(3);
    k8s.faults.failNext({ status: 503, count: 10 });
    await expectCode(() => store.get('a/b'), 'KT_STORE_UNAVAILABLE');
  });

  it('values never reach error messages', async () => {
    const store = await makeStore(k8s, dir);
    await store.put('a/b', 'first-secret-value', { versionId: 'run-1' });
    for (const fn of [() => store.put('a/b', 'other-secret-value', { versionId: 'run-1' }), () => store.put('a/b', 'third-secret-value', { expectCurrentVersion: 5 })]) {
      try {
        await fn();
        expect.unreachable();
      } catch (e) {
        expect(isKeyturnError(e)).toBe(true);
        const text = `${(e as Error).message} ${JSON.stringify((e as { details?: unknown }).details)}`;
        for (const v of ['first-secret-value', 'other-secret-value', 'third-secret-value']) expect(text).not.toContain(v);
      }
    }
  });

  it('a put retried after a crash takes over the version Secret left behind (same id), whatever it held', async () => {
    const store = await makeStore(k8s, dir);
    await store.put('a/b', 'one');
    // A crash after the version Secret was created and before the index named it (here with another value under the id).
    const orphan = versionName('a/b', 'run-7');
    k8s.cluster.create('secrets', 'keyturn', {
      metadata: { name: orphan, annotations: { 'keyturn.dev/path': 'a/b', 'keyturn.dev/version-id': 'run-7', 'keyturn.dev/kind': 'string' } },
      stringData: { value: 'half-written' },
    });
    expect(await store.versions('a/b')).toHaveLength(1);
    const v = await store.put('a/b', 'two', { versionId: 'run-7' });
    expect(v).toMatchObject({ number: 2, stages: ['current'] });
    expect((await store.get('a/b'))?.value).toBe('two');
    expect(decoded(orphan)).toEqual({ value: 'two' });
    const posts = () => k8s.requests.filter((r) => r.method === 'POST').length;
    const before = posts();
    expect(await store.put('a/b', 'two', { versionId: 'run-7' })).toMatchObject({ number: 2 });
    expect(posts()).toBe(before);
  });

  it('the put that loses a race deletes its version Secret; every version Secret left is one the index names', async () => {
    const store = await makeStore(k8s, dir);
    await store.put('race/put', 'one');
    const results = await Promise.allSettled([store.put('race/put', 'a', { expectCurrentVersion: 1 }), store.put('race/put', 'b', { expectCurrentVersion: 1 })]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    const objects = k8s.cluster.list('secrets', 'keyturn', 'keyturn.dev/role=version', 0, null).items.map((i) => (i.metadata as { name: string }).name);
    expect(objects).toHaveLength(2);
    expect((await store.versions('race/put')).map((v) => v.number)).toEqual([2, 1]);
  });

  it('config: a namespace is required, paths are absolute, no field takes a token', async () => {
    const module = await kubernetesStoreEntry.load();
    expect(module.configSchema.safeParse({ type: 'kubernetes' }).success).toBe(false);
    expect(module.configSchema.safeParse({ type: 'kubernetes', namespace: 'Bad_NS' }).success).toBe(false);
    expect(module.configSchema.safeParse({ type: 'kubernetes', namespace: 'ok', kubeconfig: 'rel/path' }).success).toBe(false);
    expect(module.configSchema.safeParse({ type: 'kubernetes', namespace: 'ok', token: 'abc' }).success).toBe(false);
    expect(module.configSchema.safeParse({ type: 'kubernetes', namespace: 'ok', kubeconfig: '/etc/kc', context: 'prod' }).success).toBe(true);
  });
});
