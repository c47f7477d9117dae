/**
 * A secret's last rotation as the state database knows it: the creation of its current version
 * (a rotation's new value, or one stored by `keyturn secret put` or `apply`, which restarts the
 * clock too), with the run that made it when a run did. The due time is counted from it.
 *
 * @example
 * ```ts
 * const last = await lastRotation(kt.store, new RunsRepo(kt.state, kt.clock), 'prod/api/token');
 * last?.at; // epoch ms of the current version's creation
 * ```
 */
import type { RunsRepo } from '../engine/runs-repo.js';
import type { SecretStore } from '../stores/store.js';

export interface LastRotation {
  /** When the current version was created (epoch ms). */
  readonly at: number;
  readonly versionId: string;
  readonly version: number;
  /** The run that made the current version, when one did (among the secret's latest 100 runs). */
  readonly runId: string | null;
}

/** The last rotation of `path`, or null when it has no current version (or does not exist). */
export async function lastRotation(store: SecretStore, runs: Pick<RunsRepo, 'list'>, path: string): Promise<LastRotation | null> {
  const info = await store.describe(path);
  if (!info?.currentVersion) return null;
  const current = info.currentVersion;
  const version = (await store.versions(path)).find((v) => v.id === current.id);
  if (!version) return null;
  const run = (await runs.list({ path, limit: 100 })).find((r) => r.pendingVersionId === current.id);
  return { at: version.createdAt, versionId: current.id, version: current.number, runId: run?.id ?? null };
}
