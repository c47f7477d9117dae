/**
 * The rabbitmq target's configuration (strict zod schema, used by the keyturn.yaml loader).
 * `host`/`port` are the AMQP listener (`test` logs in there); passwords are set through the
 * management HTTP API at `managementUrl` (default `http://<host>:15672`, `https://<host>:15671`
 * with `tls`).
 *
 * @example
 * ```ts
 * rabbitmqConfigSchema.parse({ type: 'rabbitmq', host: '127.0.0.1', port: 5672 }).vhost; // '/'
 * managementUrlOf({ type: 'rabbitmq', host: '127.0.0.1', port: 5672, vhost: '/' }); // 'http://127.0.0.1:15672'
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField, hostField, portField } from '../config-fields.js';

const URL_MESSAGE = 'must be an http:// or https:// URL of the management API, without user, password, query or fragment';

export const rabbitmqConfigSchema = z.strictObject({
  type: z.literal('rabbitmq'),
  host: hostField,
  port: portField,
  vhost: z
    .string({ error: 'must name a virtual host' })
    .min(1, 'must name a virtual host')
    .max(255, 'must be at most 255 characters')
    .default('/')
    .describe('virtual host `test` opens when it logs in (default /); the rotated users need access to it'),
  tls: z.boolean({ error: 'must be true or false' }).optional().describe('log in over AMQPS, verifying the server certificate'),
  managementUrl: z
    .string({ error: URL_MESSAGE })
    .refine((text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
    }, URL_MESSAGE)
    .optional()
    .describe('base URL of the management HTTP API, where passwords, permissions and tags are set (default http://<host>:15672, or https://<host>:15671 with tls)'),
  connectTimeoutMs: connectTimeoutField,
});

export type RabbitmqTargetConfig = z.output<typeof rabbitmqConfigSchema>;

/** The strategies the rabbitmq target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const rabbitmqStrategies: readonly Strategy[] = ['single-user', 'alternating-users'];

/** The management API's base URL, without a trailing slash. */
export function managementUrlOf(config: RabbitmqTargetConfig): string {
  if (config.managementUrl !== undefined) return config.managementUrl.replace(/\/+$/, '');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return config.tls === true ? `https://${host}:15671` : `http://${host}:15672`;
}
