/**
 * The postgres target's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * @example
 * ```ts
 * postgresConfigSchema.parse({ type: 'postgres', host: '127.0.0.1', port: 5432, database: 'app' });
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField, hostField, portField } from '../config-fields.js';

export const postgresConfigSchema = z.strictObject({
  type: z.literal('postgres'),
  host: hostField,
  port: portField,
  database: z
    .string({ error: 'must name the database to connect to' })
    .min(1, 'must name the database to connect to')
    .max(63, 'must be at most 63 bytes')
    .describe('database every connection opens (logins are tested against it)'),
  ssl: z.boolean({ error: 'must be true or false' }).optional().describe('connect over TLS, verifying the server certificate'),
  connectTimeoutMs: connectTimeoutField,
});

export type PostgresTargetConfig = z.output<typeof postgresConfigSchema>;

/** The strategies the postgres target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const postgresStrategies: readonly Strategy[] = ['single-user', 'alternating-users'];
