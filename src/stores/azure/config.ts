/**
 * The Azure Key Vault store's config (the YAML file KEYTURN_STORE_FILE names): which vault,
 * which name prefix, and hints for the credential chain. No credential goes here: the store takes
 * its token from DefaultAzureCredential (environment, workload identity, managed identity, Azure
 * CLI), which reads its own variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
 * AZURE_AUTHORITY_HOST, ...). `authorityHost`, `disableInstanceDiscovery` and `caCertFile` point
 * that chain (and the vault client) at a sovereign cloud, Azure Stack or a private authority.
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
    /**
     * The Microsoft Entra ID authority host tokens come from: a sovereign cloud's
     * (`https://login.microsoftonline.us`, `https://login.chinacloudapi.cn`) or Azure Stack's
     * AD FS. Else AZURE_AUTHORITY_HOST (which AKS workload identity sets), else the public cloud's.
     */
    authorityHost: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'the authority host must start with https://')
      .optional(),
    /**
     * Skips MSAL's instance discovery (a request to login.microsoftonline.com that vouches for
     * the authority): for Azure Stack, AD FS, a private cloud, or any authority host that
     * discovery does not know. Only with an authority host you trust.
     */
    disableInstanceDiscovery: z.boolean().default(false),
    /**
     * A PEM file of CA certificates trusted besides Node's own, for the vault and the authority
     * (a private endpoint or Azure Stack behind an internal CA).
     */
    caCertFile: z.string().min(1).optional(),
    /** Skips the check that the vault's challenge names a resource the vault URL is under (only for a private endpoint or a test server). */
    disableChallengeResourceVerification: z.boolean().default(false),
    /** How often deletion and recovery (asynchronous in Key Vault) are polled, in milliseconds. */
    pollIntervalMs: z.number().int().min(1).max(60_000).default(1000),
  })
  .strict();

export type AzureStoreConfig = z.infer<typeof configSchema>;
