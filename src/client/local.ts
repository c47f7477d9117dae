/**
 * The client over an open Keyturn in this process: each operation of the secret, rotate and runs
 * commands written once (the audit group: ./local-audit.ts). The CLI uses it on a local home; the server's routes call the same
 * functions with the request's store and engine (audited as the request's token) after their
 * capability checks, so the CLI and the API cannot drift apart.
 *
 * @example
 * ```ts
 * const client = localClient(kt);
 * const { version } = await client.secrets.put('prod/api/token', 'v1', { stages: ['current'] });
 * ```
 */
import { pathHasPrefix } from '../core/paths.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { SecretInfo, Version } from '../core/types.js';
import type { AuditContext } from '../audit/context.js';
import type { Engine } from '../engine/engine.js';
import type { Run } from '../engine/runs-repo.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { SecretStore } from '../stores/store.js';
import type { DueRotation, KeyturnClient, QueuedRotation, RollbackResult, RunOutcome, RunsClient, SecretPutOptions, SecretsClient } from './client.js';
import type { SecretValue } from '../core/types.js';
import type { VersionSelector } from '../stores/store.js';
import type { MarkedStatus, StatusView } from '../lifecycle/status.js';
import { localAudit } from './local-audit.js';
import { assertReadable, forgetStatus, markStatus, secretStatus } from '../lifecycle/status.js';

/** What the operations work with: the home, the store and engine to act through (a request's, on the server). */
export interface LocalScope {
  readonly kt: Keyturn;
  readonly store: SecretStore;
  engine(): Promise<Engine>;
  /** The correlation id a new run carries (the request's, on the server). */
  readonly correlationId?: string;
  /** Which paths a list shows (the server: those the token may list); default all. */
  listable?(path: string): boolean;
  /** Which paths `rotatable` names (the server: those the token may rotate); default all. */
  rotatable?(path: string): boolean;
  /** Who the events recorded outside the store name (a refused read, a status mark); default the home's audit context. */
  readonly auditContext?: AuditContext;
  /** Wraps a rotation's execution (the CLI: SIGTERM and SIGINT stop it at a step boundary). */
  around?<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * After a value was stored, rolled back, deleted or restored by hand: the secret's next due time
 * is computed again (a `secret put` restarts the clock; src/schedule/due-repo.ts). The change
 * stands if this fails: the scheduler checks under the lease before it rotates anything.
 */
async function refreshDue(kt: Keyturn, path: string): Promise<void> {
  try {
    const { DueRepo } = await import('../schedule/due-repo.js');
    await new DueRepo(kt.state, kt.clock).refresh(path);
  } catch (e) {
    kt.log.warn({ path, code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'the next due time was not written again; the scheduler checks before it rotates');
  }
}

async function requireInfo(store: SecretStore, path: string): Promise<SecretInfo> {
  const info = await store.describe(path);
  if (!info) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
  return info;
}

/** A secret whose applied policy has a target is managed: its stages follow the target, never the other way round. */
async function refuseManaged(applied: Keyturn['applied'], path: string): Promise<void> {
  let target: string | undefined;
  try {
    target = (await applied.policy(path)).target;
  } catch (e) {
    if (isKeyturnError(e, 'KT_POLICY_NOT_FOUND')) return;
    throw e;
  }
  if (target !== undefined) {
    throw new KeyturnError('KT_ROLLBACK_MANAGED', `${path} is managed on target ${target}: a rollback would only move its stages, and the target keeps the current password`);
  }
}

/** The secret operations over a scope (one object per request on the server: its methods are shared, not made per request). */
class LocalSecrets implements SecretsClient {
  readonly #scope: LocalScope;
  constructor(scope: LocalScope) {
    this.#scope = scope;
  }

  async get(path: string, select: VersionSelector, options: { allowInactive?: boolean } = {}): Promise<Version> {
    const scope = this.#scope;
    const { kt, store } = scope;
    if (!options.allowInactive) await assertReadable(kt, store, path, scope.auditContext);
    const v = await store.get(path, select);
    if (v) return v;
    if (!(await store.describe(path))) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    throw new KeyturnError('KT_STAGE_NOT_SET', `no version of ${path} is staged ${select.stage ?? 'current'}`);
  }

  async put(path: string, value: SecretValue, options: SecretPutOptions): ReturnType<SecretsClient['put']> {
    const scope = this.#scope;
    const { kt, store } = scope;
    const write = () =>
      store.put(path, value, {
        ...(options.stages ? { stages: options.stages } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.versionId ? { versionId: options.versionId } : {}),
        ...(options.expectCurrentVersion === undefined ? {} : { expectCurrentVersion: options.expectCurrentVersion }),
      });
    const { RunsRepo } = await import('../engine/runs-repo.js');
    const active = await new RunsRepo(kt.state, kt.clock).active(path);
    let stored: Version;
    let cancelled: Run | null = null;
    if (!active) stored = await write();
    else if (!options.supersede)
      throw new KeyturnError('KT_RUN_ACTIVE', `${path} has an unfinished rotation run ${active.id} (${active.status} at ${active.step}); nothing was stored`, {
        details: { path, runId: active.id },
      });
    else ({ result: stored, cancelled } = await (await scope.engine()).supersedeWith(path, write));
    // A value stored as current restarts the clock (a supersede did it under the lease already).
    if (!active && (options.stages === undefined || options.stages.includes('current'))) await refreshDue(kt, path);
    kt.log.debug({ path, versionId: stored.id, number: stored.number, cancelledRun: cancelled?.id }, 'secret version stored');
    return { version: stored, cancelled };
  }

  async list(prefix: string, options: { deleted: boolean }): Promise<SecretInfo[]> {
    const scope = this.#scope;
    const { store } = scope;
    const out: SecretInfo[] = [];
    for await (const path of store.list(prefix, { deleted: options.deleted })) {
      if (scope.listable && !scope.listable(path)) continue;
      const info = await store.describe(path);
      if (info) out.push(info);
    }
    return out;
  }

  async history(path: string): ReturnType<SecretsClient['history']> {
    const { store } = this.#scope;
    const versions = await store.versions(path);
    return { info: await requireInfo(store, path), versions };
  }

  async rollback(path: string): Promise<RollbackResult> {
    const { kt, store } = this.#scope;
    await refuseManaged(kt.applied, path);
    const current = await store.get(path, { stage: 'current' });
    if (!current) throw new KeyturnError((await store.describe(path)) ? 'KT_STAGE_NOT_SET' : 'KT_SECRET_NOT_FOUND', `${path} has no current version`);
    const previous = await store.get(path, { stage: 'previous' });
    if (!previous) throw new KeyturnError('KT_NO_PREVIOUS_VERSION', `${path} has no previous version`);
    await store.moveStage(path, 'current', previous.id, current.id);
    await refreshDue(kt, path);
    kt.log.info({ path, from: current.id, to: previous.id }, 'secret rolled back');
    return { path, current: { id: previous.id, version: previous.number }, previous: { id: current.id, version: current.number } };
  }

  async remove(path: string, options: { recoveryDays?: number }): Promise<SecretInfo> {
    const { kt, store } = this.#scope;
    const info = await store.remove(path, { recoveryDays: options.recoveryDays ?? kt.settings.recoveryDays });
    await refreshDue(kt, path);
    return info;
  }

  async restore(path: string): Promise<SecretInfo> {
    const { kt, store } = this.#scope;
    const info = await store.restore(path);
    await refreshDue(kt, path);
    return info;
  }

  async purgeable(path: string): Promise<SecretInfo> {
    const { store } = this.#scope;
    // A store that can tell says what a purge would refuse; the purge itself checks in any case.
    const info = (await store.assertPurgeable?.(path)) ?? (await store.describe(path));
    if (info === null) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    return info;
  }

  async purge(path: string): Promise<void> {
    const { kt, store } = this.#scope;
    await store.purge(path);
    await forgetStatus(kt, path);
    await refreshDue(kt, path);
  }

  async events(path: string, options: { limit: number }): ReturnType<SecretsClient['events']> {
    const { kt, store } = this.#scope;
    return (await import('../lifecycle/events.js')).lifecycleEvents(kt, store, path, options);
  }

  async status(path: string): Promise<StatusView> {
    const { kt, store } = this.#scope;
    return secretStatus(kt, store, path, kt.clock.now());
  }

  async setStatus(path: string, status: MarkedStatus): Promise<StatusView> {
    const scope = this.#scope;
    const { kt, store } = scope;
    return markStatus(kt, store, path, status, scope.auditContext);
  }
}

async function withConsumers(engine: Engine, run: Run): Promise<RunOutcome> {
  return { run, consumers: await engine.runs.consumers(run.id) };
}

/** The rotation and run operations over a scope. */
class LocalRuns implements RunsClient {
  readonly #scope: LocalScope;
  constructor(scope: LocalScope) {
    this.#scope = scope;
  }

  #around<T>(fn: () => Promise<T>): Promise<T> {
    return this.#scope.around ? this.#scope.around(fn) : fn();
  }

  async rotate(path: string, options: { wait: boolean; ifDue?: boolean }): Promise<RunOutcome> {
    const scope = this.#scope;
    const engine = await scope.engine();
    const run = await this.#around(() => engine.rotate(path, { wait: options.wait, ifDue: !!options.ifDue, ...(scope.correlationId ? { correlationId: scope.correlationId } : {}) }));
    return withConsumers(engine, run);
  }

  async queue(path: string, priority: 'emergency' | 'manual'): Promise<QueuedRotation> {
    const scope = this.#scope;
    const row = await (await scope.engine()).due.request(path, priority);
    const { PRIORITY_NAMES } = await import('../schedule/due-repo.js');
    return { path, priority: (PRIORITY_NAMES[row.priority] ?? 'scheduled') as 'emergency' | 'manual' | 'scheduled', dueAt: row.dueAt, requestedAt: row.requestedAt };
  }

  async rotateDue(options: { concurrency: number }, each: (r: DueRotation) => void): Promise<void> {
    const scope = this.#scope;
    const { kt } = scope;
    const engine = await scope.engine();
    const { Scheduler } = await import('../schedule/scheduler.js');
    const scheduler = new Scheduler(
      { state: kt.state, clock: kt.clock, log: kt.log, engine: async () => engine, stopped: () => engine.stopRequestedNow },
      { ...kt.settings.scheduler, concurrency: options.concurrency },
    );
    await this.#around(() =>
      scheduler.runOnce(async (o) =>
        each({
          path: o.path,
          outcome: o.run ? await withConsumers(engine, o.run) : null,
          cleanups: o.cleanups.map((k) => ({ ...k, dueAt: k.dueAt === null ? null : new Date(k.dueAt).toISOString() })),
          error: o.error,
        }),
      ),
    );
  }

  async plan(path: string): ReturnType<RunsClient['plan']> {
    const scope = this.#scope;
    return (await scope.engine()).plan(path);
  }

  async rotatable(which: Parameters<RunsClient['rotatable']>[0]): Promise<string[]> {
    const scope = this.#scope;
    const paths = which.due
      ? await (await scope.engine()).due.duePaths(scope.kt.clock.now())
      : (await scope.kt.applied.policies())
          .filter((p) => pathHasPrefix(p.path, which.prefix) && (which.type === undefined || p.type === which.type) && (p.target !== undefined || p.type === 'app-secret'))
          .map((p) => p.path);
    return [...new Set(paths)].filter((p) => scope.rotatable?.(p) ?? true).sort();
  }

  async list(filter: Parameters<RunsClient['list']>[0]): ReturnType<RunsClient['list']> {
    const scope = this.#scope;
    return (await scope.engine()).runs.list({ ...(filter.path ? { path: filter.path } : {}), limit: filter.limit, ...(filter.before ? { before: filter.before } : {}) });
  }

  async get(id: string): ReturnType<RunsClient['get']> {
    const scope = this.#scope;
    return (await scope.engine()).runs.get(id);
  }

  async show(id: string): ReturnType<RunsClient['show']> {
    const scope = this.#scope;
    const e = await scope.engine();
    const run = await e.runs.get(id);
    const { runAgents } = await import('../deliveries/run-agents.js');
    const { kt } = scope;
    const agents = await runAgents({ state: kt.state, clock: kt.clock, store: scope.store, staleAfterMs: kt.settings.agentStaleAfterMs }, run);
    return { run, steps: await e.runs.steps(id), consumers: await e.runs.consumers(id), agents };
  }

  async resume(id: string, options: { wait: boolean }): Promise<RunOutcome> {
    const scope = this.#scope;
    const engine = await scope.engine();
    const run = await this.#around(() => engine.resume(id, { wait: options.wait }));
    return withConsumers(engine, run);
  }

  async cancel(id: string): ReturnType<RunsClient['cancel']> {
    const scope = this.#scope;
    return (await scope.engine()).cancel(id);
  }

  async schedule(path: string): ReturnType<RunsClient['schedule']> {
    const scope = this.#scope;
    const { scheduleView } = await import('../schedule/show.js');
    return scheduleView(scope, path, scope.kt.clock.now());
  }

  async compliance(prefix: string): ReturnType<RunsClient['compliance']> {
    const scope = this.#scope;
    return (await import('../lifecycle/compliance.js')).complianceReport(scope, { prefix });
  }
}

export function localSecrets(scope: LocalScope): SecretsClient {
  return new LocalSecrets(scope);
}

export function localRuns(scope: LocalScope): RunsClient {
  return new LocalRuns(scope);
}

/** The client over an open home (closing it is the opener's business). */
export function localClient(kt: Keyturn, options: { around?: LocalScope['around']; correlationId?: string | null } = {}): KeyturnClient {
  const scope: LocalScope = {
    kt,
    store: kt.store,
    engine: () => kt.engine(),
    ...(options.around ? { around: options.around } : {}),
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
  };
  return { where: 'local', secrets: localSecrets(scope), runs: localRuns(scope), audit: localAudit(kt), close: async () => undefined };
}
