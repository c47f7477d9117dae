/**
 * The redis target's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * @example
 * ```ts
 * redisConfigSchema.parse({ type: 'redis', host: '127.0.0.1', port: 6379 });
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField, hostField, portField } from '../config-fields.js';

export const redisConfigSchema = z.strictObject({
  type: z.literal('redis'),
  host: hostField,
  port: portField,
  tls: z.boolean({ error: 'must be true or false' }).optional().describe('connect over TLS, verifying the server certificate'),
  connectTimeoutMs: connectTimeoutField,
});

export type RedisTargetConfig = z.output<typeof redisConfigSchema>;

/** The strategies the redis target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const redisStrategies: readonly Strategy[] = ['single-user', 'alternating-users', 'dual-key'];
