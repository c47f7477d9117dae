/**
 * `keyturn agent` as a function, for the CLI and the tests: `once` renders every template (and
 * runs the commands of real changes) and returns the results; otherwise it also serves the
 * health endpoint and the local read API (./local-api.ts) and follows the change stream
 * (./watch.ts) until `signal` aborts, then finishes the renders under way and returns. Secrets
 * are read through the encrypted cache (./cache.ts, ./cached-servers.ts): when the first
 * attempt to open the stream fails, every template is rendered at once, from the cache where no
 * server answers.
 * What it renders is reported to the server (./report.ts): `once` sends the report before it
 * returns; otherwise reports go out as renders happen, everything again on each (re)connection
 * and every hour.
 *
 * @example
 * ```ts
 * const results = await runAgent(loadAgentConfig('agent.yaml'), { once: true, log, signal });
 * results.filter((r) => r.error !== null); // the templates that failed
 * ```
 */
import { systemClock, type Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { fileIsCurrent, TemplateSet, type TemplateResult } from './agent.js';
import { backoff } from './backoff.js';
import type { AgentConfig } from './config.js';
import { openAgentCache } from './cache.js';
import { readThroughCache } from './cached-servers.js';
import { agentHealth, serveHealth, type Connection, type HealthServer } from './health.js';
import { jwtLogin } from './jwt-login.js';
import { removeLeftovers } from './leftovers.js';
import { serveLocalApi, type LocalApi } from './local-api.js';
import { DeliveryReporter } from './report.js';
import { agentServers } from './servers.js';
import { Supervisor } from './supervisor.js';
import { readStampedFile, tokenFile } from './token.js';
import { watchAgent } from './watch.js';

export interface AgentRunOptions {
  readonly once: boolean;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly clock?: Clock;
  /** The environment a supervised program (exec) inherits (default: none but exec.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Numbers in [0, 1) for the reconnect jitter (default Math.random). */
  readonly random?: () => number;
  /** Reconnect backoff: first ceiling and largest delay (default 500 ms and 30 s). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Told the health endpoint's address once it listens. */
  readonly onHealth?: (address: string) => void;
  /** Told the local read API's address (`HOST:PORT` or `unix:/path`) once it listens. */
  readonly onListen?: (address: string) => void;
  /** Told when the change stream opens or closes. */
  readonly onConnected?: (connected: boolean, server: string) => void;
  /** Gets the template set once it exists (tests read its results). */
  readonly onStart?: (set: TemplateSet) => void;
  /** Gets the supervisor of exec, if any (tests read its status). */
  readonly onSupervisor?: (supervisor: Supervisor | undefined) => void;
  /** How often the running agent reports everything it holds again (default 1 h). */
  readonly reportRefreshMs?: number;
}

export async function runAgent(config: AgentConfig, o: AgentRunOptions): Promise<TemplateResult[]> {
  const clock = o.clock ?? systemClock;
  const auth = config.auth;
  // The token (or JWT) is needed for anything: a missing file is the caller's problem, said at once.
  if (o.once) await readStampedFile(auth.file, auth.kind === 'token' ? 'token' : 'JWT');
  const cache = await openAgentCache(config, o.log, clock);
  const raw = agentServers({
    servers: config.servers,
    caCert: config.caCert,
    token: auth.kind === 'token' ? tokenFile(auth.file) : (s) => jwtLogin({ file: auth.file, issuer: auth.issuer, login: (jwt, issuer) => s.login(jwt, issuer), clock }),
  });
  const servers = readThroughCache(raw, cache, o.log);
  const reports = new DeliveryReporter({ name: config.name, servers: raw, log: o.log, signal: o.signal, ...(o.reportRefreshMs === undefined ? {} : { refreshMs: o.reportRefreshMs }) });
  await removeLeftovers(config.templates, o.log);
  // The supervised program (exec): started once every template has its file, told of every real change after.
  const supervisor =
    o.once || config.exec === undefined ? undefined : new Supervisor(config.exec, { dir: config.dir, env: o.env ?? {}, log: o.log, random: o.random, valueOf: (p) => set.secretOf(p) });
  o.onSupervisor?.(supervisor);
  const set: TemplateSet = new TemplateSet(config, servers, o.log, clock, o.signal, (i, { changed, held }) => {
    // What the file holds goes to the server (delivery reports).
    if (held !== null) reports.held(i, config.templates[i]!.destination, held);
    if (supervisor === undefined || o.signal.aborted) return;
    if (supervisor.started) {
      if (changed) supervisor.changed();
    } else if (set.results().every((r) => r.renderedAt !== null && fileIsCurrent(r.error))) supervisor.start();
  });
  o.onStart?.(set);
  let health: HealthServer | undefined;
  let local: LocalApi | undefined;
  try {
    if (o.once) {
      await set.renderAll();
      // A failed report is logged, never the run's failure.
      await reports.flush();
      return set.results();
    }
    reports.start();
    const connection: Connection = { connected: false, server: null };
    if (config.health !== undefined) {
      try {
        health = await serveHealth(config.health, () => agentHealth(set.results(), connection, config.cacheTtlMs, cache));
      } catch (e) {
        throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `health: cannot listen on ${config.health} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      o.onHealth?.(health.address);
    }
    if (config.listen !== undefined) {
      try {
        local = await serveLocalApi(config.listen, cache, o.log);
      } catch (e) {
        if (e instanceof KeyturnError) throw e;
        throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `listen: cannot listen on ${config.listen} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      o.onListen?.(local.address);
    }
    let attempted = false;
    await watchAgent({
      set,
      servers,
      log: o.log,
      signal: o.signal,
      backoff: backoff({ baseMs: o.backoffBaseMs ?? 500, maxMs: o.backoffMaxMs ?? 30_000, random: o.random ?? Math.random }),
      onConnected: (connected, server) => {
        if (connected) cache.streamOpened();
        else cache.streamClosed();
        // No stream at the first attempt: render now (from the cache where no server answers) rather than after it opens.
        if (!connected && !attempted && !o.signal.aborted) void set.renderAll();
        attempted = true;
        connection.connected = connected;
        connection.server = connected ? server : null;
        o.onConnected?.(connected, server);
      },
    });
    await set.idle();
    return set.results();
  } finally {
    await supervisor?.stop();
    await local?.close();
    reports.close();
    await health?.close();
    await servers.close();
    await cache.close();
  }
}
