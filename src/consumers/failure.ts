/**
 * Building KT_CONSUMER_FAILED errors the same way in every consumer: the consumer's description,
 * then the reason. Reasons name paths, pids, exit codes, signals and field names, never values.
 *
 * @example
 * ```ts
 * throw consumerFailed('file /etc/app/db.env', 'the folder /etc/app does not exist');
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { ConsumerContext } from './consumer.js';

/** A KT_CONSUMER_FAILED error: "<describe>: <reason>". */
export function consumerFailed(describe: string, reason: string, details: Record<string, unknown> = {}): KeyturnError {
  return new KeyturnError('KT_CONSUMER_FAILED', `${describe}: ${reason}`, { details: { consumer: describe, ...details } });
}

/** Throws KT_CONSUMER_FAILED when the delivery was cancelled before it started. */
export function throwIfAborted(ctx: ConsumerContext, describe: string): void {
  if (ctx.signal.aborted) throw consumerFailed(describe, 'the delivery was cancelled before it started', { aborted: true });
}

/**
 * The text of a file-system error for a reason: Node's message names the operation and the path
 * (`EACCES: permission denied, open '/etc/app/db.env'`), never file contents.
 */
export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return typeof err?.message === 'string' && typeof err.code === 'string' ? err.message : 'unexpected file-system error';
}
