/**
 * Each outside store's test fixture, in one place: its local server (test/servers/<provider>/)
 * started on loopback, the store's config as KEYTURN_STORE_FILE would hold it, and the
 * environment a `keyturn` process (a child, or `runCli` in this one) needs to sign in to it the
 * way it would to the real service: a Vault token file, AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, an OCI config
 * file, a kubeconfig, Azure workload identity (AZURE_FEDERATED_TOKEN_FILE at AZURE_AUTHORITY_HOST). The crash and replica tests use these; the store contract tests build their
 * stores directly, with the contract's clock.
 *
 * The environment is also set on this process (vitest runs each file in its own worker): the
 * provider SDKs read their credential chain from `process.env`, and a recovery through `runCli`
 * runs here.
 *
 * @example
 * ```ts
 * const fx = await outsideStoreFixture('vault');
 * writeFileSync(file, JSON.stringify(fx.config));            // KEYTURN_STORE_FILE
 * spawn(node, [bin, 'rotate', 'app/db'], { env: { ...fx.env, KEYTURN_STORE_FILE: file } });
 * fx.down(true);                                              // the service stops answering
 * await fx.close();
 * ```
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import type { Version } from '../../src/core/types.js';
import { prepareStore } from '../../src/stores/registry.js';
import { join } from 'node:path';
import { AWS_TEST_ACCESS_KEY_ID, AWS_TEST_SECRET_ACCESS_KEY, startAwsServer } from '../servers/aws/server.js';
import { startAzureServer } from '../servers/azure/server.js';
import { startGcpServer } from '../servers/gcp/server.js';
import { startKubernetesServer } from '../servers/kubernetes/index.js';
import { writeOciCredentials } from '../servers/oci/credentials.js';
import { startOciServer } from '../servers/oci/server.js';
import { startVaultServer } from '../servers/vault/server.js';
import { tcpProxy } from './tcp-proxy.js';
import { tempDir } from './state.js';

/** The outside stores a `keyturn` process can use against its local server here. */
export const CHILD_READY_STORES = ['vault', 'aws', 'gcp', 'oci', 'kubernetes', 'azure'] as const;
export type OutsideKind = (typeof CHILD_READY_STORES)[number];

export interface OutsideStoreFixture {
  readonly kind: OutsideKind;
  /** The store's config (what KEYTURN_STORE_FILE, or an entry under stores:, holds). */
  readonly config: Record<string, unknown>;
  /** Credentials and the like for a keyturn process (also set on this process). */
  readonly env: Record<string, string>;
  /** Writes `config` to a file in the fixture's folder and returns its path (for KEYTURN_STORE_FILE). */
  storeFile(name?: string): string;
  /** What the store holds as `path`'s current version, read through its own store the way Keyturn opens it (a replica's copy). */
  current(path: string): Promise<Version | null>;
  /** While true, the service does not answer: connections to it are refused (a proxy in front of the server is closed). */
  down(off: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface OutsideStoreOptions {
  /**
   * The service's time, for the servers that keep one (aws, oci: creation and deletion times) when
   * Keyturn runs in this process on a manual clock; default the system clock (a child process).
   */
  readonly clock?: Clock;
}

/** Starts `kind`'s local server (behind a TCP proxy, so it can be made unreachable) and returns its fixture. */
export async function outsideStoreFixture(kind: OutsideKind, options: OutsideStoreOptions = {}): Promise<OutsideStoreFixture> {
  const tmp = tempDir(`kt-${kind}-store-`);
  const started = await startFor(kind, tmp.dir, options.clock);
  const proxy = await tcpProxy(started.port);
  const config = started.config(proxy.port);
  Object.assign(process.env, started.env);
  let isDown = false;
  return {
    kind,
    config,
    env: started.env,
    storeFile: (name = 'store.json') => {
      const file = join(tmp.dir, name);
      writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
      return file;
    },
    current: async (path) => {
      const prepared = await prepareStore(config, {
        clock: { now: () => Date.now() },
        settings: { maxValueBytes: 65536, maxVersions: 100, retentionDays: 7, purgeProtection: true, envVar: (n: string) => process.env[n] },
      } as never);
      try {
        return await prepared.forAudit().get(path);
      } finally {
        await prepared.close();
      }
    },
    down: async (off) => {
      if (off === isDown) return;
      isDown = off;
      await (off ? proxy.down() : proxy.up());
    },
    close: async () => {
      await proxy.close();
      await started.close();
      tmp.remove();
    },
  };
}

interface Started {
  /** The server's own port (the proxy forwards to it). */
  port: number;
  config(port: number): Record<string, unknown>;
  env: Record<string, string>;
  close(): Promise<void>;
}

async function startFor(kind: OutsideKind, dir: string, clock: Clock | undefined): Promise<Started> {
  switch (kind) {
    case 'vault': {
      const vault = await startVaultServer(clock ? { clock } : {});
      // The token in a file the config names (a Vault agent's sink), so a replica store opened by any home finds it.
      const tokenFile = join(dir, 'vault-token');
      writeFileSync(tokenFile, vault.rootToken, { mode: 0o600 });
      return {
        port: Number(new URL(vault.url).port),
        config: (port) => ({ type: 'vault', address: `http://127.0.0.1:${port}`, mount: 'secret', auth: { method: 'token', tokenFile } }),
        env: {},
        close: () => vault.close(),
      };
    }
    case 'aws': {
      const aws = await startAwsServer(clock ? { clock } : {});
      return {
        port: Number(new URL(aws.url).port),
        config: (port) => ({ type: 'aws', region: aws.region, endpoint: `http://127.0.0.1:${port}` }),
        env: { AWS_ACCESS_KEY_ID: AWS_TEST_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: AWS_TEST_SECRET_ACCESS_KEY, AWS_REGION: aws.region },
        close: () => aws.close(),
      };
    }
    case 'gcp': {
      const gcp = await startGcpServer();
      const keyFile = join(dir, 'gcp-key.json');
      writeFileSync(keyFile, JSON.stringify(gcp.key), { mode: 0o600 });
      return {
        port: gcp.port,
        config: (port) => ({ type: 'gcp', project: 'keyturn-test', apiEndpoint: '127.0.0.1', port, insecure: true }),
        env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
        close: () => gcp.close(),
      };
    }
    case 'oci': {
      const creds = writeOciCredentials(dir);
      // By default no clock: a keyturn process computes deletion times from the real clock, as the service does.
      const oci = await startOciServer({ keys: [creds], ...(clock ? { clock } : {}) });
      return {
        port: Number(new URL(oci.url).port),
        config: (port) => ({
          type: 'oci',
          region: 'us-ashburn-1',
          compartmentId: 'ocid1.compartment.oc1..keyturntest',
          vaultId: 'ocid1.vault.oc1.us-ashburn-1.keyturntest',
          keyId: 'ocid1.key.oc1.us-ashburn-1.keyturntest',
          endpoints: { vaults: `http://127.0.0.1:${port}`, secrets: `http://127.0.0.1:${port}` },
          auth: { type: 'config-file', file: creds.configFile, profile: creds.profile },
        }),
        env: {},
        close: () => oci.close(),
      };
    }
    case 'kubernetes': {
      const k8s = await startKubernetesServer({ namespaces: ['keyturn'] });
      const port = Number(new URL(k8s.url).port);
      const kubeconfig = (p: number) => {
        const file = join(dir, `kubeconfig-${p}`);
        writeFileSync(file, k8s.kubeconfig({ namespace: 'keyturn' }).replaceAll(`127.0.0.1:${port}`, `127.0.0.1:${p}`), { mode: 0o600 });
        return file;
      };
      return { port, config: (p) => ({ type: 'kubernetes', namespace: 'keyturn', kubeconfig: kubeconfig(p) }), env: {}, close: () => k8s.close() };
    }
    case 'azure': {
      // No clock: a keyturn process computes deletion times from the real clock, as the service does.
      const azure = await startAzureServer();
      const caCertFile = join(dir, 'azure-ca.pem');
      writeFileSync(caCertFile, azure.ca);
      const tokenFile = join(dir, 'azure-federated-token');
      writeFileSync(tokenFile, await azure.entra.federatedToken(), { mode: 0o600 });
      return {
        port: Number(new URL(azure.url).port),
        // Only the vault sits behind the proxy: down() makes Key Vault unreachable, not Entra ID.
        config: (port) => ({ type: 'azure', vaultUrl: `https://127.0.0.1:${port}`, disableChallengeResourceVerification: true, disableInstanceDiscovery: true, caCertFile }),
        // What AKS workload identity injects into a pod.
        env: { AZURE_TENANT_ID: azure.tenantId, AZURE_CLIENT_ID: azure.entra.clientId, AZURE_FEDERATED_TOKEN_FILE: tokenFile, AZURE_AUTHORITY_HOST: azure.entra.authorityHost },
        close: () => azure.close(),
      };
    }
  }
}

/**
 * Starts the named outside stores' local servers once for a test file (beforeAll) and closes them
 * after it (afterAll); their fixtures are in the returned object's `stores` once the file runs.
 *
 * @example
 * ```ts
 * const outside = useOutsideStores('vault', 'kubernetes');
 * it('...', () => outside.stores.vault.current('app/db'));
 * ```
 */
export function useOutsideStores<K extends OutsideKind>(...kinds: K[]): { readonly stores: Record<K, OutsideStoreFixture> } {
  const holder = { stores: {} as Record<K, OutsideStoreFixture> };
  beforeAll(async () => {
    const started = await Promise.all(kinds.map((k) => outsideStoreFixture(k)));
    kinds.forEach((k, i) => (holder.stores[k] = started[i]!));
  });
  afterAll(async () => {
    await Promise.all(Object.values<OutsideStoreFixture>(holder.stores).map((f) => f.close()));
  });
  return holder;
}
