/**
 * The agent's configuration (agent.yaml): which servers, which token file, which templates.
 * A strict zod schema: an unknown key, a bad URL or a malformed template is refused with
 * KT_AGENT_CONFIG_INVALID naming each problem by its dot-path (`templates.0.mode: ...`).
 * Relative paths (tokenFile, caCert, destination) are resolved against the config file's folder,
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

const listen = z.string().refine((t) => /^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(t) && Number(t.slice(t.lastIndexOf(':') + 1)) <= 65_535, 'must be HOST:PORT, such as 127.0.0.1:8788');

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
  command: z
    .array(z.string().min(1, 'must not be empty').refine(noNul, 'must not contain NUL'), { error: 'must be a list: the command and its arguments' })
    .min(1, 'must name the command to run, e.g. ["/usr/bin/systemctl", "reload", "app"]')
    .optional(),
  timeout: duration('how long the command may run').optional(),
});

export const agentConfigSchema = z.strictObject({
  name: z.string({ error: AGENT_NAME_HINT }).regex(AGENT_NAME, AGENT_NAME_HINT).optional(),
  servers: z.array(server, { error: 'must be a list of server URLs' }).min(1, 'must name at least one server, such as "https://keyturn.example.com:8787"'),
  tokenFile: z.string({ error: 'must be the path of a file holding the API token' }).min(1).refine(noNul, 'must not contain NUL'),
  caCert: z.string().min(1).refine(noNul, 'must not contain NUL').optional(),
  cacheTtl: duration('how long a rendered file counts as fresh without the server').default(300_000),
  health: listen.optional(),
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
      });
    }),
});

export interface AgentTemplate {
  readonly secret: string;
  /** Absolute. */
  readonly destination: string;
  readonly template: string | undefined;
  readonly mode: number;
  readonly command: readonly string[] | undefined;
  readonly timeoutMs: number;
}

export interface AgentConfig {
  /** The config file's folder: relative paths were resolved against it; commands run in it. */
  readonly dir: string;
  /** The name its delivery reports give (`name`, default the host name). */
  readonly name: string;
  readonly servers: readonly string[];
  /** Absolute. */
  readonly tokenFile: string;
  readonly caCert: string | undefined;
  readonly cacheTtlMs: number;
  readonly health: string | undefined;
  readonly templates: readonly AgentTemplate[];
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

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
  const result = agentConfigSchema.safeParse(js);
  if (!result.success) {
    const issues = issueLines(result.error.issues, 'agent.yaml');
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name}: ${issues.join('; ')}`, { details: { issues } });
  }
  const c = result.data;
  const agentName = c.name ?? hostname();
  if (agentNameProblem(agentName) !== null)
    throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `${name}: name: the host name "${agentName.slice(0, 200)}" is not usable as the agent's name (${AGENT_NAME_HINT}): set name`);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  return {
    dir,
    name: agentName,
    servers: c.servers,
    tokenFile: at(c.tokenFile),
    caCert: c.caCert === undefined ? undefined : at(c.caCert),
    cacheTtlMs: c.cacheTtl,
    health: c.health,
    templates: c.templates.map((t) => ({
      secret: t.secret,
      destination: at(t.destination),
      template: t.template,
      mode: t.mode,
      command: t.command,
      timeoutMs: t.timeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
    })),
  };
}
