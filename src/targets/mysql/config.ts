/**
 * The mysql target's configuration (strict zod schema, used by the keyturn.yaml loader). Works
 * with MySQL and MariaDB.
 *
 * @example
 * ```ts
 * mysqlConfigSchema.parse({ type: 'mysql', host: '127.0.0.1', port: 3306 }).userHost; // '%'
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField, hostField, portField } from '../config-fields.js';

export const mysqlConfigSchema = z.strictObject({
  type: z.literal('mysql'),
  host: hostField,
  port: portField,
  database: z.string({ error: 'must be a database name' }).min(1, 'must be a database name').max(64, 'must be at most 64 characters').optional().describe('database logins open (default: none)'),
  userHost: z
    .string({ error: "must be the host part of the accounts, such as '%' or 'localhost'" })
    .min(1, "must be the host part of the accounts, such as '%' or 'localhost'")
    .max(255, 'must be at most 255 characters')
    .default('%')
    .describe("host part of the rotated accounts ('user'@'host'); the clone gets the same"),
  connectTimeoutMs: connectTimeoutField,
});

export type MysqlTargetConfig = z.output<typeof mysqlConfigSchema>;

/** The strategies the mysql target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const mysqlStrategies: readonly Strategy[] = ['single-user', 'alternating-users'];
