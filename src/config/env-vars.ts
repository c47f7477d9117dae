/**
 * Every environment variable Keyturn reads: name, meaning, default and the check its value must
 * pass. The one list that `loadSettings` validates against and `keyturn --help` prints, so the
 * two cannot drift. Plain checks instead of a schema library: every command reads the settings,
 * and this module (importing only the leaf ../core/duration.ts) costs nothing at start-up.
 *
 * @example
 * ```ts
 * readEnvVars({ KEYTURN_RECOVERY_DAYS: '14' }).values.KEYTURN_RECOVERY_DAYS; // 14
 * readEnvVars({ KEYTURN_RECOVERY_DAYS: '3' }).problems; // ['KEYTURN_RECOVERY_DAYS: must be a whole number from 7 to 90']
 * ```
 */

import { parseDuration } from '../core/duration.js';

/** Turns the text of a variable into its value, or returns the problem as a string. */
export type Check = (text: string) => { value: unknown } | { problem: string };

export interface EnvVar {
  readonly name: string;
  readonly meaning: string;
  /** The default, written as a user would set it (checked like a user's value); none: unset. */
  readonly default?: string;
  /** What unset means, when there is no default value. */
  readonly unset?: string;
  readonly check: Check;
}

const int =
  (min: number, max: number): Check =>
  (text) => {
    const n = Number(text);
    return /^\d+$/.test(text.trim()) && Number.isSafeInteger(n) && n >= min && n <= max ? { value: n } : { problem: `must be a whole number from ${min} to ${max}` };
  };

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];
const bool: Check = (text) => {
  const t = text.toLowerCase();
  if (TRUE.includes(t)) return { value: true };
  if (FALSE.includes(t)) return { value: false };
  return { problem: `must be one of ${[...TRUE, ...FALSE].join(', ')}` };
};

const oneOf =
  (...choices: string[]): Check =>
  (text) =>
    choices.includes(text) ? { value: text } : { problem: `must be one of ${choices.join(', ')}` };

const matching =
  (re: RegExp, problem: string): Check =>
  (text) =>
    re.test(text) ? { value: text } : { problem };

const anyText: Check = (text) => ({ value: text });

/** A duration (`30s`, `20m`, `24h`, `7d`) from `minMs` to `maxMs`, as milliseconds. */
const duration =
  (minMs: number, maxMs: number, range: string): Check =>
  (text) => {
    const ms = parseDuration(text);
    return ms !== null && ms >= minMs && ms <= maxMs ? { value: ms } : { problem: `must be a duration such as 30m, 24h or 7d, ${range}` };
  };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** A server's address: https://HOST[:PORT], or http:// only to loopback (a token never crosses a network in the clear). */
export const serverAddress: Check = (text) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'must be a URL such as https://keyturn.example.com:8787 or http://127.0.0.1:8787' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'must start with https:// (or http:// to 127.0.0.1, [::1] or localhost)' };
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname))
    return { problem: 'plain http:// is only for 127.0.0.1, [::1] or localhost: use https:// (the token would cross the network in the clear)' };
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return { problem: 'must be only scheme, host and port (no path, query or credentials)' };
  return { value: url.origin };
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ENV_VARS: readonly EnvVar[] = [
  { name: 'KEYTURN_HOME', meaning: 'home folder: root.key, keyturn.db (--home overrides it)', unset: '~/.keyturn', check: anyText },
  {
    name: 'KEYTURN_DATABASE_URL',
    meaning: 'postgres:// URL of a state database shared by several instances',
    unset: 'SQLite in the home',
    check: matching(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  },
  {
    name: 'KEYTURN_STORE_FILE',
    meaning: 'YAML file naming the store secret values live in (type: vault, aws, azure, gcp, oci or kubernetes, and its settings; docs/stores/README.md)',
    unset: 'the embedded store, in the state database',
    check: anyText,
  },
  { name: 'KEYTURN_ROOT_KEY', meaning: 'base64 root key, instead of the file', unset: 'root.key in the home', check: anyText },
  { name: 'KEYTURN_OUTPUT', meaning: 'output format when neither --json is given: text or json', default: 'text', check: oneOf('text', 'json') },
  { name: 'KEYTURN_MAX_VALUE_BYTES', meaning: 'largest secret value, in bytes', default: '65536', check: int(1, 16 * 1024 * 1024) },
  { name: 'KEYTURN_PURGE_PROTECTION', meaning: 'refuse purges inside the recovery window', default: 'true', check: bool },
  { name: 'KEYTURN_RECOVERY_DAYS', meaning: 'recovery window of a delete, 7 to 90 days', default: '30', check: int(7, 90) },
  { name: 'KEYTURN_MAX_VERSIONS', meaning: 'versions without a stage beyond this many are pruned', default: '100', check: int(2, 100_000) },
  { name: 'KEYTURN_RETENTION_DAYS', meaning: 'no version younger than this is pruned', default: '7', check: int(0, 3650) },
  {
    name: 'KEYTURN_VALUE_CACHE_SECONDS',
    meaning: 'a value the embedded store opened answers repeated reads of its stage for this long, unless anything is written first (0: open it on every read)',
    default: '30',
    check: int(0, 3600),
  },
  { name: 'KEYTURN_LOG_LEVEL', meaning: `log level on stderr (${LOG_LEVELS.join(', ')}); logs never hold values`, default: 'warn', check: oneOf(...LOG_LEVELS) },
  { name: 'KEYTURN_AUDIT_CHECKPOINT_EVERY', meaning: 'sign an audit checkpoint after this many events', default: '1000', check: int(1, 1_000_000) },
  { name: 'KEYTURN_AUDIT_CHECKPOINT_SECONDS', meaning: '... or after this many seconds; also the idle heartbeat interval', default: '300', check: int(1, 86_400) },
  { name: 'KEYTURN_AUDIT_JSONL', meaning: 'audit sink: a JSON Lines file (relative to the home), rotated by size', unset: 'no such sink', check: anyText },
  { name: 'KEYTURN_AUDIT_JSONL_MAX_BYTES', meaning: 'rotate the JSONL file before it passes this size', default: '10485760', check: int(4096, 1024 ** 4) },
  { name: 'KEYTURN_AUDIT_JSONL_KEEP', meaning: 'rotated JSONL files kept (file.1 newest)', default: '5', check: int(1, 1000) },
  {
    name: 'KEYTURN_AUDIT_HTTP_URL',
    meaning: 'audit sink: batched POSTs of JSON Lines to this URL (a SIEM)',
    unset: 'no such sink',
    check: matching(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL'),
  },
  { name: 'KEYTURN_AUDIT_HTTP_TOKEN', meaning: 'bearer token for the HTTP sink; never printed', unset: 'no token', check: anyText },
  {
    name: 'KEYTURN_AUDIT_SYSLOG',
    meaning: 'audit sink: syslog RFC 5424 to udp://host:port or tcp://host:port',
    unset: 'no such sink',
    check: matching(/^(udp|tcp):\/\/[^\s/:]+:\d{1,5}$/, 'must be udp://host:port or tcp://host:port'),
  },
  {
    name: 'KEYTURN_AUDIT_S3_BUCKET',
    meaning: 'audit sink: event batches and checkpoints as objects in an S3-compatible bucket, s3://bucket/prefix (credentials: the AWS SDK default chain)',
    unset: 'no such sink',
    check: matching(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/\S*)?$/, 'must be s3://bucket/prefix with a valid bucket name'),
  },
  {
    name: 'KEYTURN_AUDIT_S3_REGION',
    meaning: 'region of the S3 audit bucket',
    unset: 'the AWS SDK default (AWS_REGION, the profile)',
    check: matching(/^[a-z0-9-]{1,64}$/, 'must be a region name such as eu-west-1'),
  },
  {
    name: 'KEYTURN_AUDIT_S3_ENDPOINT',
    meaning: 'endpoint of an S3-compatible service for the S3 audit sink (OCI Object Storage, MinIO)',
    unset: 'AWS S3',
    check: matching(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL'),
  },
  {
    name: 'KEYTURN_AUDIT_S3_RETENTION_DAYS',
    meaning: 'Object Lock retention of each audit object: retain until now + this many days',
    unset: "no retention headers (the bucket's default retention applies, if any)",
    check: int(1, 36_500),
  },
  { name: 'KEYTURN_AUDIT_S3_LOCK_MODE', meaning: 'Object Lock mode of the retention: GOVERNANCE or COMPLIANCE', default: 'COMPLIANCE', check: oneOf('GOVERNANCE', 'COMPLIANCE') },
  {
    name: 'KEYTURN_AUDIT_S3_STORAGE_CLASS',
    meaning: 'storage class of the audit objects (GLACIER_IR, DEEP_ARCHIVE, ...)',
    unset: "the bucket's default",
    check: oneOf('STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE', 'REDUCED_REDUNDANCY'),
  },
  { name: 'KEYTURN_AUDIT_S3_PATH_STYLE', meaning: 'path-style S3 requests (endpoint/bucket/key), for S3-compatible services that need them', default: 'false', check: bool },
  { name: 'KEYTURN_AUDIT_SINK_TIMEOUT_MS', meaning: 'longest one sink delivery may take before it is retried later', default: '5000', check: int(100, 600_000) },
  { name: 'KEYTURN_AUDIT_SINK_BATCH', meaning: 'events per sink delivery', default: '500', check: int(1, 100_000) },
  { name: 'KEYTURN_NOTIFY_INTERVAL_MS', meaning: 'how often keyturn server queues and sends webhook notifications, in ms', default: '2000', check: int(50, 600_000) },
  {
    name: 'KEYTURN_AGENT_STALE_AFTER',
    meaning: 'an agent whose last delivery report of a path is older than this no longer counts as subscribed to it (waitForAgents, runs show, metrics)',
    default: '24h',
    check: duration(60_000, 90 * 86_400_000, 'from 1m to 90d'),
  },
  {
    name: 'KEYTURN_ADDR',
    meaning: 'a keyturn server (https://HOST:PORT, or http://127.0.0.1:PORT): the secret, rotate and runs commands go through it',
    unset: 'the local home',
    check: serverAddress,
  },
  { name: 'KEYTURN_TOKEN', meaning: 'the API token (kt_...) sent to KEYTURN_ADDR; never printed', unset: 'none', check: anyText },
  { name: 'KEYTURN_CACERT', meaning: "PEM file of the CA that signed KEYTURN_ADDR's certificate (a private CA)", unset: "the system's CAs", check: anyText },
  {
    name: 'KEYTURN_LEASE_SECONDS',
    meaning: "a rotation's lease on its secret, renewed every third of it while the run works; a run whose worker stops answering is taken over after it",
    default: '120',
    check: int(2, 3600),
  },
  { name: 'KEYTURN_SCHEDULER_INTERVAL_SECONDS', meaning: 'how often the scheduler (keyturn server, keyturn worker) looks for due secrets', default: '10', check: int(1, 3600) },
  { name: 'KEYTURN_SCHEDULER_CONCURRENCY', meaning: 'rotations one scheduler runs at once (rotate --due: its --concurrency)', default: '4', check: int(1, 256) },
  { name: 'KEYTURN_SCHEDULER_TARGET_CONCURRENCY', meaning: 'rotations one scheduler runs at once on one target', default: '2', check: int(1, 256) },
  {
    name: 'KEYTURN_SCHEDULER_CLAIM_SECONDS',
    meaning: 'how long a due secret claimed by one instance is left to it before another may take it (an instance that died)',
    default: '60',
    check: int(1, 3600),
  },
  {
    name: 'KEYTURN_CRASH_AT',
    meaning: 'testing only: STEP:before or STEP:after makes a rotation SIGKILL itself there (STEP:WHEN:stop: SIGSTOP, once); STEP cleanup: around the change a cleanup makes on the target',
    unset: 'off',
    check: matching(
      /^(prepare|create|set|test|finish|propagate|cleanup|hook-before|hook-after|hook-always):(before|after)(:stop)?$/,
      'must be STEP:before or STEP:after (optionally followed by :stop)',
    ),
  },
];

/**
 * Reads and checks every variable: the value of each one set (or its default), and one line per
 * bad value naming the variable. An empty variable counts as unset. Values are never echoed.
 */
export function readEnvVars(env: Record<string, string | undefined>): { values: Record<string, unknown>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const v of ENV_VARS) {
    const text = env[v.name];
    const given = text !== undefined && text !== '';
    if (!given && v.default === undefined) continue;
    const result = v.check(given ? text : v.default!);
    if ('problem' in result) problems.push(`${v.name}: ${result.problem}`);
    else values[v.name] = result.value;
  }
  return { values, problems };
}

/** The variables as help text: name, meaning and default, aligned. */
export function envVarsHelp(): string {
  const width = Math.max(...ENV_VARS.map((v) => v.name.length));
  return ENV_VARS.map((v) => `  ${v.name.padEnd(width)}  ${v.meaning} (default: ${v.default ?? v.unset})`).join('\n');
}

/**
 * The process's environment: the one read of `process.env` outside `loadSettings` (a lint rule
 * keeps it so). The CLI takes it once, in `processIo()`, and hands it on as `CliIo.env`.
 *
 * @example
 * ```ts
 * loadSettings(processEnv());
 * ```
 */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
