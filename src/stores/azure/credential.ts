/**
 * What the Azure store's clients sign in and connect with: DefaultAzureCredential (environment,
 * workload identity, managed identity, developer tools) with the config's tenant, client id,
 * authority host and instance-discovery hints, and the CA certificates both the credential's and
 * the vault's requests trust (Node's own plus `caCertFile`, or a test's CA).
 *
 * @example
 * ```ts
 * const tls = trustedCas(config, options.ca);
 * const credential = defaultCredential(config, tls);
 * ```
 */
import { readFileSync } from 'node:fs';
import { getCACertificates, rootCertificates } from 'node:tls';
import { DefaultAzureCredential, type DefaultAzureCredentialOptions } from '@azure/identity';
import { KeyturnError } from '../../core/errors.js';
import type { AzureStoreConfig } from './config.js';

/** TLS settings for the SDK's pipelines: undefined keeps Node's defaults (its roots, NODE_EXTRA_CA_CERTS). */
export type TrustSettings = { ca: string[] } | undefined;

/**
 * The CAs to trust when the config names a `caCertFile` or a test hands `extra`: Node's default
 * ones plus those (an explicit CA list would otherwise replace Node's, and a vault behind a
 * private CA still signs in at a public authority). KT_STORE_CONFIG_INVALID when the file cannot be read.
 *
 * @example
 * ```ts
 * trustedCas({ ...config, caCertFile: '/etc/keyturn/kv-ca.pem' }); // { ca: [...Node's, the file's] }
 * ```
 */
export function trustedCas(config: Pick<AzureStoreConfig, 'caCertFile'>, extra?: string): TrustSettings {
  const added: string[] = [];
  if (config.caCertFile !== undefined) {
    try {
      added.push(readFileSync(config.caCertFile, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'an error';
      throw new KeyturnError('KT_STORE_CONFIG_INVALID', `the file ${config.caCertFile} (caCertFile) cannot be read (${code})`, { details: { file: config.caCertFile, key: 'caCertFile' } });
    }
  }
  if (extra !== undefined) added.push(extra);
  if (added.length === 0) return undefined;
  const defaults = typeof getCACertificates === 'function' ? getCACertificates('default') : [...rootCertificates];
  return { ca: [...defaults, ...added] };
}

/**
 * DefaultAzureCredential as the config shapes it (tenant, client id, authority host, instance discovery, trusted CAs).
 *
 * @example
 * ```ts
 * const credential = defaultCredential(configSchema.parse({ type: 'azure', vaultUrl, authorityHost: 'https://login.microsoftonline.us' }), undefined);
 * ```
 */
export function defaultCredential(config: AzureStoreConfig, tls: TrustSettings): DefaultAzureCredential {
  const { tenantId, clientId, authorityHost, disableInstanceDiscovery } = config;
  const options: DefaultAzureCredentialOptions = {
    ...(tenantId ? { tenantId } : {}),
    ...(clientId ? { managedIdentityClientId: clientId, workloadIdentityClientId: clientId } : {}),
    ...(authorityHost ? { authorityHost } : {}),
    ...(disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
    ...(tls ? { tlsOptions: tls } : {}),
  };
  return new DefaultAzureCredential(options);
}
