/**
 * `keyturn agent` as a function, for the CLI and the tests: `once` renders every template (and
 * runs the commands of real changes) and returns the results; otherwise it also serves the
 * health endpoint and follows the change stream (./watch.ts) until `signal` aborts, then
 * finishes the renders under way and returns. Either way, what it renders is reported to the
 * server (./report.ts): `once` sends the report before it returns; otherwise reports go out as
 * renders happen, everything again on each (re)connection and every hour.
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
import { agentHealth, serveHealth, type Connection, type HealthServer } from './health.js';
import { DeliveryReporter } from './report.js';
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
  /** Told when the change stream opens or closes. */
  readonly onConnected?: (connected: boolean, server: string) => void;
  /** Gets the template set once it exists (tests read its results). */
  readonly onStart?: (set: TemplateSet) => void;
  /** How often the running agent reports everything it holds again (default 1 h). */
  readonly reportRefreshMs?: number;
}

export async function runAgent(config: AgentConfig, o: AgentRunOptions): Promise<TemplateResult[]> {
  const clock = o.clock ?? systemClock;
  const token = tokenFile(config.tokenFile);
  // The token is needed for anything: a missing file is the caller's problem, said at once.
  if (o.once) await token.current();
  const servers = agentServers({ servers: config.servers, token, caCert: config.caCert });
  const reports = new DeliveryReporter({ name: config.name, servers, log: o.log, signal: o.signal, ...(o.reportRefreshMs === undefined ? {} : { refreshMs: o.reportRefreshMs }) });
  const set = new TemplateSet(config, servers, o.log, clock, o.signal, (i, secret) => reports.held(i, config.templates[i]!.destination, secret));
  o.onStart?.(set);
  let health: HealthServer | undefined;
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
        health = await serveHealth(config.health, () => agentHealth(set.results(), connection, clock.now(), config.cacheTtlMs));
      } catch (e) {
        throw new KeyturnError('KT_AGENT_CONFIG_INVALID', `health: cannot listen on ${config.health} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      o.onHealth?.(health.address);
    }
    await watchAgent({
      set,
      servers,
      log: o.log,
      signal: o.signal,
      backoff: backoff({ baseMs: o.backoffBaseMs ?? 500, maxMs: o.backoffMaxMs ?? 30_000, random: o.random ?? Math.random }),
      onConnected: (connected, server) => {
        connection.connected = connected;
        connection.server = connected ? server : null;
        o.onConnected?.(connected, server);
      },
    });
    await set.idle();
    return set.results();
  } finally {
    reports.close();
    await health?.close();
    await servers.close();
  }
}
