/**
 * The OCI Vault store's config (the YAML file KEYTURN_STORE_FILE names): where the vault is
 * (region, compartment, vault, master encryption key), an optional secret-name prefix, optional
 * endpoint overrides (a local or private endpoint), and which of the SDK's credential providers
 * signs the requests. No key material: a config file names its key file, instance and resource
 * principals get theirs from the platform.
 *
 * @example
 * ```ts
 * const config = configSchema.parse({
 *   type: 'oci', region: 'eu-frankfurt-1', compartmentId: 'ocid1.compartment.oc1..aaa',
 *   vaultId: 'ocid1.vault.oc1.eu-frankfurt-1.bbb', keyId: 'ocid1.key.oc1.eu-frankfurt-1.ccc',
 *   auth: { type: 'instance-principal' },
 * });
 * ```
 */
import { z } from 'zod';

const ocid = (kind: string) => z.string().regex(new RegExp(`^ocid1\\.${kind}\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[A-Za-z0-9._-]+$`), `must be an OCID of a ${kind} (ocid1.${kind}.…)`);

const auth = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('config-file'),
      /** The OCI config file (default ~/.oci/config, or OCI_CONFIG_FILE). */
      file: z.string().min(1).optional(),
      /** Its profile (default DEFAULT). */
      profile: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ type: z.literal('instance-principal') }).strict(),
  z.object({ type: z.literal('resource-principal') }).strict(),
]);

export const configSchema = z
  .object({
    type: z.literal('oci'),
    region: z.string().regex(/^[a-z0-9-]+$/, 'must be an OCI region identifier such as eu-frankfurt-1'),
    compartmentId: z.union([ocid('compartment'), ocid('tenancy')]),
    vaultId: ocid('vault'),
    /** The master encryption key new secrets are encrypted with (a symmetric key of the vault). */
    keyId: ocid('key'),
    /** Put before every secret name (letters, digits, `-`, `.`; Keyturn adds nothing else). */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,64}$/, 'must be 1 to 64 letters, digits, "-" or "."')
      .optional(),
    /** Endpoint overrides: the secret management API and the secret retrieval API. */
    endpoints: z.object({ vaults: z.url(), secrets: z.url() }).strict().optional(),
    auth: auth.default({ type: 'config-file' }),
  })
  .strict();

export type OciStoreConfig = z.infer<typeof configSchema>;
