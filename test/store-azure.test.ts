/**
 * The Azure Key Vault store through @azure/keyvault-secrets against the local Key Vault
 * (test/servers/azure): the SecretStore contract, and what is Azure's own: config errors, a
 * refused token, an unreachable vault, throttling absorbed by the SDK's retries, values kept out
 * of errors, and what an app reading the vault directly sees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SecretClient } from '@azure/keyvault-secrets';
import { DAY_MS, manualClock, type ManualClock } from '../src/core/clock.js';
import { runStoreContract, expectCode, rejection } from '../src/contracts/store-contract.js';
import type { ContractOptions } from '../src/contracts/store-contract.js';
import { configSchema, createAzureStore } from '../src/stores/azure/module.js';
import type { AzureStore } from '../src/stores/azure/azure-store.js';
import { secretName } from '../src/stores/azure/names.js';
import { prepareStore } from '../src/stores/registry.js';
import { startAzureServer, type AzureServer, type AzureServerOptions } from './servers/azure/server.js';
import { postgresState, sqliteState, type TestState } from './helpers/state.js';

const DEFAULTS: ContractOptions = { maxValueBytes: 64 * 1024, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true };

interface World {
  server: AzureServer;
  store: AzureStore;
  state: TestState;
  close(): Promise<void>;
}

async function world(
  clock: ManualClock,
  options: Partial<ContractOptions> = {},
  server: AzureServerOptions = {},
  extra: { wrongKey?: boolean; url?: string; prefix?: string; postgres?: boolean } = {},
): Promise<World> {
  const o = { ...DEFAULTS, ...options };
  const srv = await startAzureServer({ clock, recoverableDays: 7, purgeProtection: o.purgeProtection, pageSize: 3, ...server });
  const state = extra.postgres ? await postgresState(clock) : await sqliteState(clock);
  const config = configSchema.parse({ type: 'azure', vaultUrl: extra.url ?? srv.url, prefix: extra.prefix ?? '', disableChallengeResourceVerification: true, pollIntervalMs: 1 });
  const settings = { maxValueBytes: o.maxValueBytes, maxVersions: o.maxVersions, retentionDays: o.retentionMs / DAY_MS, purgeProtection: o.purgeProtection };
  const store = createAzureStore(
    config,
    { state: state.state, ring: state.ring, clock, settings },
    { credential: srv.credential({ wrongKey: extra.wrongKey ?? false }), ca: srv.ca, retry: { maxRetries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 } },
  );
  return {
    server: srv,
    store,
    state,
    close: async () => {
      await store.close();
      await srv.close();
      await state.close();
    },
  };
}

runStoreContract({
  name: 'azure through @azure/keyvault-secrets against the local server',
  make: async ({ clock, options }) => {
    const w = await world(clock, options);
    return { store: w.store, close: w.close };
  },
});

// The stage pointers' compare-and-set on PostgreSQL too (Keyturn processes sharing one database).
runStoreContract({
  name: 'azure through @azure/keyvault-secrets against the local server, stage pointers on PostgreSQL',
  make: async ({ clock, options }) => {
    const w = await world(clock, options, {}, { postgres: true });
    return { store: w.store, close: w.close };
  },
});

describe('azure store: what is its own', () => {
  let w: World | undefined;
  let clock: ManualClock;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });
  async function open(options: Partial<ContractOptions> = {}, server: AzureServerOptions = {}, extra: Parameters<typeof world>[3] = {}): Promise<World> {
    clock = manualClock();
    w = await world(clock, options, server, extra);
    return w;
  }
  /** An app reading the vault with the SDK, as it would without Keyturn. */
  function app(server: AzureServer): SecretClient {
    return new SecretClient(server.url, server.credential(), { tlsOptions: { ca: server.ca }, disableChallengeResourceVerification: true, serviceVersion: '7.5' });
  }

  it('refuses a config that does not check, one problem per key (KT_STORE_CONFIG_INVALID), and has no field for a credential', async () => {
    const state = await sqliteState();
    const deps = { state: state.state, ring: state.ring, clock: manualClock(), settings: { maxValueBytes: 1024, maxVersions: 10, retentionDays: 7, purgeProtection: true } };
    const { create } = await import('../src/stores/azure/module.js');
    try {
      const bad = await rejection(async () => create({ type: 'azure', vaultUrl: 'http://kv.vault.azure.net', prefix: 'kt_', clientSecret: 'x' } as { type: string }, deps));
      expect(bad.code).toBe('KT_STORE_CONFIG_INVALID');
      const problems = (bad.details as { problems: string[] }).problems.join('\n');
      expect(problems).toMatch(/vaultUrl: .*https/);
      expect(problems).toMatch(/prefix: /);
      expect(problems).toMatch(/clientSecret/);
      await expectCode(async () => create({ type: 'azure' }, deps), 'KT_STORE_CONFIG_INVALID');
      expect(create({ type: 'azure', vaultUrl: 'https://kv.vault.azure.net' } as { type: string }, deps).kind).toBe('azure');
    } finally {
      await state.close();
    }
    // Until the lead registers the entry, prepareStore names the kinds it knows.
    await expectCode(() => prepareStore({ type: 'nope' }, deps), 'KT_STORE_CONFIG_INVALID');
  });

  it('opens no connection until first used', async () => {
    const { server, store } = await open();
    expect(server.requests).toEqual([]);
    await store.put('app/k', 'v');
    expect(server.requests.length).toBeGreaterThan(0);
  });

  it('maps paths onto Key Vault names reversibly, case and all, and hashes the long ones (seed 1515)', () => {
    expect(secretName('', 'prod/db/app')).toBe('prod--db--app');
    expect(secretName('kt-', 'App_Key.v-2')).toBe('kt--capp-u-ckey-pv-d2');
    expect(secretName('', 'x'.repeat(200))).toMatch(/^kt-h-[0-9a-f]{64}$/);
    let seed = 1515;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const chars = 'aAbB09._-';
    const seen = new Map<string, string>();
    for (let i = 0; i < 2000; i++) {
      const segs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => chars[Math.floor(rand() * chars.length)]).join(''));
      const path = segs.join('/');
      const name = secretName('', path).toLowerCase();
      expect(name).toMatch(/^[0-9a-z-]{1,127}$/);
      const other = seen.get(name);
      if (other !== undefined) expect(other).toBe(path);
      seen.set(name, path);
    }
  });

  it('a refused token is KT_STORE_AUTH_FAILED', async () => {
    const { store } = await open({}, {}, { wrongKey: true });
    const e = await rejection(() => store.put('app/k', 'the-value-itself'));
    expect(e.code).toBe('KT_STORE_AUTH_FAILED');
    expect(e.message).toMatch(/401/);
    expect(e.message).not.toContain('the-value-itself');
  });

  it('an unreachable vault is KT_STORE_UNAVAILABLE, and so is one that keeps failing past the retries', async () => {
    const first = await open();
    const closed = await startAzureServer({ clock });
    const url = closed.url;
    await closed.close();
    const down = createAzureStore(
      configSchema.parse({ type: 'azure', vaultUrl: url, disableChallengeResourceVerification: true }),
      { state: first.state.state, ring: first.state.ring, clock, settings: { maxValueBytes: 1024, maxVersions: 10, retentionDays: 7, purgeProtection: true } },
      {
        credential: first.server.credential(),
        ca: first.server.ca,
        retry: { maxRetries: 1, retryDelayInMs: 1, maxRetryDelayInMs: 2 },
      },
    );
    await expectCode(() => down.get('app/k'), 'KT_STORE_UNAVAILABLE');
    first.server.failNext(100);
    const e = await rejection(() => first.store.put('app/k', 'the-value-itself'));
    expect(e.code).toBe('KT_STORE_UNAVAILABLE');
    expect(e.message).not.toContain('the-value-itself');
  });

  it('a request the vault refuses otherwise is KT_STORE_FAILED with its code, never the value', async () => {
    const { server, store } = await open();
    server.failNext(1, 400);
    const e = await rejection(() => store.put('app/k', 'the-value-itself'));
    expect(e).toMatchObject({ code: 'KT_STORE_FAILED', details: { status: 400, providerCode: 'BadParameter' } });
    expect(e.message).toMatch(/BadParameter/);
    expect(e.message).not.toContain('the-value-itself');
  });

  it('throttling (429 with Retry-After) is absorbed by the SDK retries', async () => {
    const { server, store } = await open();
    await store.put('app/k', 'one');
    const before = server.requests.length;
    server.throttle(2);
    const v2 = await store.put('app/k', 'two');
    expect(v2.number).toBe(2);
    expect((await store.get('app/k'))?.value).toBe('two');
    expect(server.requests.length).toBeGreaterThan(before + 2);
  });

  it('an app reading the vault directly sees Keyturn current as the latest version, also while a pending version exists and after a rollback', async () => {
    const { server, store } = await open();
    const a = app(server);
    const v1 = await store.put('prod/db/app', { username: 'app', password: 'one' });
    let latest = await a.getSecret('prod--db--app');
    expect(JSON.parse(latest.value!)).toEqual({ username: 'app', password: 'one' });
    expect(latest.properties.contentType).toBe('application/json');
    const p = await store.put('prod/db/app', { username: 'app', password: 'two' }, { stages: ['pending'] });
    latest = await a.getSecret('prod--db--app');
    expect(JSON.parse(latest.value!)).toMatchObject({ password: 'one' });
    await store.moveStage('prod/db/app', 'current', p.id, v1.id);
    expect(JSON.parse((await a.getSecret('prod--db--app')).value!)).toMatchObject({ password: 'two' });
    await store.moveStage('prod/db/app', 'current', v1.id, p.id);
    expect(JSON.parse((await a.getSecret('prod--db--app')).value!)).toMatchObject({ password: 'one' });
    // Keyturn's view is unchanged by the copies it wrote: two versions.
    expect((await store.versions('prod/db/app')).map((v) => [v.number, v.stages])).toEqual([
      [2, ['previous']],
      [1, ['current']],
    ]);
    expect(server.rawVersions('prod--db--app').length).toBeGreaterThan(2);
    // A string that looks like JSON stays a string.
    await store.put('app/text', '{"a":1}');
    expect(await store.get('app/text')).toMatchObject({ kind: 'string', value: '{"a":1}' });
    expect((await a.getSecret('app--text')).properties.contentType).toBe('text/plain');
  });

  it('a put that claimed its number and crashed before its write is finished by a retry with the same version id', async () => {
    const { server, store } = await open();
    await store.put('app/k', 'one');
    // The claim commits in the state database; every vault request then fails past the retries.
    const failing = server.requests.length;
    server.failNext(100);
    await expectCode(() => store.put('app/k', 'two', { versionId: 'run-7', stages: ['pending'] }), 'KT_STORE_UNAVAILABLE');
    expect(server.requests.length).toBeGreaterThan(failing);
    server.failNext(0);
    expect(await store.get('app/k', { stage: 'pending' })).toBeNull();
    const again = await store.put('app/k', 'two', { versionId: 'run-7', stages: ['pending'] });
    expect(again).toMatchObject({ id: 'run-7', number: 2, stages: ['pending'] });
    expect((await store.get('app/k', { stage: 'pending' }))?.value).toBe('two');
    expect((await store.versions('app/k')).map((v) => v.number)).toEqual([2, 1]);

    // A crashed put of a new current: readers keep the current from before its claim until a retry writes it.
    server.failNext(100);
    await expectCode(() => store.put('app/k', 'three', { versionId: 'run-8' }), 'KT_STORE_UNAVAILABLE');
    server.failNext(0);
    expect(await store.get('app/k')).toMatchObject({ number: 1, value: 'one', stages: ['current'] });
    expect((await store.describe('app/k'))?.currentVersion).toMatchObject({ number: 1 });
    expect(await store.put('app/k', 'three', { versionId: 'run-8' })).toMatchObject({ number: 3, stages: ['current'] });
    expect(await store.get('app/k')).toMatchObject({ id: 'run-8', value: 'three' });
    expect(await store.get('app/k', { stage: 'previous' })).toMatchObject({ number: 1 });
  });

  it('a prefix keeps Keyturn secrets apart in a shared vault; the recovery window is the vault setting', async () => {
    const { server, store } = await open({}, { recoverableDays: 30 }, { prefix: 'kt-' });
    await store.put('app/k', 'v');
    await app(server).setSecret('someone-elses', 'x');
    const listed: string[] = [];
    for await (const p of store.list('')) listed.push(p);
    expect(listed).toEqual(['app/k']);
    expect((await app(server).getSecret('kt-app--k')).value).toBe('v');
    const e = await rejection(() => store.remove('app/k', { recoveryDays: 7 }));
    expect(e).toMatchObject({ code: 'KT_RECOVERY_DAYS_INVALID', details: { vaultRecoverableDays: 30 } });
    const removed = await store.remove('app/k');
    expect(removed.purgeAfter! - removed.deletedAt!).toBe(30 * DAY_MS);
  });
});

describe('azure store: two Keyturn processes sharing one state database', () => {
  it('of two stores racing on one vault, exactly one compare-and-set wins (seed 0: no randomness)', async () => {
    const clock = manualClock();
    const w = await world(clock);
    const config = configSchema.parse({ type: 'azure', vaultUrl: w.server.url, disableChallengeResourceVerification: true, pollIntervalMs: 1 });
    const settings = { maxValueBytes: 1024, maxVersions: 100, retentionDays: 7, purgeProtection: true };
    const other = createAzureStore(config, { state: w.state.state, ring: w.state.ring, clock, settings }, { credential: w.server.credential(), ca: w.server.ca });
    try {
      const v1 = await w.store.put('race/x', 'one');
      const a = await w.store.put('race/x', 'a', { stages: [] });
      const b = await other.put('race/x', 'b', { stages: [] });
      const moves = await Promise.allSettled([w.store.moveStage('race/x', 'current', a.id, v1.id), other.moveStage('race/x', 'current', b.id, v1.id)]);
      expect(moves.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const puts = await Promise.allSettled([
        w.store.put('race/x', 'c', { expectCurrentVersion: (await w.store.get('race/x'))!.number }),
        other.put('race/x', 'd', { expectCurrentVersion: (await other.get('race/x'))!.number }),
      ]);
      expect(puts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((puts.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'KT_VERSION_MISMATCH' });
      const winner = (puts.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: string }>).value;
      expect((await other.get('race/x'))?.id).toBe(winner.id);
    } finally {
      await other.close();
      await w.close();
    }
  });
});

describe('azure store: a new state database over a vault Keyturn already wrote', () => {
  it('adopts the vault: current is the newest version, numbering goes on', async () => {
    const clock = manualClock();
    const w = await world(clock);
    const fresh = await sqliteState(clock);
    const config = configSchema.parse({ type: 'azure', vaultUrl: w.server.url, disableChallengeResourceVerification: true, pollIntervalMs: 1 });
    const settings = { maxValueBytes: 1024, maxVersions: 100, retentionDays: 7, purgeProtection: true };
    const other = createAzureStore(config, { state: fresh.state, ring: fresh.ring, clock, settings }, { credential: w.server.credential(), ca: w.server.ca });
    try {
      await w.store.put('app/k', 'one');
      const v2 = await w.store.put('app/k', 'two');
      expect(await other.get('app/k')).toMatchObject({ id: v2.id, number: 2, value: 'two', stages: ['current'] });
      expect((await other.describe('app/k'))?.currentVersion).toEqual({ id: v2.id, number: 2 });
      expect(await other.put('app/k', 'three', { expectCurrentVersion: 2 })).toMatchObject({ number: 3, stages: ['current'] });
      expect((await other.versions('app/k')).map((v) => [v.number, v.stages])).toEqual([
        [3, ['current']],
        [2, ['previous']],
        [1, []],
      ]);
    } finally {
      await other.close();
      await fresh.close();
      await w.close();
    }
  });
});
