/**
 * Runs a template's command after a real change of its rendered file, with the exec consumer's
 * runner (../consumers/exec/run.ts: no shell, own process group, the whole group killed on
 * timeout). It runs in the config file's folder with PATH set to the system folders and
 * KEYTURN_PATH, KEYTURN_VERSION, KEYTURN_VERSION_ID and KEYTURN_DESTINATION; never a value (the
 * command reads the file). A failure (exit code, signal, timeout, not started) is
 * KT_AGENT_COMMAND_FAILED; stderr is not kept (it could echo the file).
 *
 * @example
 * ```ts
 * await runTemplateCommand(template, 0, secret, { dir: '/etc/keyturn', signal });
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import { DEFAULT_PATH } from '../consumers/exec/env.js';
import { runCommand } from '../consumers/exec/run.js';
import type { AgentTemplate } from './config.js';

/** Runs the command of template `index` (nothing without one); KT_AGENT_COMMAND_FAILED when it fails. */
export async function runTemplateCommand(t: AgentTemplate, index: number, secret: DeliveredSecret, o: { dir: string; signal: AbortSignal }): Promise<void> {
  if (t.command === undefined) return;
  const r = await runCommand({
    argv: t.command,
    env: { PATH: DEFAULT_PATH, KEYTURN_PATH: secret.path, KEYTURN_VERSION: String(secret.number), KEYTURN_VERSION_ID: secret.versionId, KEYTURN_DESTINATION: t.destination },
    cwd: o.dir,
    timeoutMs: t.timeoutMs,
    signal: o.signal,
    keepStderrBytes: 0,
  });
  const why =
    r.startError !== null
      ? `did not start (${r.startError})`
      : r.timedOut
        ? `was killed after its timeout of ${t.timeoutMs} ms`
        : r.aborted
          ? 'was stopped with the agent'
          : r.signal !== null
            ? `was ended by ${r.signal}`
            : r.code !== 0
              ? `exited with code ${r.code}`
              : null;
  if (why !== null) {
    throw new KeyturnError('KT_AGENT_COMMAND_FAILED', `templates.${index}: the command ${t.command[0]} ${why}`, {
      details: { template: index, secret: t.secret, destination: t.destination, exitCode: r.code, signal: r.signal, timedOut: r.timedOut },
    });
  }
}
