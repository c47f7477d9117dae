/**
 * Runtime settings: read once from the environment (and command-line overrides), checked,
 * reported by variable name, then frozen. Nothing else in Keyturn reads `process.env` but
 * `processEnv()` (./env-vars.ts), where the CLI takes its environment; eslint.config.js keeps it so.
 *
 * The variables, their checks, defaults and meanings are listed once, in ./env-vars.ts, which
 * `keyturn --help` prints.
 *
 * @example
 * ```ts
 * const settings = loadSettings(process.env, { home: '/srv/keyturn' });
 * settings.maxValueBytes; // 65536
 * ```
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KeyturnError } from '../core/errors.js';
import { readEnvVars } from './env-vars.js';

/** The audit log's settings: checkpoint policy and sinks. */
export interface AuditSettings {
  readonly checkpointEvery: number;
  readonly checkpointSeconds: number;
  readonly jsonl: { readonly file: string; readonly maxBytes: number; readonly keep: number } | undefined;
  /** `token` is not enumerable: printing the settings never shows it. */
  readonly http: { readonly url: string; readonly token: string | undefined } | undefined;
  readonly syslog: string | undefined;
  /** The S3 sink (KEYTURN_AUDIT_S3_*); credentials are the AWS SDK default chain's. */
  readonly s3: AuditS3Settings | undefined;
  readonly sinkTimeoutMs: number;
  readonly sinkBatch: number;
}

/** The S3 audit sink's settings (KEYTURN_AUDIT_S3_*). */
export interface AuditS3Settings {
  /** `s3://bucket/prefix`. */
  readonly url: string;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly retentionDays: number | undefined;
  readonly lockMode: 'GOVERNANCE' | 'COMPLIANCE';
  readonly storageClass: string | undefined;
  readonly pathStyle: boolean;
}

/** The scheduler's settings (keyturn server, keyturn worker, rotate --due; src/schedule/scheduler.ts). */
export interface SchedulerSettings {
  /** How often a pass looks for due secrets (one also starts as soon as a rotation ends while more are due). */
  readonly intervalMs: number;
  /** Rotations at once in this instance. */
  readonly concurrency: number;
  /** Rotations at once on one target in this instance. */
  readonly targetConcurrency: number;
  /** How long a claimed secret is left to the instance that claimed it. */
  readonly claimMs: number;
}

/** Where the CLI's client goes instead of the local home (KEYTURN_ADDR). */
export interface RemoteSettings {
  /** The server's origin: `https://host:port` (or `http://` to loopback). */
  readonly addr: string;
  /** KEYTURN_TOKEN; not enumerable, so printing the settings never shows it. */
  readonly token: string | undefined;
  /** KEYTURN_CACERT, resolved: a PEM file of the CA to trust for `addr`. */
  readonly caCertFile: string | undefined;
}

export interface Settings {
  readonly home: string;
  readonly sqliteFile: string;
  readonly databaseUrl: string | undefined;
  /** KEYTURN_STORE_FILE, resolved: the primary store's config file; undefined for the embedded store. */
  readonly storeFile: string | undefined;
  /** The root key text from the environment; never printed. */
  readonly rootKeyFromEnv: string | undefined;
  readonly maxValueBytes: number;
  readonly purgeProtection: boolean;
  readonly recoveryDays: number;
  readonly maxVersions: number;
  readonly retentionDays: number;
  /** How long the embedded store's opened value answers repeated reads of its stage while nothing is written (KEYTURN_VALUE_CACHE_SECONDS; 0: off). */
  readonly valueCacheMs: number;
  readonly logLevel: string;
  /** How long an agent's last delivery report of a path keeps it subscribed to that path (KEYTURN_AGENT_STALE_AFTER). */
  readonly agentStaleAfterMs: number;
  /** Fault injection for the crash tests: the step boundary where a rotation kills itself. */
  readonly crashAt: string | undefined;
  readonly audit: AuditSettings;
  /** A rotation's lease on its secret (KEYTURN_LEASE_SECONDS), in ms. */
  readonly leaseMs: number;
  readonly scheduler: SchedulerSettings;
  /** Set when KEYTURN_ADDR is: the secret, rotate and runs commands talk to that server. */
  readonly remote: RemoteSettings | undefined;
  /** Notifications (src/notify/): how often the server's delivery pass runs. */
  readonly notify: NotifySettings;
  /**
   * A variable of the environment the settings were read from, for `${env:VAR}` references in
   * keyturn.yaml's notification channels (resolved when a notification is sent). Not enumerable.
   */
  readonly envVar: (name: string) => string | undefined;
}

export interface NotifySettings {
  /** KEYTURN_NOTIFY_INTERVAL_MS: how often `keyturn server` queues and sends notifications. */
  readonly intervalMs: number;
}

export const STATE_FILE = 'keyturn.db';

/** Parses the environment (plus overrides from flags) into frozen settings, or throws KT_CONFIG_INVALID. */
export function loadSettings(env: Record<string, string | undefined>, overrides: { home?: string } = {}): Settings {
  const { values, problems } = readEnvVars(env);
  if (problems.length > 0) throw new KeyturnError('KT_CONFIG_INVALID', problems.join('; '), { details: { issues: problems } });
  const e = values as unknown as EnvValues;
  const home = resolve(overrides.home ?? e.KEYTURN_HOME ?? join(homedir(), '.keyturn'));
  const settings = {
    home,
    sqliteFile: join(home, STATE_FILE),
    databaseUrl: e.KEYTURN_DATABASE_URL,
    storeFile: e.KEYTURN_STORE_FILE === undefined ? undefined : resolve(e.KEYTURN_STORE_FILE),
    maxValueBytes: e.KEYTURN_MAX_VALUE_BYTES,
    purgeProtection: e.KEYTURN_PURGE_PROTECTION,
    recoveryDays: e.KEYTURN_RECOVERY_DAYS,
    maxVersions: e.KEYTURN_MAX_VERSIONS,
    retentionDays: e.KEYTURN_RETENTION_DAYS,
    valueCacheMs: e.KEYTURN_VALUE_CACHE_SECONDS * 1000,
    logLevel: e.KEYTURN_LOG_LEVEL,
    agentStaleAfterMs: e.KEYTURN_AGENT_STALE_AFTER,
    crashAt: e.KEYTURN_CRASH_AT,
    audit: auditSettings(e, home),
    leaseMs: e.KEYTURN_LEASE_SECONDS * 1000,
    scheduler: Object.freeze({
      intervalMs: e.KEYTURN_SCHEDULER_INTERVAL_SECONDS * 1000,
      concurrency: e.KEYTURN_SCHEDULER_CONCURRENCY,
      targetConcurrency: e.KEYTURN_SCHEDULER_TARGET_CONCURRENCY,
      claimMs: e.KEYTURN_SCHEDULER_CLAIM_SECONDS * 1000,
    }),
    remote: remoteSettings(e),
    notify: Object.freeze({ intervalMs: e.KEYTURN_NOTIFY_INTERVAL_MS }),
  };
  // Not enumerable: logging or printing the settings never shows the key.
  Object.defineProperty(settings, 'rootKeyFromEnv', { value: e.KEYTURN_ROOT_KEY, enumerable: false });
  const environment = { ...env };
  Object.defineProperty(settings, 'envVar', { value: (name: string): string | undefined => environment[name], enumerable: false });
  return Object.freeze(settings) as Settings;
}

/** The checked values (./env-vars.ts): those with a default are always there. */
interface EnvValues {
  KEYTURN_HOME?: string;
  KEYTURN_STORE_FILE?: string;
  KEYTURN_DATABASE_URL?: string;
  KEYTURN_ROOT_KEY?: string;
  KEYTURN_MAX_VALUE_BYTES: number;
  KEYTURN_PURGE_PROTECTION: boolean;
  KEYTURN_RECOVERY_DAYS: number;
  KEYTURN_MAX_VERSIONS: number;
  KEYTURN_RETENTION_DAYS: number;
  KEYTURN_VALUE_CACHE_SECONDS: number;
  KEYTURN_LOG_LEVEL: string;
  KEYTURN_AUDIT_CHECKPOINT_EVERY: number;
  KEYTURN_AUDIT_CHECKPOINT_SECONDS: number;
  KEYTURN_AUDIT_JSONL?: string;
  KEYTURN_AUDIT_JSONL_MAX_BYTES: number;
  KEYTURN_AUDIT_JSONL_KEEP: number;
  KEYTURN_AUDIT_HTTP_URL?: string;
  KEYTURN_AUDIT_HTTP_TOKEN?: string;
  KEYTURN_AUDIT_SYSLOG?: string;
  KEYTURN_AUDIT_S3_BUCKET?: string;
  KEYTURN_AUDIT_S3_REGION?: string;
  KEYTURN_AUDIT_S3_ENDPOINT?: string;
  KEYTURN_AUDIT_S3_RETENTION_DAYS?: number;
  KEYTURN_AUDIT_S3_LOCK_MODE: 'GOVERNANCE' | 'COMPLIANCE';
  KEYTURN_AUDIT_S3_STORAGE_CLASS?: string;
  KEYTURN_AUDIT_S3_PATH_STYLE: boolean;
  KEYTURN_AUDIT_SINK_TIMEOUT_MS: number;
  KEYTURN_AUDIT_SINK_BATCH: number;
  KEYTURN_CRASH_AT?: string;
  KEYTURN_NOTIFY_INTERVAL_MS: number;
  KEYTURN_AGENT_STALE_AFTER: number;
  KEYTURN_LEASE_SECONDS: number;
  KEYTURN_SCHEDULER_INTERVAL_SECONDS: number;
  KEYTURN_SCHEDULER_CONCURRENCY: number;
  KEYTURN_SCHEDULER_TARGET_CONCURRENCY: number;
  KEYTURN_SCHEDULER_CLAIM_SECONDS: number;
  KEYTURN_ADDR?: string;
  KEYTURN_TOKEN?: string;
  KEYTURN_CACERT?: string;
}

function remoteSettings(e: EnvValues): RemoteSettings | undefined {
  if (e.KEYTURN_ADDR === undefined) return undefined;
  const remote = { addr: e.KEYTURN_ADDR, caCertFile: e.KEYTURN_CACERT === undefined ? undefined : resolve(e.KEYTURN_CACERT) };
  Object.defineProperty(remote, 'token', { value: e.KEYTURN_TOKEN, enumerable: false });
  return Object.freeze(remote) as RemoteSettings;
}

function auditSettings(e: EnvValues, home: string): AuditSettings {
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
    s3:
      e.KEYTURN_AUDIT_S3_BUCKET === undefined
        ? undefined
        : Object.freeze({
            url: e.KEYTURN_AUDIT_S3_BUCKET,
            region: e.KEYTURN_AUDIT_S3_REGION,
            endpoint: e.KEYTURN_AUDIT_S3_ENDPOINT,
            retentionDays: e.KEYTURN_AUDIT_S3_RETENTION_DAYS,
            lockMode: e.KEYTURN_AUDIT_S3_LOCK_MODE,
            storageClass: e.KEYTURN_AUDIT_S3_STORAGE_CLASS,
            pathStyle: e.KEYTURN_AUDIT_S3_PATH_STYLE,
          }),
    sinkTimeoutMs: e.KEYTURN_AUDIT_SINK_TIMEOUT_MS,
    sinkBatch: e.KEYTURN_AUDIT_SINK_BATCH,
  });
}
