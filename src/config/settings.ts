/**
 * Runtime settings: read once from the environment (and command-line overrides), validated with
 * zod, reported by variable name, then frozen. Nothing else in Keyturn reads `process.env`.
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | KEYTURN_HOME | ~/.keyturn | home folder: root.key, keyturn.db |
 * | KEYTURN_DATABASE_URL | (unset: SQLite in the home) | postgres:// URL of a shared state database |
 * | KEYTURN_ROOT_KEY | (unset: home/root.key) | base64 root key, instead of the file |
 * | KEYTURN_MAX_VALUE_BYTES | 65536 | largest secret value |
 * | KEYTURN_PURGE_PROTECTION | true | refuse purges inside the recovery window |
 * | KEYTURN_RECOVERY_DAYS | 30 | default recovery window of a delete (7 to 90) |
 * | KEYTURN_MAX_VERSIONS | 100 | unlabeled versions kept beyond this are pruned |
 * | KEYTURN_RETENTION_DAYS | 7 | no version younger than this is pruned |
 * | KEYTURN_LOG_LEVEL | warn | pino level of the logs written to stderr |
 *
 * @example
 * ```ts
 * const settings = loadSettings(process.env, { home: '/srv/keyturn' });
 * settings.maxValueBytes; // 65536
 * ```
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { KeyturnError } from '../core/errors.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  KEYTURN_HOME: z.string().min(1).optional(),
  KEYTURN_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  KEYTURN_ROOT_KEY: z.string().optional(),
  KEYTURN_MAX_VALUE_BYTES: int(1, 16 * 1024 * 1024).default(64 * 1024),
  KEYTURN_PURGE_PROTECTION: bool.default(true),
  KEYTURN_RECOVERY_DAYS: int(7, 90).default(30),
  KEYTURN_MAX_VERSIONS: int(2, 100_000).default(100),
  KEYTURN_RETENTION_DAYS: int(0, 3650).default(7),
  KEYTURN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

export interface Settings {
  readonly home: string;
  readonly sqliteFile: string;
  readonly databaseUrl: string | undefined;
  /** The root key text from the environment; never printed. */
  readonly rootKeyFromEnv: string | undefined;
  readonly maxValueBytes: number;
  readonly purgeProtection: boolean;
  readonly recoveryDays: number;
  readonly maxVersions: number;
  readonly retentionDays: number;
  readonly logLevel: string;
}

export const STATE_FILE = 'keyturn.db';

/** Parses the environment (plus overrides from flags) into frozen settings, or throws KT_CONFIG_INVALID. */
export function loadSettings(env: Record<string, string | undefined>, overrides: { home?: string } = {}): Settings {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') picked[key] = v;
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new KeyturnError('KT_CONFIG_INVALID', lines.join('; '), { details: { issues: lines } });
  }
  const e = parsed.data;
  const home = resolve(overrides.home ?? e.KEYTURN_HOME ?? join(homedir(), '.keyturn'));
  const settings = {
    home,
    sqliteFile: join(home, STATE_FILE),
    databaseUrl: e.KEYTURN_DATABASE_URL,
    maxValueBytes: e.KEYTURN_MAX_VALUE_BYTES,
    purgeProtection: e.KEYTURN_PURGE_PROTECTION,
    recoveryDays: e.KEYTURN_RECOVERY_DAYS,
    maxVersions: e.KEYTURN_MAX_VERSIONS,
    retentionDays: e.KEYTURN_RETENTION_DAYS,
    logLevel: e.KEYTURN_LOG_LEVEL,
  };
  // Not enumerable: logging or printing the settings never shows the key.
  Object.defineProperty(settings, 'rootKeyFromEnv', { value: e.KEYTURN_ROOT_KEY, enumerable: false });
  return Object.freeze(settings) as Settings;
}
