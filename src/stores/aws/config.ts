/**
 * The AWS Secrets Manager store's config (the YAML file KEYTURN_STORE_FILE names): the region,
 * an optional endpoint (a VPC endpoint, or a local server in tests), an optional KMS key for new
 * secrets, an optional secret-name prefix and an optional profile. No credential field: the SDK's
 * default provider chain finds them (environment, profile, web identity, container or instance
 * metadata).
 *
 * @example
 * ```ts
 * configSchema.parse({ type: 'aws', region: 'eu-west-1', prefix: 'keyturn/' });
 * ```
 */
import { z } from 'zod';

/** Characters AWS allows in a secret name (the prefix is the start of one). */
const NAME_CHARS = /^[A-Za-z0-9/_+=.@-]*$/;

/**
 * The store's config schema (strict: an unknown key, such as a credential, is refused).
 *
 * @example
 * ```ts
 * configSchema.safeParse({ type: 'aws', region: 'eu-west-1', secretAccessKey: '...' }).success; // false
 * ```
 */
export const configSchema = z
  .object({
    type: z.literal('aws'),
    /** The AWS region, e.g. `eu-west-1`. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'a region name such as eu-west-1'),
    /** An endpoint other than the region's public one (a VPC endpoint, FIPS, or a local server). */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** The KMS key (id, alias or ARN) new secrets are encrypted with; AWS's default `aws/secretsmanager` key when absent. */
    kmsKeyId: z.string().min(1).max(2048).optional(),
    /** Put before every Keyturn path to make the secret name, e.g. `keyturn/`; listing sees only names under it. */
    prefix: z.string().max(256).regex(NAME_CHARS, 'only letters, digits and / _ + = . @ -').optional(),
    /** The shared-config profile the default provider chain reads (as AWS_PROFILE does). */
    profile: z.string().min(1).max(128).optional(),
  })
  .strict();

/**
 * A parsed config.
 *
 * @example
 * ```ts
 * const config: AwsStoreConfig = { type: 'aws', region: 'eu-west-1', prefix: 'keyturn/' };
 * ```
 */
export type AwsStoreConfig = z.output<typeof configSchema>;
