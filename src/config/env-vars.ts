/**
 * Every environment variable Keyturn reads, with its default and meaning: the one list that
 * `keyturn --help` prints and `src/config/settings.ts` validates (a test keeps the two equal).
 * No imports, so the CLI can print it without loading the validator.
 *
 * @example
 * ```ts
 * ENV_VARS.find((v) => v.name === 'KEYTURN_RECOVERY_DAYS')!.default; // '30'
 * ```
 */
export interface EnvVar {
  readonly name: string;
  /** The default as the user would write it, or what applies when unset. */
  readonly default: string;
  readonly meaning: string;
}

export const ENV_VARS: readonly EnvVar[] = [
  { name: 'KEYTURN_HOME', default: '~/.keyturn', meaning: 'home folder: root.key, keyturn.db (--home overrides it)' },
  { name: 'KEYTURN_DATABASE_URL', default: '(unset: SQLite in the home)', meaning: 'postgres:// URL of a state database shared by several instances' },
  { name: 'KEYTURN_ROOT_KEY', default: '(unset: root.key in the home)', meaning: 'base64 root key, instead of the file' },
  { name: 'KEYTURN_OUTPUT', default: 'text', meaning: 'default output format: text or json (as --json)' },
  { name: 'KEYTURN_MAX_VALUE_BYTES', default: '65536', meaning: 'largest secret value, in bytes' },
  { name: 'KEYTURN_PURGE_PROTECTION', default: 'true', meaning: 'refuse purges inside the recovery window' },
  { name: 'KEYTURN_RECOVERY_DAYS', default: '30', meaning: 'recovery window of a delete, 7 to 90 days' },
  { name: 'KEYTURN_MAX_VERSIONS', default: '100', meaning: 'versions without a stage beyond this many are pruned' },
  { name: 'KEYTURN_RETENTION_DAYS', default: '7', meaning: 'no version younger than this is pruned' },
  { name: 'KEYTURN_LOG_LEVEL', default: 'warn', meaning: 'log level on stderr (fatal, error, warn, info, debug, trace, silent); logs never hold values' },
  { name: 'KEYTURN_AUDIT_CHECKPOINT_EVERY', default: '1000', meaning: 'sign an audit checkpoint after this many events' },
  { name: 'KEYTURN_AUDIT_CHECKPOINT_SECONDS', default: '300', meaning: '... or after this many seconds; also the idle heartbeat interval' },
  { name: 'KEYTURN_AUDIT_JSONL', default: '(unset)', meaning: 'audit sink: a JSON Lines file (relative to the home), rotated by size' },
  { name: 'KEYTURN_AUDIT_JSONL_MAX_BYTES', default: '10485760', meaning: 'rotate the JSONL file before it passes this size' },
  { name: 'KEYTURN_AUDIT_JSONL_KEEP', default: '5', meaning: 'rotated JSONL files kept (file.1 newest)' },
  { name: 'KEYTURN_AUDIT_HTTP_URL', default: '(unset)', meaning: 'audit sink: batched POSTs of JSON Lines to this URL (a SIEM)' },
  { name: 'KEYTURN_AUDIT_HTTP_TOKEN', default: '(unset)', meaning: 'bearer token for the HTTP sink; never printed' },
  { name: 'KEYTURN_AUDIT_SYSLOG', default: '(unset)', meaning: 'audit sink: syslog RFC 5424 to udp://host:port or tcp://host:port' },
  { name: 'KEYTURN_AUDIT_SINK_TIMEOUT_MS', default: '5000', meaning: 'longest one sink delivery may take before it is retried later' },
  { name: 'KEYTURN_AUDIT_SINK_BATCH', default: '500', meaning: 'events per sink delivery' },
  { name: 'KEYTURN_CRASH_AT', default: '(unset)', meaning: 'testing only: STEP:before or STEP:after makes a rotation SIGKILL itself there' },
];

/** The variables as help text: name, default, meaning; aligned. */
export function envVarsHelp(): string {
  const width = Math.max(...ENV_VARS.map((v) => v.name.length));
  return ENV_VARS.map((v) => `  ${v.name.padEnd(width)}  ${v.meaning} (default ${v.default})`).join('\n');
}
