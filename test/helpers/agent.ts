/**
 * `keyturn agent` in the test's process: `startAgent` runs `runAgent` (long-running, silent logs,
 * seeded reconnect jitter with short backoff) until `stop()`, and resolves once its template set
 * exists. For tests that need an agent next to a real server (test/agent-deliveries.test.ts).
 *
 * @example
 * ```ts
 * const agent = await startAgent(parseAgentConfig(yaml, dir), { seed: 7 });
 * await vi.waitFor(() => expect(agent.set.results()[0]!.version).toBe(2));
 * await agent.stop();
 * ```
 */
import { expect, vi } from 'vitest';
import type { TemplateSet } from '../../src/agent/agent.js';
import type { AgentConfig } from '../../src/agent/config.js';
import { runAgent } from '../../src/agent/run.js';
import { createLogger } from '../../src/core/logger.js';
import { seeded } from './seeded.js';

export interface RunningAgent {
  readonly set: TemplateSet;
  connected(): boolean;
  /** Stops it (as SIGTERM would) and waits until it has returned; again does nothing. */
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, o: { seed: number; reportRefreshMs?: number }): Promise<RunningAgent> {
  const abort = new AbortController();
  let set: TemplateSet | undefined;
  let connected = false;
  const done = runAgent(config, {
    once: false,
    log: createLogger('silent'),
    signal: abort.signal,
    random: seeded(o.seed),
    backoffBaseMs: 20,
    backoffMaxMs: 200,
    ...(o.reportRefreshMs === undefined ? {} : { reportRefreshMs: o.reportRefreshMs }),
    onStart: (s) => (set = s),
    onConnected: (c) => (connected = c),
  });
  await vi.waitFor(() => expect(set).toBeDefined(), { timeout: 15_000, interval: 10 });
  return {
    set: set!,
    connected: () => connected,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
