/**
 * The OCI SDK clients the store uses: oci-vault's VaultsClient (secret management) and
 * oci-secrets' SecretsClient (secret bundles), signed by the credential provider the config
 * names, with the SDK's retries on throttling, 5xx, IncorrectState and network errors (short
 * backoff), and no circuit breaker (a store call fails on its own; the engine resumes). Also maps
 * an SDK error onto Keyturn's store codes.
 *
 * @example
 * ```ts
 * const clients = await openClients(config);
 * await clients.vaults.getSecret({ secretId });
 * ```
 */
import * as common from 'oci-common';
import { SecretsClient } from 'oci-secrets';
import { VaultsClient } from 'oci-vault';
import { KeyturnError } from '../../core/errors.js';
import type { OciStoreConfig } from './config.js';

export interface OciClients {
  readonly vaults: VaultsClient;
  readonly secrets: SecretsClient;
  close(): void;
}

/** The SDK's own retry rule (429 TooManyRequests, 409 IncorrectState, 5xx, network), six tries with short backoff. */
const retryConfiguration: common.RetryConfiguration = {
  terminationStrategy: new common.MaxAttemptsTerminationStrategy(6),
  delayStrategy: { delay: (ctx) => Math.min(0.05 * 2 ** ctx.attemptCount, 2) + Math.random() * 0.05 },
  retryCondition: (e) => retryable(e),
};

/** The SDK's default retry rule (its DefaultRetryCondition, not exported): 5xx, no answer, 409 IncorrectState, 429 TooManyRequests. */
function retryable(e: common.OciError): boolean {
  const s = e.statusCode;
  if (s === -1 || Number.isNaN(s) || s === undefined || [500, 502, 503, 504].includes(s)) return true;
  return (s === 409 && e.serviceCode === 'IncorrectState') || (s === 429 && e.serviceCode === 'TooManyRequests');
}

async function provider(config: OciStoreConfig): Promise<common.AuthenticationDetailsProvider> {
  switch (config.auth.type) {
    case 'config-file':
      return new common.ConfigFileAuthenticationDetailsProvider(config.auth.file, config.auth.profile);
    case 'instance-principal':
      return new common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build();
    case 'resource-principal':
      return common.ResourcePrincipalAuthenticationDetailsProvider.builder();
  }
}

/** Makes both clients for the config's region (or its endpoint overrides). */
export async function openClients(config: OciStoreConfig): Promise<OciClients> {
  let auth: common.AuthenticationDetailsProvider;
  try {
    auth = await provider(config);
  } catch (e) {
    throw new KeyturnError('KT_STORE_AUTH_FAILED', `OCI credentials (${config.auth.type}) could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
  const clientConfiguration: common.ClientConfiguration = { retryConfiguration, circuitBreaker: { noCircuit: true } as common.CircuitBreaker };
  const vaults = new VaultsClient({ authenticationDetailsProvider: auth }, clientConfiguration);
  const secrets = new SecretsClient({ authenticationDetailsProvider: auth }, clientConfiguration);
  vaults.regionId = config.region;
  secrets.regionId = config.region;
  if (config.endpoints) {
    vaults.endpoint = config.endpoints.vaults.replace(/\/+$/, '');
    secrets.endpoint = config.endpoints.secrets.replace(/\/+$/, '');
  }
  return {
    vaults,
    secrets,
    close: () => {
      vaults.close();
      secrets.close();
    },
  };
}

/** What an SDK error is: its HTTP status and service code (`-1`/`'network'` when no answer came). */
export function ociStatus(e: unknown): { status: number; code: string; message: string } {
  const o = (e ?? {}) as { statusCode?: unknown; serviceCode?: unknown; code?: unknown; message?: unknown };
  if (typeof o.statusCode === 'number' && o.statusCode > 0) return { status: o.statusCode, code: String(o.serviceCode ?? 'None'), message: String(o.message ?? '') };
  return { status: -1, code: typeof o.code === 'string' ? o.code : 'network', message: typeof o.message === 'string' ? o.message : String(e) };
}

/** The Keyturn error for an SDK error that the caller does not handle itself. */
export function storeError(e: unknown, what: string): KeyturnError {
  if (e instanceof KeyturnError) return e;
  const { status, code, message } = ociStatus(e);
  const text = `OCI Vault ${what}: ${status === -1 ? '' : `${status} `}${code}: ${message}`.slice(0, 600);
  if (status === 401 || status === 403) return new KeyturnError('KT_STORE_AUTH_FAILED', text, { details: { status, code } });
  if (status === -1 || status === 429 || status >= 500) return new KeyturnError('KT_STORE_UNAVAILABLE', text, { details: { status, code } });
  return new KeyturnError('KT_STORE_FAILED', text, { details: { status, code } });
}
