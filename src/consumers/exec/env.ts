/**
 * The environment an exec consumer's command gets: a clean one, not Keyturn's own (which may
 * hold KEYTURN_ROOT_KEY or a database URL). It holds PATH (the system directories unless the
 * config sets it), the config's `env`, and the delivery:
 *
 * - `KEYTURN_PATH`, `KEYTURN_VERSION` (the number), `KEYTURN_VERSION_ID`;
 * - a string value in `KEYTURN_VALUE`;
 * - each field of a JSON value in `KEYTURN_FIELD_<UPPER_SNAKE_NAME>` (`dbHost`, `db.host` and
 *   `db-host` all become `KEYTURN_FIELD_DB_HOST`); a string field as is, anything else as JSON.
 *
 * Two fields that map to one variable, or a value holding NUL (which no environment can carry),
 * fail with KT_CONSUMER_FAILED naming the fields, never the values.
 *
 * @example
 * ```ts
 * deliveryEnv('exec app', { path: 'prod/db/app', versionId: 'v7', number: 7, value: { dbHost: 'h' } });
 * // { KEYTURN_PATH: 'prod/db/app', KEYTURN_VERSION: '7', KEYTURN_VERSION_ID: 'v7', KEYTURN_FIELD_DB_HOST: 'h' }
 * ```
 */
import type { DeliveredSecret } from '../consumer.js';
import { consumerFailed } from '../failure.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `dbHost` → `DB_HOST`, `HTTPServer` → `HTTP_SERVER`, `db.host`/`db-host` → `DB_HOST`. */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

/** The KEYTURN_* variables of one delivery. */
export function deliveryEnv(describe: string, secret: DeliveredSecret): Record<string, string> {
  const env: Record<string, string> = {
    KEYTURN_PATH: secret.path,
    KEYTURN_VERSION: String(secret.number),
    KEYTURN_VERSION_ID: secret.versionId,
  };
  if (typeof secret.value === 'string') {
    if (secret.value.includes('\0')) throw consumerFailed(describe, 'the value contains a NUL character, which an environment variable cannot carry');
    env.KEYTURN_VALUE = secret.value;
    return env;
  }
  const owner = new Map<string, string>();
  for (const [field, v] of Object.entries(secret.value)) {
    const name = `KEYTURN_FIELD_${upperSnake(field)}`;
    const taken = owner.get(name);
    if (taken !== undefined) throw consumerFailed(describe, `fields "${taken}" and "${field}" both map to the variable ${name}; rename one of them`);
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    if (text.includes('\0')) throw consumerFailed(describe, `field "${field}" contains a NUL character, which an environment variable cannot carry`);
    owner.set(name, field);
    env[name] = text;
  }
  return env;
}

/** The whole environment of the command. */
export function commandEnv(describe: string, configured: Readonly<Record<string, string>> | undefined, secret: DeliveredSecret): Record<string, string> {
  return { PATH: DEFAULT_PATH, ...(configured ?? {}), ...deliveryEnv(describe, secret) };
}
