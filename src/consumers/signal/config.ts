/**
 * The signal consumer's configuration (strict zod schema, used by the keyturn.yaml loader).
 * `signal` is a name from `os.constants.signals`; "HUP" is read as "SIGHUP".
 *
 * @example
 * ```ts
 * signalConfigSchema.parse({ type: 'signal', pidFile: '/run/app.pid', signal: 'usr1' }).signal; // 'SIGUSR1'
 * ```
 */
import { constants } from 'node:os';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** "hup", "HUP", "SIGHUP" → "SIGHUP". */
function normalize(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('SIG') ? upper : `SIG${upper}`;
}

/** A signal name of this system ("hup", "HUP" and "SIGHUP" are SIGHUP). */
export const signalName = z.string({ error: 'must be a signal name such as "SIGHUP"' }).transform((name, ctx) => {
  const normalized = normalize(name);
  if (!Object.hasOwn(constants.signals, normalized)) {
    ctx.addIssue({ code: 'custom', message: 'must be a signal name of this system, such as SIGHUP, SIGUSR1, SIGUSR2 or SIGTERM' });
    return z.NEVER;
  }
  return normalized as NodeJS.Signals;
});

export const signalConfigSchema = z.strictObject({
  type: z.literal('signal'),
  pidFile: z
    .string({ error: 'must be the absolute path of a pid file' })
    .refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path, such as /run/app.pid')
    .describe('file holding the process id to signal'),
  signal: signalName.default('SIGHUP').describe('signal to send, default SIGHUP'),
});

export type SignalConsumerConfig = z.output<typeof signalConfigSchema>;
export type SignalConsumerConfigInput = z.input<typeof signalConfigSchema>;
