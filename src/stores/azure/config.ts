/**
 * The Azure Key Vault store's config (the YAML file KEYTURN_STORE_FILE names): which vault,
 * which name prefix, and hints for the credential chain. No credential goes here: the store takes
 * its token from DefaultAzureCredential (environment, workload identity, managed identity, Azure
 * CLI), which reads its own variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, ...).
 *
 * @example
 * ```ts
 * configSchema.parse({ type: 'azure', vaultUrl: 'https://prod-kv.vault.azure.net', prefix: 'keyturn-' });
 * ```
 */
import { z } from 'zod';

/** Key Vault allows names of [0-9a-zA-Z-] up to 127 characters; the prefix leaves room for the path. */
export const MAX_PREFIX_LENGTH = 24;

/**
 * The store's config: a strict object, `type: azure`.
 *
 * @example
 * ```ts
 * configSchema.safeParse({ type: 'azure', vaultUrl: 'http://kv' }).success; // false: https only
 * ```
 */
export const configSchema = z
  .object({
    type: z.literal('azure'),
    /** The vault's URL, `https://<name>.vault.azure.net` (or a sovereign cloud's, or a private endpoint's). */
    vaultUrl: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'the vault URL must start with https:// (Key Vault takes tokens only over TLS)'),
    /** Put before every secret name Keyturn makes (letters, digits and dashes), so Keyturn's secrets stand apart in a shared vault. */
    prefix: z
      .string()
      .regex(/^[0-9a-zA-Z-]*$/, 'the prefix may hold only letters, digits and dashes (Key Vault names are [0-9a-zA-Z-])')
      .max(MAX_PREFIX_LENGTH)
      .default(''),
    /** The Entra tenant the credential chain signs in to (else AZURE_TENANT_ID, else the vault's challenge says). */
    tenantId: z.string().min(1).optional(),
    /** The client id of a user-assigned managed identity or workload identity (else AZURE_CLIENT_ID). */
    clientId: z.string().min(1).optional(),
    /** Skips the check that the vault's challenge names a resource the vault URL is under (only for a private endpoint or a test server). */
    disableChallengeResourceVerification: z.boolean().default(false),
    /** How often deletion and recovery (asynchronous in Key Vault) are polled, in milliseconds. */
    pollIntervalMs: z.number().int().min(1).max(60_000).default(1000),
  })
  .strict();

export type AzureStoreConfig = z.infer<typeof configSchema>;
