/**
 * Sends a template's signal to the process in its pid file after a real change of the rendered
 * file (nginx, HAProxy, a daemon that reloads on SIGHUP), with the signal consumer
 * (../consumers/signal/: the pid file read safely, a stale pid, a zombie or the agent's own pid
 * refused). A failure is KT_AGENT_SIGNAL_FAILED naming the template, never a value.
 *
 * @example
 * ```ts
 * await signalTemplate(template, 0, secret, { log, signal }); // SIGHUP to the pid in /run/nginx.pid
 * ```
 */
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import { createSignalConsumer } from '../consumers/signal/signal-consumer.js';
import type { AgentTemplate } from './config.js';

/** Signals the process of template `index` (nothing without a pidFile); KT_AGENT_SIGNAL_FAILED when it cannot. */
export async function signalTemplate(t: AgentTemplate, index: number, secret: DeliveredSecret, o: { log: Logger; signal: AbortSignal }): Promise<void> {
  if (t.pidFile === undefined) return;
  const consumer = createSignalConsumer({ type: 'signal', pidFile: t.pidFile, signal: t.signal });
  try {
    await consumer.deliver({ log: o.log, signal: o.signal }, secret);
  } catch (e) {
    const why = isKeyturnError(e) ? e.message : `${consumer.describe}: unexpected ${(e as Error).name}`;
    throw new KeyturnError('KT_AGENT_SIGNAL_FAILED', `templates.${index}: ${why}`, {
      details: { template: index, secret: t.secret, destination: t.destination, pidFile: t.pidFile, signal: t.signal, pid: isKeyturnError(e) ? e.details.pid : undefined },
    });
  }
}
