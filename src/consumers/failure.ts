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

/** A KT_CONSUMER_PATH_UNSAFE error: "<describe>: <reason>" (a path that is not safe to read or write through). */
export function consumerPathUnsafe(describe: string, reason: string, details: Record<string, unknown> = {}): KeyturnError {
  return new KeyturnError('KT_CONSUMER_PATH_UNSAFE', `${describe}: ${reason}`, { details: { consumer: describe, ...details } });
}

/**
 * Waits for `work` no longer than `signal` allows: once it aborts, throws KT_CONSUMER_TIMEOUT
 * (the work itself is left to finish on its own; a hung file-system call cannot be cancelled).
 *
 * @example
 * ```ts
 * const bytes = await boundBy(ctx.signal, describe, 'reading the pid file', handle.read(buf, 0, n, 0));
 * ```
 */
export async function boundBy<T>(signal: AbortSignal, describe: string, what: string, work: Promise<T>): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    throw consumerTimeout(describe, what);
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(consumerTimeout(describe, what));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    work.catch(() => undefined);
  }
}

function consumerTimeout(describe: string, what: string): KeyturnError {
  return new KeyturnError('KT_CONSUMER_TIMEOUT', `${describe}: ${what} did not finish in time; the delivery was given up`, { details: { consumer: describe, timedOut: true } });
}
