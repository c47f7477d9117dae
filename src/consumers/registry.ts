/**
 * The consumer registry: each consumer type's strict config schema and factory, the
 * discriminated union the keyturn.yaml loader uses (`consumerConfigSchema`), and
 * `createConsumer`, the only way the engine makes a consumer. Adding a consumer adds a folder
 * and one entry here; the engine does not change.
 *
 * @example
 * ```ts
 * const c = createConsumer({ type: 'exec', argv: ['/usr/bin/systemctl', 'reload', 'app'] });
 * await c.deliver(ctx, secret);
 * ```
 */
import { z } from 'zod';
import { KeyturnError } from '../core/errors.js';
import type { Consumer } from './consumer.js';
import { execConfigSchema, type ExecConsumerConfig } from './exec/config.js';
import { createExecConsumer } from './exec/exec-consumer.js';
import { fileConfigSchema, type FileConsumerConfig } from './file/config.js';
import { createFileConsumer } from './file/file-consumer.js';
import { signalConfigSchema, type SignalConsumerConfig } from './signal/config.js';
import { createSignalConsumer } from './signal/signal-consumer.js';

/** Each consumer type: its config schema and its factory. */
export const consumerTypes = {
  file: { configSchema: fileConfigSchema, create: (c: FileConsumerConfig): Consumer => createFileConsumer(c) },
  exec: { configSchema: execConfigSchema, create: (c: ExecConsumerConfig): Consumer => createExecConsumer(c) },
  signal: { configSchema: signalConfigSchema, create: (c: SignalConsumerConfig): Consumer => createSignalConsumer(c) },
} as const;

export type ConsumerType = keyof typeof consumerTypes;
const TYPES = Object.keys(consumerTypes).join(', ');

/**
 * A consumer's config, chosen by `type` (strict: unknown keys are errors).
 *
 * @example
 * ```ts
 * consumerConfigSchema.parse({ type: 'signal', pidFile: '/run/app.pid' }); // { type: 'signal', pidFile: '/run/app.pid', signal: 'SIGHUP' }
 * ```
 */
export const consumerConfigSchema = z.discriminatedUnion('type', [fileConfigSchema, execConfigSchema, signalConfigSchema], {
  error: (issue) => {
    if (issue.code === 'invalid_union') return `type must be one of: ${TYPES}`;
    if (issue.code === 'invalid_type') return `a consumer must be an object with a type (${TYPES})`;
    return undefined;
  },
});

export type ConsumerConfig = z.output<typeof consumerConfigSchema>;
export type ConsumerConfigInput = z.input<typeof consumerConfigSchema>;

/**
 * Parses a consumer config, or throws KT_CONSUMER_CONFIG_INVALID listing each problem by key.
 *
 * @example
 * ```ts
 * parseConsumerConfig({ type: 'file', path: 'db.env' }); // throws: path: must be an absolute path, ...
 * ```
 */
export function parseConsumerConfig(input: unknown): ConsumerConfig {
  const result = consumerConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new KeyturnError('KT_CONSUMER_CONFIG_INVALID', `the consumer configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
}

/**
 * Makes a consumer from its config (parsed here, so raw input is fine).
 *
 * @example
 * ```ts
 * createConsumer({ type: 'file', path: '/etc/app/db.env', template: 'PASSWORD={{password}}\n' }).describe; // 'file /etc/app/db.env'
 * ```
 */
export function createConsumer(config: ConsumerConfigInput | ConsumerConfig): Consumer {
  const parsed = parseConsumerConfig(config);
  switch (parsed.type) {
    case 'file':
      return consumerTypes.file.create(parsed);
    case 'exec':
      return consumerTypes.exec.create(parsed);
    case 'signal':
      return consumerTypes.signal.create(parsed);
  }
}
