/**
 * Zod fields shared by the targets' config schemas (host, port, timeouts), with the messages the
 * keyturn.yaml loader shows next to the key's dot-path.
 *
 * @example
 * ```ts
 * const schema = z.strictObject({ type: z.literal('postgres'), host: hostField, port: portField, connectTimeoutMs: connectTimeoutField });
 * ```
 */
import { z } from 'zod';

export const hostField = z
  .string({ error: 'must be a host name or IP address' })
  .min(1, 'must be a host name or IP address')
  .max(253, 'must be at most 253 characters')
  .refine((h) => !/[\s/]/.test(h), 'must be a bare host name or IP address, without spaces, scheme or path')
  .describe('host name or IP address of the server');

export const portField = z
  .number({ error: 'must be a port number' })
  .int('must be a whole number from 1 to 65535')
  .min(1, 'must be a whole number from 1 to 65535')
  .max(65535, 'must be a whole number from 1 to 65535')
  .describe('TCP port of the server');

/** Default connect timeout when the config gives none. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export const connectTimeoutField = z
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(100, 'must be at least 100 ms')
  .max(600_000, 'must be at most 600000 ms (10 minutes)')
  .optional()
  .describe(`give up connecting after this long (default ${DEFAULT_CONNECT_TIMEOUT_MS} ms)`);

/** Backstop on each statement or command, below the rotation's own time limit (ctx.signal). */
export const STATEMENT_TIMEOUT_MS = 60_000;
