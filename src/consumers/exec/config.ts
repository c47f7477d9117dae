/**
 * The exec consumer's configuration (strict zod schema, used by the keyturn.yaml loader), and the
 * command fields it shares with the script target (src/targets/script/config.ts).
 *
 * `argv` is run without a shell. `env` adds variables to the command's environment; names that
 * start with `KEYTURN_` are refused because Keyturn sets those itself.
 *
 * @example
 * ```ts
 * execConfigSchema.parse({ type: 'exec', argv: ['/usr/bin/systemctl', 'reload', 'app'] }).timeoutMs; // 30000
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const noNul = (s: string) => !s.includes('\0');

/**
 * One argument of a command line: not empty, no NUL.
 *
 * @example
 * ```ts
 * z.array(commandArgField).parse(['/usr/bin/true']);
 * ```
 */
export const commandArgField = z.string().min(1, 'must not be empty').refine(noNul, 'must not contain NUL');

/**
 * Extra environment variables of a command: valid names, string values, no `KEYTURN_*` name.
 *
 * @example
 * ```ts
 * commandEnvField.parse({ LANG: 'C' });
 * ```
 */
export const commandEnvField = z
  .record(z.string(), z.string({ error: 'environment variable values must be strings' }).refine(noNul, 'must not contain NUL'), {
    error: 'must be a map of environment variable names to strings',
  })
  .superRefine((env, ctx) => {
    // Checked here rather than as the record's key schema, whose problems zod reports only as "Invalid key in record".
    for (const name of Object.keys(env)) {
      if (!ENV_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'environment variable names are [A-Za-z_][A-Za-z0-9_]*' });
      else if (name.toUpperCase().startsWith('KEYTURN_')) ctx.addIssue({ code: 'custom', path: [name], message: 'KEYTURN_* variables are set by Keyturn and cannot be configured' });
    }
  });

/**
 * A command's time limit in milliseconds, with its default.
 *
 * @example
 * ```ts
 * commandTimeoutField(30_000).parse(undefined); // 30000
 * ```
 */
export function commandTimeoutField(defaultMs: number) {
  return z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(3_600_000, 'must be at most 3600000 (one hour)')
    .default(defaultMs)
    .describe('the command (and everything it started) is killed after this long');
}

/**
 * A command's working folder: an absolute path.
 *
 * @example
 * ```ts
 * commandCwdField.parse('/srv/app');
 * ```
 */
export const commandCwdField = z
  .string()
  .refine((p) => isAbsolute(p) && noNul(p), 'must be an absolute folder path')
  .optional()
  .describe('working folder of the command');

export const execConfigSchema = z.strictObject({
  type: z.literal('exec'),
  argv: z
    .array(commandArgField, { error: 'must be a list: the command and its arguments' })
    .min(1, 'must name the command to run, e.g. ["/usr/bin/systemctl", "reload", "app"]')
    .describe('command and arguments, run without a shell; values arrive in KEYTURN_* environment variables, never here'),
  env: commandEnvField.optional().describe("extra environment variables; the command does not inherit Keyturn's environment (PATH defaults to the system directories)"),
  timeoutMs: commandTimeoutField(30_000),
  cwd: commandCwdField,
});

export type ExecConsumerConfig = z.output<typeof execConfigSchema>;
export type ExecConsumerConfigInput = z.input<typeof execConfigSchema>;
