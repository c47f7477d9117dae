/**
 * The script target's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * `set`, `test` and the optional `revoke` are argv templates run without a shell. The only
 * placeholders an argument may hold are the non-secret ones of {@link ARGV_PLACEHOLDERS}
 * (`{username}`, `{primaryUsername}`, `{strategy}`, `{action}`); a placeholder naming a password
 * (or any other) is refused here, at `keyturn apply`: a command line can be read by every local
 * user (`ps`, /proc/<pid>/cmdline). Passwords reach the command in KEYTURN_* environment
 * variables (`input: env`, the default) or as one JSON document on its standard input
 * (`input: stdin`); see ./script-env.ts and docs/targets/script.md.
 *
 * @example
 * ```ts
 * scriptConfigSchema.parse({
 *   type: 'script',
 *   set: ['/usr/local/bin/rotate-svc', 'set', '{username}'],
 *   test: ['/usr/local/bin/rotate-svc', 'test', '{username}'],
 * }).timeoutMs; // 30000
 * ```
 */
import { z } from 'zod';
import { commandArgField, commandCwdField, commandEnvField, commandTimeoutField } from '../../consumers/exec/config.js';
import type { Strategy } from '../target.js';

/** The placeholders an argv template may hold: none of them is a secret. */
export const ARGV_PLACEHOLDERS = ['username', 'primaryUsername', 'strategy', 'action'] as const;
export type ArgvPlaceholder = (typeof ARGV_PLACEHOLDERS)[number];

/** `{name}`: a placeholder in an argument (other braces, such as JSON, are left alone). */
export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/** Names that say "secret": the message for them says where the value goes instead. */
const SECRET_WORD = /pass|secret|token|key|cred|pwd|pin|value/i;

/** What each exit code means; every other non-zero exit is KT_TARGET_FAILED. */
export const DEFAULT_EXIT_CODES = {
  authFailed: 3,
  userMissing: 4,
  permissionDenied: 5,
  unavailable: 6,
  passwordRejected: 7,
  adminRequired: 8,
} as const;
export type ExitMeaning = keyof typeof DEFAULT_EXIT_CODES;

const exitCodeField = z
  .number({ error: 'must be an exit code' })
  .int('must be a whole number from 1 to 255')
  .min(1, 'must be a whole number from 1 to 255 (0 is success)')
  .max(255, 'must be a whole number from 1 to 255');

function argvTemplate(action: string, example: string) {
  return z
    .array(commandArgField, { error: 'must be a list: the command and its arguments' })
    .min(1, `must name the command to run, e.g. ["${example}", "${action}", "{username}"]`)
    .superRefine((argv, ctx) => {
      argv.forEach((arg, i) => {
        for (const m of arg.matchAll(PLACEHOLDER)) {
          const name = m[1]!;
          if (i === 0) ctx.addIssue({ code: 'custom', path: [i], message: 'the command itself cannot hold a placeholder' });
          else if ((ARGV_PLACEHOLDERS as readonly string[]).includes(name)) continue;
          else if (SECRET_WORD.test(name))
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: `{${name}} would put a secret on the command line, which every local user can read (ps, /proc): the command gets passwords in KEYTURN_* environment variables or, with input: stdin, as JSON on its standard input`,
            });
          else ctx.addIssue({ code: 'custom', path: [i], message: `unknown placeholder {${name}}: an argument may hold only ${ARGV_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` });
        }
      });
    })
    .describe(`command and arguments that ${action}, run without a shell; arguments may hold ${ARGV_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}, never a password`);
}

export const scriptConfigSchema = z
  .strictObject({
    type: z.literal('script'),
    set: argvTemplate('set the password of the user in KEYTURN_USERNAME', '/usr/local/bin/rotate-svc'),
    test: argvTemplate('log in with the credential and probe', '/usr/local/bin/rotate-svc'),
    revoke: argvTemplate('make the credential stop working (cleanup after grace)', '/usr/local/bin/rotate-svc').optional(),
    input: z
      .enum(['env', 'stdin'], { error: 'must be env or stdin' })
      .default('env')
      .describe('how passwords reach the command: KEYTURN_*_PASSWORD environment variables (env) or one JSON document on standard input (stdin)'),
    env: commandEnvField.optional().describe("extra environment variables; the command does not inherit Keyturn's environment (PATH defaults to the system directories)"),
    cwd: commandCwdField,
    timeoutMs: commandTimeoutField(30_000).describe('each call (set, test, revoke) is killed, with everything it started, after this long'),
    exitCodes: z
      .strictObject({
        authFailed: exitCodeField.optional().describe('the credential the command logged in with was refused (KT_TARGET_AUTH_FAILED); default 3'),
        userMissing: exitCodeField.optional().describe('the user does not exist (KT_TARGET_USER_MISSING); default 4'),
        permissionDenied: exitCodeField.optional().describe('the admin lacks a right (KT_TARGET_PERMISSION_DENIED); default 5'),
        unavailable: exitCodeField.optional().describe('the system cannot be reached (KT_TARGET_UNAVAILABLE); default 6'),
        passwordRejected: exitCodeField.optional().describe('the new password was refused by a policy (KT_TARGET_PASSWORD_REJECTED); default 7'),
        adminRequired: exitCodeField.optional().describe('an admin credential is needed and none was given (KT_TARGET_ADMIN_REQUIRED); default 8'),
      })
      .optional()
      .describe('exit codes of the commands and what they mean, over the defaults; any other non-zero exit is KT_TARGET_FAILED'),
    passwordLimits: z
      .strictObject({
        maxLength: z.number().int('must be a whole number').min(16, 'must be at least 16').max(4096, 'must be at most 4096').optional().describe('longest password the system takes'),
        excludeChars: z.string().optional().describe('characters the system cannot take in a password'),
      })
      .optional()
      .describe('limits the system puts on generated passwords'),
  })
  .superRefine((config, ctx) => {
    const codes = exitCodesOf(config.exitCodes);
    const seen = new Map<number, string>();
    for (const [meaning, code] of Object.entries(codes)) {
      const other = seen.get(code);
      if (other !== undefined)
        ctx.addIssue({ code: 'custom', path: ['exitCodes'], message: `exit code ${code} would mean both ${other} and ${meaning} (defaults fill the meanings not set); give each its own code` });
      seen.set(code, meaning);
    }
  });

export type ScriptTargetConfig = z.output<typeof scriptConfigSchema>;

/**
 * The exit codes in force: the configured ones over {@link DEFAULT_EXIT_CODES}.
 *
 * @example
 * ```ts
 * exitCodesOf({ authFailed: 42 }).authFailed; // 42
 * ```
 */
export function exitCodesOf(configured: Partial<Record<ExitMeaning, number | undefined>> | undefined): Record<ExitMeaning, number> {
  const codes: Record<ExitMeaning, number> = { ...DEFAULT_EXIT_CODES };
  for (const [meaning, code] of Object.entries(configured ?? {})) if (code !== undefined) codes[meaning as ExitMeaning] = code;
  return codes;
}

/** The strategies the script target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const scriptStrategies: readonly Strategy[] = ['single-user', 'alternating-users'];
