/**
 * The Consumer interface: a program that must get the new value of a secret after a rotation
 * (a rendered file, a command, a signal to a process, later webhooks and Kubernetes rollouts).
 * One folder per consumer implements it and passes `runConsumerContract`
 * (src/contracts/consumer-contract.ts). A consumer failure never undoes a finished rotation:
 * the engine records it per consumer, retries it, and shows it.
 *
 * @example
 * ```ts
 * const c = createConsumer({ type: 'file', path: '/etc/app/db.env', template: 'PASSWORD={{password}}\n' });
 * await c.deliver(ctx, { path: 'prod/db/app', versionId, number: 7, value: { password: '...' } });
 * ```
 */
import type { Logger } from '../core/logger.js';
import type { SecretValue } from '../core/types.js';

/** What a consumer receives: one version of one secret. */
export interface DeliveredSecret {
  readonly path: string;
  readonly versionId: string;
  readonly number: number;
  readonly value: SecretValue;
}

export interface ConsumerContext {
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface Consumer {
  readonly kind: string;
  /** A short description for `runs show` (never a value): "file /etc/app/db.env". */
  readonly describe: string;
  /** Delivers the value. Throws KT_CONSUMER_FAILED (with the reason, never the value) on failure. Idempotent. */
  deliver(ctx: ConsumerContext, secret: DeliveredSecret): Promise<void>;
  /** Optional health check after delivery. */
  check?(ctx: ConsumerContext): Promise<void>;
}
