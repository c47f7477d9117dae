/**
 * The agents `keyturn runs show` lists for a run: once the run's new version is current (its finish
 * committed, nothing replaced it since), the secret's subscribed agents (./repo.ts) split into
 * those that hold that version and those that do not ("missing"), each with its last report.
 * Null for a run whose new version is not current (not finished yet, rolled back, superseded):
 * no agent is expected to hold it.
 *
 * @example
 * ```ts
 * const agents = await runAgents({ state: kt.state, clock: kt.clock, store: kt.store, staleAfterMs: kt.settings.agentStaleAfterMs }, run);
 * agents?.missing.map((a) => a.agent); // ['web-2']
 * ```
 */
import type { RunAgentsView, RunAgentView } from '../client/wire.js';
import type { Clock } from '../core/clock.js';
import type { Run } from '../engine/runs-repo.js';
import type { StateDb } from '../state/db.js';
import type { SecretStore } from '../stores/store.js';
import { DeliveriesRepo, holding, type AgentDelivery } from './repo.js';

export interface RunAgentsDeps {
  readonly state: StateDb;
  readonly clock: Clock;
  /** Only `describe` is used (metadata: no value is read). */
  readonly store: Pick<SecretStore, 'describe'>;
  readonly staleAfterMs: number;
}

const view = (a: AgentDelivery): RunAgentView => ({ agent: a.agent, versionId: a.versionId, version: a.version, reportedAt: a.reportedAt });

export async function runAgents(deps: RunAgentsDeps, run: Pick<Run, 'path' | 'pendingVersionId'>): Promise<RunAgentsView | null> {
  const versionId = run.pendingVersionId;
  if (versionId === null) return null;
  const info = await deps.store.describe(run.path);
  if (info === null || info.deletedAt !== null || info.currentVersion?.id !== versionId) return null;
  const { have, missing } = holding(await new DeliveriesRepo(deps.state, deps.clock).subscribed(run.path, deps.staleAfterMs), versionId);
  return { versionId, have: have.map(view), missing: missing.map(view) };
}
