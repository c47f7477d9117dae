/**
 * `keyturn agent` as a function, for the CLI and the tests: `once` renders every template (and
 * runs the commands of real changes) and returns the results; otherwise it also serves the
 * health endpoint and the local read API (./local-api.ts) and follows the change stream
 * (./watch.ts) until `signal` aborts, then finishes the renders under way and returns. Secrets
 * are read through the encrypted cache (./cache.ts, ./cached-servers.ts): when the first
 * attempt to open the stream fails, every template is rendered at once, from the cache where no
 * server answers.
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
import { TemplateSet, type TemplateResult } from './agent.js';
import { backoff } from './backoff.js';
import type { AgentConfig } from './config.js';
import { openAgentCache } from './cache.js';
import { readThroughCache } from './cached-servers.js';
import { agentHealth, serveHealth, type Connection, type HealthServer } from './health.js';
import { serveLocalApi, type LocalApi } from './local-api.js';
import { agentServers } from './servers.js';
import { tokenFile } from './token.js';
import { watchAgent } from './watch.js';

export interface AgentRunOptions {
  readonly once: boolean;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly clock?: Clock;
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
}

export async function runAgent(config: AgentConfig, o: AgentRunOptions): Promise<TemplateResult[]> {
  const clock = o.clock ?? systemClock;
  const token = tokenFile(config.tokenFile);
  // The token is needed for anything: a missing file is the caller's problem, said at once.
  if (o.once) await token.current();
  const cache = await openAgentCache(config, o.log, clock);
  const servers = readThroughCache(agentServers({ servers: config.servers, token, caCert: config.caCert }), cache, o.log);
  const set = new TemplateSet(config, servers, o.log, clock, o.signal);
  o.onStart?.(set);
  let health: HealthServer | undefined;
  let local: LocalApi | undefined;
  try {
    if (o.once) {
      await set.renderAll();
      return set.results();
    }
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
    await local?.close();
    await health?.close();
    await servers.close();
    await cache.close();
  }
}
