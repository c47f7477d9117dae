/**
 * The Vault store's config (KEYTURN_STORE_FILE): where Vault is (`address`, `namespace`,
 * `caCertFile`), the KV version 2 mount, and how Keyturn logs in. No field holds a credential:
 * a token comes from an environment variable (VAULT_TOKEN) or a file; AppRole's secret id from a
 * file (its role id is not secret); Kubernetes auth from the pod's service-account token file.
 *
 * @example
 * ```ts
 * configSchema.parse({ type: 'vault', address: 'https://vault:8200', auth: { method: 'approle', roleId: 'r-1', secretIdFile: '/run/secrets/sid' } });
 * ```
 */
import { z } from 'zod';

const tokenAuth = z.strictObject({
  method: z.literal('token'),
  /** The environment variable holding the token (default VAULT_TOKEN); read when `tokenFile` is not set. */
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .default('VAULT_TOKEN'),
  /** A file holding the token (a Vault Agent sink); read again after a 403. */
  tokenFile: z.string().min(1).optional(),
});

const approleAuth = z.strictObject({
  method: z.literal('approle'),
  /** Where AppRole is mounted (default approle). */
  mount: z.string().min(1).default('approle'),
  roleId: z.string().min(1),
  /** A file holding the secret id. */
  secretIdFile: z.string().min(1),
});

const kubernetesAuth = z.strictObject({
  method: z.literal('kubernetes'),
  /** Where Kubernetes auth is mounted (default kubernetes). */
  mount: z.string().min(1).default('kubernetes'),
  role: z.string().min(1),
  /** The service-account token (a JWT). */
  tokenFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
});

export const authSchema = z.discriminatedUnion('method', [tokenAuth, approleAuth, kubernetesAuth]);

export const configSchema = z.strictObject({
  type: z.literal('vault'),
  /** Vault's address, e.g. https://vault.internal:8200. */
  address: z.url({ protocol: /^https?$/ }),
  /** The KV version 2 mount (default secret). */
  mount: z
    .string()
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be a mount path without leading or trailing "/"')
    .default('secret'),
  /** Vault Enterprise / HCP namespace (sent as X-Vault-Namespace). */
  namespace: z.string().min(1).optional(),
  /** A PEM file of the CA certificates that sign Vault's TLS certificate. */
  caCertFile: z.string().min(1).optional(),
  /**
   * The folder of the mount holding Keyturn's per-secret ledgers (version ids, kinds, stages,
   * deletion marks). A `~` keeps it apart from every Keyturn path (which cannot hold one).
   */
  ledgerFolder: z
    .string()
    .regex(/^[A-Za-z0-9._~-]*~[A-Za-z0-9._~-]*$/, 'must be one path segment holding a "~"')
    .default('~keyturn'),
  auth: authSchema.default({ method: 'token', tokenEnv: 'VAULT_TOKEN' }),
  /**
   * How long a writer waits on another writer's unfinished put (its claim on the next version
   * number) before taking it for a crashed one's and dropping it (default 8000 ms).
   */
  claimWaitMs: z.number().int().min(0).max(600_000).default(8000),
  /** Retries of a throttled (429), sealed/unavailable (5xx) or unreachable Vault before KT_STORE_UNAVAILABLE (default 4). */
  maxRetries: z.number().int().min(0).max(10).default(4),
});

export type VaultStoreConfig = z.infer<typeof configSchema>;
export type VaultAuthConfig = z.infer<typeof authSchema>;
