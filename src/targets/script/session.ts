/**
 * One call of the script target: builds the command's argv, environment and stdin (./script-env.ts),
 * runs it with `runCommand` (no shell, its own process group, killed with everything it started
 * on timeout or when the context's signal aborts), and maps its end (./errors.ts). Nothing of the
 * command's output reaches a log or an error but the scrubbed tail of stderr.
 *
 * @example
 * ```ts
 * await runScript(config, 'test', { strategy: 'single-user', primaryUsername: 'app', credential: cred, current: null, admin: null }, ctx, 'log in');
 * ```
 */
import { runCommand } from '../../consumers/exec/run.js';
import { stderrKeepBytes } from '../../consumers/exec/scrub.js';
import type { CommandEndpoint } from '../target-error.js';
import type { TargetContext } from '../target.js';
import { exitCodesOf, type ScriptTargetConfig } from './config.js';
import { scriptError } from './errors.js';
import { scriptCall, type CallInput, type ScriptAction } from './script-env.js';

export function endpointOf(config: ScriptTargetConfig, action: ScriptAction): CommandEndpoint {
  const argv = action === 'revoke' ? config.revoke! : config[action];
  return { kind: 'script', command: argv[0]! };
}

/** Runs `action`'s command for `input`; throws the mapped KeyturnError when it does not exit 0. */
export async function runScript(config: ScriptTargetConfig, action: ScriptAction, input: CallInput, ctx: Pick<TargetContext, 'signal' | 'log'>, what: string): Promise<void> {
  const call = scriptCall(config, action, input);
  const at = endpointOf(config, action);
  const result = await runCommand({
    argv: call.argv,
    env: call.env,
    cwd: config.cwd,
    timeoutMs: config.timeoutMs,
    signal: ctx.signal,
    keepStderrBytes: stderrKeepBytes(call.forms),
    stdin: call.stdin,
  });
  const login = action === 'test' ? input.credential.username : (input.admin?.username ?? input.current?.username ?? input.credential.username);
  const error = scriptError(result, at, { username: input.credential.username, action: what }, login, exitCodesOf(config.exitCodes), config.timeoutMs, call.forms);
  if (error) throw error;
  ctx.log.debug({ target: 'script', command: at.command, action, username: input.credential.username }, 'script target command succeeded');
}
