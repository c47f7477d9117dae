/**
 * `waitForAgents` of a rotation policy: polls the delivery reports (./repo.ts) until enough of the
 * path's subscribed agents hold the run's new version (`all` of them, or at least N), the deadline
 * passes, the engine is asked to stop (SIGTERM) or the signal aborts (the run's lease was lost:
 * the sleep rejects with its reason). The poll backs off from 50 ms to 1 s, so waiting costs a few
 * reads a second at most, and a stop is seen within a second. Nothing is kept in memory between
 * calls: a resumed run (after a crash) polls the same table again.
 *
 * @example
 * ```ts
 * const r = await waitForAgents({ repo, path: 'app/db', versionId, want: 'all', deadline: now + 120_000, staleAfterMs, clock });
 * r.outcome; // 'reached' | 'timeout' | 'stopped'
 * ```
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/clock.js';
import { holding, type AgentDelivery, type DeliveriesRepo } from './repo.js';

/** `all` subscribed agents, or at least this many. */
export type AgentQuorum = 'all' | number;

/** The default of `waitForAgentsTimeout`. */
export const DEFAULT_WAIT_FOR_AGENTS_TIMEOUT = '2m';

export interface AgentWaitInput {
  readonly repo: DeliveriesRepo;
  readonly path: string;
  readonly versionId: string;
  readonly want: AgentQuorum;
  /** When to give up (epoch ms on `clock`); at least one read is made even when it has passed. */
  readonly deadline: number;
  readonly staleAfterMs: number;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /** Asked before each sleep: true ends the wait with `stopped`. */
  readonly stopped?: () => boolean;
  /** The first and the largest pause between reads (default 50 ms and 1 s). */
  readonly pollMs?: { readonly first: number; readonly max: number };
}

export interface AgentWaitResult {
  readonly outcome: 'reached' | 'timeout' | 'stopped';
  readonly have: AgentDelivery[];
  readonly missing: AgentDelivery[];
}

/** Whether `have` of the subscribed agents holding the version (and `missing` not) is enough. */
export function quorumReached(want: AgentQuorum, have: number, missing: number): boolean {
  return want === 'all' ? missing === 0 : have >= want;
}

export async function waitForAgents(i: AgentWaitInput): Promise<AgentWaitResult> {
  const first = i.pollMs?.first ?? 50;
  const max = i.pollMs?.max ?? 1_000;
  let delay = first;
  for (;;) {
    i.signal?.throwIfAborted();
    const { have, missing } = holding(await i.repo.subscribed(i.path, i.staleAfterMs), i.versionId);
    if (quorumReached(i.want, have.length, missing.length)) return { outcome: 'reached', have, missing };
    const left = i.deadline - i.clock.now();
    if (left <= 0) return { outcome: 'timeout', have, missing };
    if (i.stopped?.()) return { outcome: 'stopped', have, missing };
    await sleep(Math.min(delay, left), undefined, i.signal ? { signal: i.signal } : {});
    delay = Math.min(delay * 2, max);
  }
}

/** The agents as a step's detail names them: `web-2 (last report 2026-…)`, at most 10, then how many more. */
export function agentList(agents: readonly AgentDelivery[]): string {
  const shown = agents.slice(0, 10).map((a) => `${a.agent} (version ${a.version}, last report ${new Date(a.reportedAt).toISOString()})`);
  return agents.length > 10 ? `${shown.join(', ')} and ${agents.length - 10} more` : shown.join(', ');
}
