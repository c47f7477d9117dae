/**
 * The consumer registry: one entry per consumer type (its strict config schema and factory),
 * through the shared registry helper (src/core/registry.ts). From it come the discriminated union
 * the keyturn.yaml schema uses (`consumerConfigSchema`) and `createConsumer`, the only way the
 * engine makes a consumer. Adding a consumer adds a folder and one entry here; the engine does
 * not change.
 *
 * @example
 * ```ts
 * const c = createConsumer({ type: 'exec', argv: ['/usr/bin/systemctl', 'reload', 'app'] });
 * await c.deliver(ctx, secret);
 * ```
 */
import { z } from 'zod';
import { defineRegistry, registryEntry } from '../core/registry.js';
import type { Consumer } from './consumer.js';
import { execConfigSchema } from './exec/config.js';
import { createExecConsumer } from './exec/exec-consumer.js';
import { fileConfigSchema } from './file/config.js';
import { createFileConsumer } from './file/file-consumer.js';
import { kubernetesConfigSchema } from './kubernetes/config.js';
import { createKubernetesConsumer } from './kubernetes/kubernetes-consumer.js';
import { signalConfigSchema } from './signal/config.js';
import { createSignalConsumer } from './signal/signal-consumer.js';

/** Every consumer type, in the order they are documented. */
export const consumerRegistry = defineRegistry({ noun: 'consumer', invalid: 'KT_CONSUMER_CONFIG_INVALID', zod: z }, [
  registryEntry({ kind: 'file', configSchema: fileConfigSchema, create: (c): Consumer => createFileConsumer(c) }),
  registryEntry({ kind: 'exec', configSchema: execConfigSchema, create: (c): Consumer => createExecConsumer(c) }),
  registryEntry({ kind: 'signal', configSchema: signalConfigSchema, create: (c): Consumer => createSignalConsumer(c) }),
  registryEntry({ kind: 'kubernetes', configSchema: kubernetesConfigSchema, create: (c): Consumer => createKubernetesConsumer(c) }),
]);

export type ConsumerType = (typeof consumerRegistry.kinds)[number];

/**
 * A consumer's config, chosen by `type` (strict: unknown keys are errors).
 *
 * @example
 * ```ts
 * consumerConfigSchema.parse({ type: 'signal', pidFile: '/run/app.pid' }); // { type: 'signal', pidFile: '/run/app.pid', signal: 'SIGHUP' }
 * ```
 */
export const consumerConfigSchema = consumerRegistry.configSchema;

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
  return consumerRegistry.parse(input);
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
  return consumerRegistry.create(config, undefined);
}
