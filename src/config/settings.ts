/**
 * Runtime settings: read once from the environment (and command-line overrides), validated with
 * zod, reported by variable name, then frozen. Nothing else in Keyturn reads `process.env`.
 *
 * The variables, their defaults and meanings are listed once, in ./env-vars.ts (`keyturn --help`
 * prints them); a test checks that this schema reads exactly those.
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
  KEYTURN_AUDIT_CHECKPOINT_EVERY: int(1, 1_000_000).default(1000),
  KEYTURN_AUDIT_CHECKPOINT_SECONDS: int(1, 86_400).default(300),
  KEYTURN_AUDIT_JSONL: z.string().min(1).optional(),
  KEYTURN_AUDIT_JSONL_MAX_BYTES: int(4096, 1024 ** 4).default(10 * 1024 * 1024),
  KEYTURN_AUDIT_JSONL_KEEP: int(1, 1000).default(5),
  KEYTURN_AUDIT_HTTP_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').optional(),
  KEYTURN_AUDIT_HTTP_TOKEN: z.string().optional(),
  KEYTURN_AUDIT_SYSLOG: z.string().regex(/^(udp|tcp):\/\/[^\s/:]+:\d{1,5}$/, 'must be udp://host:port or tcp://host:port').optional(),
  KEYTURN_AUDIT_SINK_TIMEOUT_MS: int(100, 600_000).default(5000),
  KEYTURN_AUDIT_SINK_BATCH: int(1, 100_000).default(500),
  KEYTURN_CRASH_AT: z
    .string()
    .regex(/^(prepare|create|set|test|finish|propagate):(before|after)$/, 'must be STEP:before or STEP:after')
    .optional(),
});

/** The audit log's settings: checkpoint policy and sinks. */
export interface AuditSettings {
  readonly checkpointEvery: number;
  readonly checkpointSeconds: number;
  readonly jsonl: { readonly file: string; readonly maxBytes: number; readonly keep: number } | undefined;
  /** `token` is not enumerable: printing the settings never shows it. */
  readonly http: { readonly url: string; readonly token: string | undefined } | undefined;
  readonly syslog: string | undefined;
  readonly sinkTimeoutMs: number;
  readonly sinkBatch: number;
}

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
  /** Fault injection for the crash tests: the step boundary where a rotation kills itself. */
  readonly crashAt: string | undefined;
  readonly audit: AuditSettings;
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
    crashAt: e.KEYTURN_CRASH_AT,
    audit: auditSettings(e, home),
  };
  // Not enumerable: logging or printing the settings never shows the key.
  Object.defineProperty(settings, 'rootKeyFromEnv', { value: e.KEYTURN_ROOT_KEY, enumerable: false });
  return Object.freeze(settings) as Settings;
}

function auditSettings(e: z.infer<typeof schema>, home: string): AuditSettings {
  let http: AuditSettings['http'];
  if (e.KEYTURN_AUDIT_HTTP_URL !== undefined) {
    http = { url: e.KEYTURN_AUDIT_HTTP_URL } as { url: string; token: string | undefined };
    Object.defineProperty(http, 'token', { value: e.KEYTURN_AUDIT_HTTP_TOKEN, enumerable: false });
    Object.freeze(http);
  }
  return Object.freeze({
    checkpointEvery: e.KEYTURN_AUDIT_CHECKPOINT_EVERY,
    checkpointSeconds: e.KEYTURN_AUDIT_CHECKPOINT_SECONDS,
    jsonl: e.KEYTURN_AUDIT_JSONL === undefined ? undefined : Object.freeze({ file: resolve(home, e.KEYTURN_AUDIT_JSONL), maxBytes: e.KEYTURN_AUDIT_JSONL_MAX_BYTES, keep: e.KEYTURN_AUDIT_JSONL_KEEP }),
    http,
    syslog: e.KEYTURN_AUDIT_SYSLOG,
    sinkTimeoutMs: e.KEYTURN_AUDIT_SINK_TIMEOUT_MS,
    sinkBatch: e.KEYTURN_AUDIT_SINK_BATCH,
  });
}
