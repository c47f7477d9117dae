/**
 * What one call of the script target hands its command: the argv (templates expanded), the
 * environment, the optional stdin document, and the spellings of every secret in play (for
 * scrubbing stderr).
 *
 * The environment is a clean one (not Keyturn's): PATH (the system directories unless the config
 * sets it), the config's `env`, and
 *
 * | variable | value |
 * | --- | --- |
 * | `KEYTURN_ACTION` | `set`, `test` or `revoke` |
 * | `KEYTURN_STRATEGY` | `single-user` or `alternating-users` |
 * | `KEYTURN_PRIMARY_USERNAME` | the primary user (alternating-users: without `_clone`) |
 * | `KEYTURN_INPUT` | `env` or `stdin`: where the passwords are |
 * | `KEYTURN_USERNAME` | the user to set, test or revoke |
 * | `KEYTURN_CURRENT_USERNAME` | set only: the user of the credential that works now (absent on first set-up) |
 * | `KEYTURN_ADMIN_USERNAME` | the admin's user, when the target names an admin |
 * | `KEYTURN_PASSWORD`, `KEYTURN_CURRENT_PASSWORD`, `KEYTURN_ADMIN_PASSWORD` | the passwords of the three, with `input: env` only |
 *
 * With `input: stdin` the passwords are only in the JSON document on standard input:
 * `{"version":1,"action","strategy","primaryUsername","credential":{username,password,...},"current":{...}|null,"admin":{...}|null}`,
 * each credential with all its fields.
 *
 * @example
 * ```ts
 * const call = scriptCall(config, 'test', { strategy: 'single-user', primaryUsername: 'app', credential: cred, current: null, admin: null });
 * call.argv; // ['/usr/local/bin/rotate-svc', 'test', 'app']
 * call.env.KEYTURN_PASSWORD === cred.password; // true with input: env
 * ```
 */
import { DEFAULT_PATH } from '../../consumers/exec/env.js';
import { secretForms } from '../../consumers/exec/scrub.js';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import type { Credential, Strategy } from '../target.js';
import { PLACEHOLDER, type ArgvPlaceholder, type ScriptTargetConfig } from './config.js';

export type ScriptAction = 'set' | 'test' | 'revoke';

export interface CallInput {
  readonly strategy: Strategy;
  readonly primaryUsername: string;
  /** The credential to set (its password the new one), test or revoke. */
  readonly credential: Credential;
  /** set only: the credential that works now, or null. */
  readonly current: Credential | null;
  readonly admin: Credential | null;
}

export interface ScriptCall {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly stdin: string | undefined;
  /** Every spelling of every password (and extra field) in play, longest first; user names are left out. */
  readonly forms: readonly string[];
}

/**
 * The argv of `action` with its placeholders filled; a value that would read as an option is refused.
 *
 * @example
 * ```ts
 * expandArgv(['/bin/pw', 'set', '--user={username}'], { username: 'app', primaryUsername: 'app', strategy: 'single-user', action: 'set' }); // ['/bin/pw', 'set', '--user=app']
 * ```
 */
export function expandArgv(template: readonly string[], values: Readonly<Record<ArgvPlaceholder, string>>): string[] {
  return template.map((arg, i) => {
    if (i === 0) return arg;
    const out = arg.replace(PLACEHOLDER, (_m, name: string) => values[name as ArgvPlaceholder]);
    if (out !== arg && out.startsWith('-') && !arg.startsWith('-')) {
      throw new KeyturnError('KT_TARGET_USERNAME_INVALID', `the script target refuses to pass "${out}" as argument ${i}: it would read as an option`, { details: { target: 'script' } });
    }
    return out;
  });
}

/** Builds what the command gets for one call (see the module's example). */
export function scriptCall(config: ScriptTargetConfig, action: ScriptAction, input: CallInput): ScriptCall {
  const template = action === 'revoke' ? config.revoke! : config[action];
  const argv = expandArgv(template, { username: input.credential.username, primaryUsername: input.primaryUsername, strategy: input.strategy, action });
  const people: Array<[prefix: string, cred: Credential | null]> = [
    ['KEYTURN_', input.credential],
    ['KEYTURN_CURRENT_', action === 'set' ? input.current : null],
    ['KEYTURN_ADMIN_', input.admin],
  ];
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    ...(config.env ?? {}),
    KEYTURN_ACTION: action,
    KEYTURN_STRATEGY: input.strategy,
    KEYTURN_PRIMARY_USERNAME: input.primaryUsername,
    KEYTURN_INPUT: config.input,
  };
  for (const [prefix, cred] of people) {
    if (!cred) continue;
    env[`${prefix}USERNAME`] = cred.username;
    if (config.input === 'env') env[`${prefix}PASSWORD`] = cred.password;
  }
  for (const [name, value] of Object.entries(env)) {
    if (value.includes('\0')) {
      throw new KeyturnError('KT_TARGET_PASSWORD_REJECTED', `the script target cannot pass ${name} in the environment: it contains a NUL character (use input: stdin)`, {
        details: { target: 'script' },
      });
    }
  }
  const stdin =
    config.input === 'stdin'
      ? `${JSON.stringify({ version: 1, action, strategy: input.strategy, primaryUsername: input.primaryUsername, credential: input.credential, current: people[1]![1], admin: input.admin })}\n`
      : undefined;
  return { argv, env, stdin, forms: secretSpellings(people.map(([, c]) => c)) };
}

/**
 * The spellings (see `secretForms`) of every field of these credentials but the user names,
 * which messages name anyway: a form that only a user name makes is left out, so stderr keeps
 * "user app refused" readable while any password, raw or encoded, is replaced.
 *
 * @example
 * ```ts
 * secretSpellings([{ username: 'app', password: 'pw-1' }]).includes('pw-1'); // true, and 'app' is not there
 * ```
 */
export function secretSpellings(creds: ReadonlyArray<Credential | null>): string[] {
  const all = new Set<string>();
  const fromSecrets = new Set<string>();
  const fromNames = new Set<string>();
  for (const cred of creds) {
    if (!cred) continue;
    const { username, ...rest } = cred;
    for (const f of secretForms(cred as unknown as SecretValue)) all.add(f);
    for (const f of secretForms(username)) fromNames.add(f);
    for (const v of Object.values(rest)) if (v !== null && v !== undefined && typeof v !== 'boolean') for (const f of secretForms(typeof v === 'string' ? v : JSON.stringify(v))) fromSecrets.add(f);
  }
  return [...all].filter((f) => fromSecrets.has(f) || !fromNames.has(f)).sort((a, b) => b.length - a.length);
}
