/**
 * The agent's configuration (agent.yaml): which servers, which token file, which templates.
 * A strict zod schema: an unknown key, a bad URL or a malformed template is refused with
 * KT_AGENT_CONFIG_INVALID naming each problem by its dot-path (`templates.0.mode: ...`).
 * Relative paths (tokenFile, caCert, destination, cache.dir, cache.keyFile, a unix socket of
 * listen) are resolved against the config file's folder,
 * which is also the folder commands run in. Server URLs follow KEYTURN_ADDR's rules: https://, or
 * http:// only to loopback, origin only.
 *
 * @example
 * ```ts
 * const config = loadAgentConfig('/etc/keyturn/agent.yaml');
 * config.templates[0]!.destination; // '/etc/keyturn/out/db.env'
 * ```
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { serverAddress } from '../config/env-vars.js';
import { parseDuration } from '../core/duration.js';
import { KeyturnError } from '../core/errors.js';
import { issueLines } from '../core/issues.js';
import { templateProblems } from '../consumers/file/template.js';
import { signalName } from '../consumers/signal/config.js';
import { resolveAccount, type Account } from './account.js';
import { AGENT_NAME, AGENT_NAME_HINT, agentNameProblem } from '../deliveries/agent-name.js';

/** The largest agent.yaml read. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MODE_TEXT = /^0?[0-7]{3}$/;
const MODE_HINT = 'must be permission bits in octal, quoted, such as "0600" or "0640"';
const noNul = (s: string) => !s.includes('\0');

const duration = (what: string) =>
  z.string({ error: `must be a duration such as 30s, 5m or 1h (${what})` }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `must be a duration such as 30s, 5m or 1h (${what})` });
      return z.NEVER;
    }
    return ms;
  });

const server = z.string({ error: 'must be a URL such as https://keyturn.example.com:8787' }).transform((text, ctx) => {
  const checked = serverAddress(text);
  if ('problem' in checked) {
    ctx.addIssue({ code: 'custom', message: checked.problem });
    return z.NEVER;
  }
  return checked.value as string;
});

const mode = z.union([z.string(), z.number()], { error: MODE_HINT }).transform((v, ctx) => {
  const text = String(v);
  if (!MODE_TEXT.test(text)) {
    ctx.addIssue({ code: 'custom', message: MODE_HINT });
    return z.NEVER;
  }
  const bits = parseInt(text, 8);
  if ((bits & 0o022) !== 0) {
    ctx.addIssue({ code: 'custom', message: 'must not let group or others write the secret file (such as "0600" or "0640")' });
    return z.NEVER;
  }
  return bits;
});

const argv = (example: string) =>
  z
    .array(z.string().min(1, 'must not be empty').refine(noNul, 'must not contain NUL'), { error: 'must be a list: the command and its arguments' })
    .min(1, `must name the command to run, e.g. ${example}`);

/** A user or group: a name (looked up on this host) or a numeric id. */
const account = (kind: 'user' | 'group') =>
  z
    .union([z.string(), z.number()], { error: `must be a ${kind} name or a numeric id` })
    .refine((v) => (typeof v === 'number' ? Number.isInteger(v) && v >= 0 && v < 2 ** 32 : /^[A-Za-z0-9._-]{1,64}$/.test(v)), `must be a ${kind} name or a numeric id`);

const HOST_PORT = (t: string) => /^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(t) && Number(t.slice(t.lastIndexOf(':') + 1)) <= 65_535;
const listen = z.string().refine(HOST_PORT, 'must be HOST:PORT, such as 127.0.0.1:8788');

/** The local read API answers secrets without authentication: a unix socket, or a loopback address only. */
const LOCAL_HINT = 'must be unix:/path/to/agent.sock or a loopback HOST:PORT such as 127.0.0.1:8789 (the local read API has no authentication)';
const localListen = z.string({ error: LOCAL_HINT }).refine((t) => {
  if (t.startsWith('unix:')) return t.length > 'unix:'.length && noNul(t) && !t.endsWith('/');
  if (!HOST_PORT(t)) return false;
  const host = t.slice(0, t.lastIndexOf(':'));
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}, LOCAL_HINT);

const cacheSchema = z.strictObject(
  {
    dir: z.string({ error: 'must be the path of a folder' }).min(1, 'must be the path of a folder').refine(noNul, 'must not contain NUL').optional(),
    keyFile: z.string({ error: 'must be the path of the key file' }).min(1, 'must be the path of the key file').refine(noNul, 'must not contain NUL').optional(),
  },
  { error: 'must be a map with dir and keyFile, such as { dir: /var/lib/keyturn-agent }' },
);

const templateSchema = z.strictObject({
  secret: z
    .string({ error: 'must be the path of a secret, such as app/db' })
    .min(1, 'must be the path of a secret, such as app/db')
    .refine((p) => noNul(p) && !p.startsWith('/') && !p.endsWith('/'), 'must be a secret path such as app/db (no leading or trailing "/")'),
  destination: z
    .string({ error: 'must be the path of the file to write' })
    .min(1, 'must be the path of the file to write')
    .refine((p) => noNul(p) && !p.endsWith('/'), 'must be a file path (no NUL, no trailing "/")'),
  template: z
    .string({ error: 'must be text with {{field}} placeholders' })
    .max(1024 * 1024, 'must be at most 1 MiB')
    .superRefine((t, ctx) => {
      for (const message of templateProblems(t)) ctx.addIssue({ code: 'custom', message });
    })
    .optional(),
  mode: mode.default(0o600),
  command: argv('["/usr/bin/systemctl", "reload", "app"]').optional(),
  timeout: duration('how long the command may run').optional(),
  pidFile: z.string({ error: 'must be the path of a pid file' }).min(1).refine(noNul, 'must not contain NUL').optional(),
  signal: signalName.optional(),
  owner: account('user').optional(),
  group: account('group').optional(),
});

const envEntry = z.strictObject({
  name: z.string({ error: 'must be an environment variable name' }).regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name such as DB_PASSWORD'),
  secret: z.string({ error: 'must be the path of a secret that a template renders' }).min(1),
  field: z.string().min(1).optional(),
});

const execSchema = z.strictObject({
  command: argv('["/usr/local/bin/app", "--config", "./out/app.conf"]'),
  env: z.array(envEntry, { error: 'must be a list of {name, secret, field}' }).default([]),
  onChange: z.enum(['restart', 'signal', 'none'], { error: 'must be restart, signal or none' }).default('restart'),
  signal: signalName.default('SIGHUP'),
  stopSignal: signalName.default('SIGTERM'),
  stopTimeout: duration('how long the program may take to stop before SIGKILL').default(10_000),
});

export const agentConfigSchema = z.strictObject({
  name: z.string({ error: AGENT_NAME_HINT }).regex(AGENT_NAME, AGENT_NAME_HINT).optional(),
  servers: z.array(server, { error: 'must be a list of server URLs' }).min(1, 'must name at least one server, such as "https://keyturn.example.com:8787"'),
  tokenFile: z.string({ error: 'must be the path of a file holding the API token' }).min(1).refine(noNul, 'must not contain NUL').optional(),
  jwtFile: z.string({ error: 'must be the path of a file holding a JWT' }).min(1).refine(noNul, 'must not contain NUL').optional(),
  oidcIssuer: z.string({ error: 'must be the name of an OIDC issuer of the server (keyturn oidc ls)' }).min(1).max(64).optional(),
  caCert: z.string().min(1).refine(noNul, 'must not contain NUL').optional(),
  cacheTtl: duration('how long a rendered file counts as fresh without the server').default(300_000),
  health: listen.optional(),
  listen: localListen.optional(),
  cache: cacheSchema.optional(),
  templates: z
    .array(templateSchema, { error: 'must be a list of templates' })
    .min(1, 'must list at least one template')
    .superRefine((ts, ctx) => {
      const seen = new Map<string, number>();
      ts.forEach((t, i) => {
        const earlier = seen.get(t.destination);
        if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'destination'], message: `is also the destination of templates.${earlier}` });
        seen.set(t.destination, i);
        if (t.timeout !== undefined && t.command === undefined) ctx.addIssue({ code: 'custom', path: [i, 'timeout'], message: 'is the timeout of a command: add command or remove timeout' });
        if (t.signal !== undefined && t.pidFile === undefined)
          ctx.addIssue({ code: 'custom', path: [i, 'signal'], message: 'is the signal sent to the process in pidFile: add pidFile or remove signal' });
      });
    }),
  exec: execSchema.optional(),
});

/** Checks that need the whole file: one way to authenticate, exec's env from rendered secrets. */
const checkedSchema = agentConfigSchema.superRefine((c, ctx) => {
  if ((c.tokenFile === undefined) === (c.jwtFile === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [c.tokenFile === undefined ? 'tokenFile' : 'jwtFile'],
      message: 'give exactly one of tokenFile (an API token) and jwtFile (a JWT traded through the OIDC login)',
    });
  }
  if (c.oidcIssuer !== undefined && c.jwtFile === undefined) ctx.addIssue({ code: 'custom', path: ['oidcIssuer'], message: 'is the issuer of the JWT in jwtFile: add jwtFile or remove oidcIssuer' });
  c.exec?.env.forEach((e, i) => {
    if (!c.templates.some((t) => t.secret === e.secret))
      ctx.addIssue({ code: 'custom', path: ['exec', 'env', i, 'secret'], message: `is not the secret of any template: the agent reads only the secrets its templates render` });
  });
});

export interface AgentTemplate {
  readonly secret: string;
  /** Absolute. */
  readonly destination: string;
  readonly template: string | undefined;
  readonly mode: number;
  readonly command: readonly string[] | undefined;
  readonly timeoutMs: number;
  /** Absolute; the process in it gets `signal` after a real change. */
  readonly pidFile: string | undefined;
  readonly signal: NodeJS.Signals;
  /** Numeric ids the file is given (chown), or undefined to keep the agent's. */
  readonly owner: Account | undefined;
}

/** The program the agent starts and supervises (Vault Agent's process supervisor). */
export interface AgentExec {
  readonly command: readonly string[];
  readonly env: ReadonlyArray<{ readonly name: string; readonly secret: string; readonly field: string | undefined }>;
  readonly onChange: 'restart' | 'signal' | 'none';
  readonly signal: NodeJS.Signals;
  readonly stopSignal: NodeJS.Signals;
  readonly stopTimeoutMs: number;
}

/** How the agent authenticates: an API token file, or a JWT file traded through the OIDC login. */
export type AgentAuth = { readonly kind: 'token'; readonly file: string } | { readonly kind: 'jwt'; readonly file: string; readonly issuer: string | undefined };

export interface AgentConfig {
  /** The config file's folder: relative paths were resolved against it; commands run in it. */
  readonly dir: string;
  /** The name its delivery reports give (`name`, default the host name). */
  readonly name: string;
  readonly servers: readonly string[];
  readonly auth: AgentAuth;
  readonly caCert: string | undefined;
  readonly cacheTtlMs: number;
  readonly health: string | undefined;
  /** The local read API: `HOST:PORT` (loopback) or `unix:/absolute/path`. */
  readonly listen: string | undefined;
  /** Absolute: the folder of the encrypted cache (./cache.ts). */
  readonly cacheDir: string;
  /** Absolute: the cache's key file. */
  readonly cacheKeyFile: string;
  readonly templates: readonly AgentTemplate[];
  readonly exec: AgentExec | undefined;
}

/** The cache's folder when agent.yaml names none, beside the config file. */
export const DEFAULT_CACHE_DIR = '.keyturn-agent';
/** The longest unix socket path (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** The ids of a template's owner and group (-1: left as the agent's); a name this host does not know is KT_AGENT_CONFIG_INVALID. */
function accountOf(owner: string | number | undefined, group: string | number | undefined, i: number): Account {
  const id = (kind: 'user' | 'group', v: string | number | undefined, key: string): number => {
    if (v === undefined) return -1;
    const found = resolveAccount(kind, v);
    if (found === null)
      throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `agent.yaml: templates.${i}.${key}: no ${kind} named "${String(v)}" on this host`, {
        details: { issues: [`templates.${i}.${key}: no ${kind} named "${String(v)}" on this host`] },
      });
    return found;
  };
  return { uid: id('user', owner, 'owner'), gid: id('group', group, 'group') };
}

/** Reads and checks agent.yaml; KT_AGENT_CONFIG_INVALID with every problem by dot-path. */
export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseAgentConfig(text, dirname(resolve(file)), file);
}

/** Checks the text of agent.yaml, resolving relative paths against `dir`. */
export function parseAgentConfig(text: string, dir: string, name = 'agent.yaml'): AgentConfig {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name} is larger than 1 MiB`);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name} is not valid YAML: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
  }
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name} expands too many YAML aliases`);
  }
  const result = checkedSchema.safeParse(js);
  if (!result.success) {
    const issues = issueLines(result.error.issues, 'agent.yaml');
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name}: ${issues.join('; ')}`, { details: { issues } });
  }
  const c = result.data;
  const agentName = c.name ?? hostname();
  if (agentNameProblem(agentName) !== null)
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name}: name: the host name "${agentName.slice(0, 200)}" is not usable as the agent's name (${AGENT_NAME_HINT}): set name`);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const listenAt = c.listen?.startsWith('unix:') === true ? `unix:${at(c.listen.slice('unix:'.length))}` : c.listen;
  if (listenAt?.startsWith('unix:') === true && Buffer.byteLength(listenAt) - 'unix:'.length > MAX_SOCKET_PATH_BYTES) {
    const issue = `listen: the socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter one`;
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name}: ${issue}`, { details: { issues: [issue] } });
  }
  const cacheDir = at(c.cache?.dir ?? DEFAULT_CACHE_DIR);
  return {
    dir,
    name: agentName,
    servers: c.servers,
    auth: c.jwtFile !== undefined ? { kind: 'jwt', file: at(c.jwtFile), issuer: c.oidcIssuer } : { kind: 'token', file: at(c.tokenFile!) },
    caCert: c.caCert === undefined ? undefined : at(c.caCert),
    cacheTtlMs: c.cacheTtl,
    health: c.health,
    listen: listenAt,
    cacheDir,
    cacheKeyFile: c.cache?.keyFile === undefined ? resolve(cacheDir, 'cache.key') : at(c.cache.keyFile),
    templates: c.templates.map((t, i) => ({
      secret: t.secret,
      destination: at(t.destination),
      template: t.template,
      mode: t.mode,
      command: t.command,
      timeoutMs: t.timeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
      pidFile: t.pidFile === undefined ? undefined : at(t.pidFile),
      signal: t.signal ?? 'SIGHUP',
      owner: t.owner === undefined && t.group === undefined ? undefined : accountOf(t.owner, t.group, i),
    })),
    exec:
      c.exec === undefined
        ? undefined
        : {
            command: c.exec.command,
            env: c.exec.env.map((e) => ({ name: e.name, secret: e.secret, field: e.field })),
            onChange: c.exec.onChange,
            signal: c.exec.signal,
            stopSignal: c.exec.stopSignal,
            stopTimeoutMs: c.exec.stopTimeout,
          },
  };
}
