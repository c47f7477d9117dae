/**
 * The signal consumer: tells a running process to reload by sending it a signal (SIGHUP by
 * default), found through its pid file. The process is expected to read the new value itself
 * (usually from a file another consumer rendered first). A signal carries no value, so this
 * consumer never touches one. Sending it twice means reloading twice, which is harmless.
 *
 * @example
 * ```ts
 * const c = createSignalConsumer(signalConfigSchema.parse({ type: 'signal', pidFile: '/run/nginx.pid' }));
 * await c.deliver(ctx, secret); // nginx reloads
 * ```
 */
import type { Consumer } from '../consumer.js';
import { consumerFailed, throwIfAborted } from '../failure.js';
import type { SignalConsumerConfig } from './config.js';
import { assertAlive, readPidFile } from './pid-file.js';

/** Creates a signal consumer from a parsed config (see `signalConfigSchema`). */
export function createSignalConsumer(config: SignalConsumerConfig): Consumer {
  const describe = `signal ${config.signal} to the process in ${config.pidFile}`;

  return {
    kind: 'signal',
    describe,
    async deliver(ctx, secret) {
      throwIfAborted(ctx, describe);
      const pid = await readPidFile(describe, config.pidFile, ctx.signal);
      assertAlive(describe, pid);
      try {
        process.kill(pid, config.signal);
      } catch (e) {
        throw consumerFailed(describe, `could not signal process ${pid} (${String((e as NodeJS.ErrnoException).code)})`, { pid });
      }
      ctx.log.debug({ consumer: describe, pid, path: secret.path, versionId: secret.versionId }, 'signal consumer delivered');
    },
    async check(ctx) {
      throwIfAborted(ctx, describe);
      assertAlive(describe, await readPidFile(describe, config.pidFile, ctx.signal));
    },
  };
}
