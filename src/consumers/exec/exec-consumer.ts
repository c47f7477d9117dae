/**
 * The exec consumer: runs a command (no shell) with the new value in its environment
 * (see ./env.ts), never on its command line. A non-zero exit, a death by signal, a timeout or a
 * cancellation fails with KT_CONSUMER_FAILED carrying the exit code or signal and the scrubbed
 * tail of stderr (see ./scrub.ts). The command should be idempotent: a retried delivery runs it again.
 *
 * @example
 * ```ts
 * const c = createExecConsumer(execConfigSchema.parse({ type: 'exec', argv: ['/usr/local/bin/reload-app'] }));
 * await c.deliver(ctx, { path: 'prod/db/app', versionId, number: 7, value: { username: 'app', password } });
 * ```
 */
import { stat } from 'node:fs/promises';
import type { Consumer } from '../consumer.js';
import { consumerFailed, throwIfAborted } from '../failure.js';
import type { ExecConsumerConfig } from './config.js';
import { commandEnv } from './env.js';
import { runCommand, type RunResult } from './run.js';
import { secretForms, stderrExcerpt, stderrKeepBytes } from './scrub.js';

/** Creates an exec consumer from a parsed config (see `execConfigSchema`). */
export function createExecConsumer(config: ExecConsumerConfig): Consumer {
  const describe = `exec ${config.argv[0]!}`;

  return {
    kind: 'exec',
    describe,
    async deliver(ctx, secret) {
      throwIfAborted(ctx, describe);
      const env = commandEnv(describe, config.env, secret);
      if (config.cwd !== undefined) {
        const isDir = await stat(config.cwd).then(
          (s) => s.isDirectory(),
          () => false,
        );
        if (!isDir) throw consumerFailed(describe, `the working folder ${config.cwd} does not exist`);
      }
      const forms = secretForms(secret.value);
      const result = await runCommand({
        argv: config.argv,
        env,
        cwd: config.cwd,
        timeoutMs: config.timeoutMs,
        signal: ctx.signal,
        keepStderrBytes: stderrKeepBytes(forms),
      });
      const failure = describeFailure(result, config.timeoutMs);
      if (failure !== null) {
        const stderr = stderrExcerpt(result.stderrTail, result.stderrTruncated, forms);
        throw consumerFailed(describe, stderr === '' ? failure : `${failure}; stderr: ${stderr}`, {
          exitCode: result.code,
          signal: result.signal,
          timedOut: result.timedOut,
        });
      }
      ctx.log.debug({ consumer: describe, path: secret.path, versionId: secret.versionId }, 'exec consumer delivered');
    },
  };
}

function describeFailure(r: RunResult, timeoutMs: number): string | null {
  if (r.startError !== null) return `the command could not be started (${r.startError})`;
  if (r.timedOut) return `the command timed out after ${timeoutMs} ms; its process group was killed`;
  if (r.aborted) return "the delivery was cancelled; the command's process group was killed";
  if (r.signal !== null) return `the command was killed by ${r.signal}`;
  if (r.code !== 0) return `the command exited with code ${String(r.code)}`;
  return null;
}
