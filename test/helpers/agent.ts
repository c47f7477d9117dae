/**
 * The agent tests' fixture: a fresh home with an admin token and an `app/**` reader token (the
 * agent's, in `work/agent.token`), `keyturn server` listening over it, secrets put through the
 * API, the README's agent.yaml, and `keyturn agent` run in-process until the test ends. Each
 * helper registers its undoing in the `cleanups` list the test file empties in `afterEach`
 * (in reverse).
 *
 * @example
 * ```ts
 * const cleanups: Cleanups = [];
 * afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });
 * const h = await agentHome(cleanups);
 * const s = await serveHome(cleanups, h.env);
 * await putSecret(s, h.admin, 'app/db', { username: 'app', password: 'pw' });
 * const agent = await startAgent(cleanups, h, agentYaml([s.base]), 11);
 * ```
 */
import { expect, vi } from 'vitest';
import type { TemplateSet } from '../../src/agent/agent.js';
import { parseAgentConfig } from '../../src/agent/config.js';
import { runAgent, type AgentRunOptions } from '../../src/agent/run.js';
import type { Supervisor } from '../../src/agent/supervisor.js';
import { createLogger } from '../../src/core/logger.js';
import type { ServerOptions } from '../../src/server/app.js';
import { listeningServer, type ListeningServer } from './api-home.js';
import { seeded } from './seeded.js';
import { APP_READ, streamHome, type StreamHome } from './stream-home.js';

export type Cleanups = Array<() => Promise<void> | void>;

/** The agent token's policy: read everything under app/. */
export const READER = APP_READ;
/** How long a test waits for a condition (generous: the machine is shared). */
export const WAIT = { timeout: 15_000, interval: 20 };

export type AgentHome = StreamHome;

/** A fresh home with an admin token and an app/** reader token (the agent's), and a work folder (on PostgreSQL with `postgres`). */
export const agentHome = (cleanups: Cleanups, o: { postgres?: boolean; prefix?: string } = {}): Promise<AgentHome> => streamHome(cleanups, { prefix: 'keyturn-agent-', ...o });

/** `keyturn server` over the home, on 127.0.0.1 (`port` 0: any free one), closed when the test ends. */
export async function serveHome(cleanups: Cleanups, env: Record<string, string>, options: ServerOptions = {}, port = 0): Promise<ListeningServer> {
  const s = await listeningServer(env, options, port);
  cleanups.push(s.close);
  return s;
}

/** Puts a new version through the API as `token`. */
export async function putSecret(s: ListeningServer, token: string, path: string, value: unknown): Promise<{ id: string; number: number }> {
  const r = await fetch(`${s.base}/v1/secrets/${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as { id: string; number: number };
}

/** The README's agent.yaml, pointed at `servers`, its command and template replaced when given, `extra` keys appended. */
export function agentYaml(servers: string[], o: { command?: string[]; template?: string; extra?: string; cacheTtl?: string } = {}): string {
  const command = JSON.stringify(o.command ?? ['/usr/bin/touch', './out/reloaded']);
  const template = JSON.stringify(o.template ?? 'DB_USER={{username}}\nDB_PASSWORD={{password}}\n');
  return `servers: ${JSON.stringify(servers)}
tokenFile: ./agent.token
cacheTtl: ${o.cacheTtl ?? '5m'}
templates:
  - secret: app/db
    destination: ./out/db.env
    template: ${template}
    command: ${command}
${o.extra ?? ''}`;
}

export interface RunningAgent {
  set: TemplateSet;
  connected: () => boolean;
  /** The health endpoint's and the local read API's addresses, once they listen ('' before). */
  health: () => string;
  listen: () => string;
  /** The supervisor of exec, if the config has one. */
  supervisor: () => Supervisor | undefined;
  /** Stops the agent (as SIGTERM would) and waits until it returned; the test's end does it too. */
  stop: () => Promise<void>;
  done: Promise<unknown>;
}

/** Runs the agent in-process until the test ends (or `stop()`); resolves once its template set exists. */
export async function startAgent(cleanups: Cleanups, h: Pick<AgentHome, 'dir'>, yaml: string, seed: number, options: Partial<AgentRunOptions> = {}): Promise<RunningAgent> {
  const config = parseAgentConfig(yaml, h.dir);
  const abort = new AbortController();
  let set: TemplateSet | undefined;
  let connected = false;
  let health = '';
  let listen = '';
  let supervisor: Supervisor | undefined;
  const done = runAgent(config, {
    once: false,
    log: createLogger('silent'),
    signal: abort.signal,
    random: seeded(seed),
    backoffBaseMs: 20,
    backoffMaxMs: 200,
    onStart: (s) => (set = s),
    onConnected: (c) => (connected = c),
    onHealth: (a) => (health = a),
    onListen: (a) => (listen = a),
    onSupervisor: (x) => (supervisor = x),
    ...options,
  });
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  cleanups.push(stop);
  await vi.waitFor(() => expect(set).toBeDefined(), WAIT);
  return { set: set!, connected: () => connected, health: () => health, listen: () => listen, supervisor: () => supervisor, stop, done };
}
