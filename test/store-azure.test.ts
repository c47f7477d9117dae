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
import { sqliteState, type TestState } from './helpers/state.js';

const DEFAULTS: ContractOptions = { maxValueBytes: 64 * 1024, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true };

interface World {
  server: AzureServer;
  store: AzureStore;
  state: TestState;
  close(): Promise<void>;
}

async function world(clock: ManualClock, options: Partial<ContractOptions> = {}, server: AzureServerOptions = {}, extra: { wrongKey?: boolean; url?: string; prefix?: string } = {}): Promise<World> {
  const o = { ...DEFAULTS, ...options };
  const srv = await startAzureServer({ clock, recoverableDays: 7, purgeProtection: o.purgeProtection, pageSize: 3, ...server });
  const state = await sqliteState(clock);
  const config = configSchema.parse({ type: 'azure', vaultUrl: extra.url ?? srv.url, prefix: extra.prefix ?? '', disableChallengeResourceVerification: true, pollIntervalMs: 1 });
  const settings = { maxValueBytes: o.maxValueBytes, maxVersions: o.maxVersions, retentionDays: o.retentionMs / DAY_MS, purgeProtection: o.purgeProtection };
  const store = createAzureStore(config, { state: state.state, ring: state.ring, clock, settings }, { credential: srv.credential({ wrongKey: extra.wrongKey ?? false }), ca: srv.ca, retry: { maxRetries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 } });
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
