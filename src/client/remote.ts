/**
 * The client over the HTTP API of a `keyturn server` (KEYTURN_ADDR, KEYTURN_TOKEN, KEYTURN_CACERT):
 * each operation is one request, its answer turned back into what the local client returns
 * (./wire.ts), and an error body turned back into the same KeyturnError, so the CLI prints the
 * same text, JSON and exit code either way. The connection and its error mapping
 * (KT_SERVER_UNREACHABLE, KT_SERVER_ANSWER_INVALID) are ./http.ts; the audit group is
 * ./remote-audit.ts. The token is sent only as `Authorization: Bearer` and never printed.
 *
 * @example
 * ```ts
 * const client = remoteClient(settings.remote!, { correlationId: 'cli-42' });
 * try {
 *   const v = await client.secrets.get('prod/db/app', { stage: 'current' });
 * } finally {
 *   await client.close();
 * }
 * ```
 */
import type { RemoteSettings } from '../config/settings.js';
import type { SecretValue, Version } from '../core/types.js';
import type { DueRotation, KeyturnClient, QueuedRotation, RollbackResult, RotationPlan, RunOutcome, RunsClient, SecretsClient } from './client.js';
import { isKeyturnError } from '../core/errors.js';
import { connectServer, pathPart, query, type Json } from './http.js';
import { remoteAudit } from './remote-audit.js';
import { scheduleFromJson } from '../schedule/view-json.js';
import type { ComplianceReport } from '../lifecycle/compliance.js';
import type { LifecycleEvent } from '../lifecycle/events.js';
import type { StatusView } from '../lifecycle/status.js';
import { consumersFromJson, infoFromJson, runAgentsFromJson, runFromJson, stepFromJson, versionInfoFromJson, type RunView } from './wire.js';

export function remoteClient(settings: RemoteSettings, options: { correlationId?: string } = {}): KeyturnClient {
  const server = connectServer(settings, options);
  const { addr, call } = server;

  const outcome = (j: Json): RunOutcome => ({ run: runFromJson(j), consumers: consumersFromJson(j) });

  const secrets: SecretsClient = {
    get: async (path, select, options = {}) => {
      const version = select.number !== undefined ? select.number : select.versionId;
      const allowInactive = options.allowInactive ? 'true' : undefined;
      const j = await call('GET', `/v1/secrets/${pathPart(path)}${query(version !== undefined ? { version, allowInactive } : { stage: select.stage ?? 'current', allowInactive })}`);
      const v: Version = {
        path: j.path as string,
        id: j.id as string,
        number: j.number as number,
        stages: j.stages as Version['stages'],
        kind: j.kind as Version['kind'],
        createdAt: Date.parse(j.createdAt as string),
        value: j.value as SecretValue,
      };
      return v;
    },
    put: async (path, value, o) => {
      const j = await call('PUT', `/v1/secrets/${pathPart(path)}`, {
        value,
        ...(o.stages ? { stages: o.stages } : {}),
        ...(o.metadata ? { metadata: o.metadata } : {}),
        ...(o.versionId ? { versionId: o.versionId } : {}),
        ...(o.expectCurrentVersion === undefined ? {} : { expectVersion: o.expectCurrentVersion }),
        ...(o.supersede ? { supersede: true } : {}),
      });
      const version = { id: j.id as string, number: j.number as number, stages: j.stages as Version['stages'], kind: j.kind as Version['kind'], createdAt: Date.parse(j.createdAt as string) };
      const cancelled: RunView | null = j.cancelledRun ? runFromJson(j.cancelledRun as Json) : null;
      return { version, cancelled };
    },
    list: async (prefix, o) => {
      const j = await call('GET', `/v1/metadata${query({ prefix: prefix === '' ? undefined : prefix, deleted: o.deleted ? 'true' : undefined })}`);
      return (j.secrets as Json[]).map(infoFromJson);
    },
    history: async (path) => {
      const j = await call('GET', `/v1/history/${pathPart(path)}`);
      return { info: infoFromJson(j), versions: (j.history as Json[]).map(versionInfoFromJson) };
    },
    rollback: async (path) => (await call('POST', `/v1/rollback/${pathPart(path)}`)) as unknown as RollbackResult,
    remove: async (path, o) => infoFromJson(await call('DELETE', `/v1/secrets/${pathPart(path)}${query({ recoveryDays: o.recoveryDays })}`)),
    restore: async (path) => infoFromJson(await call('POST', `/v1/restore/${pathPart(path)}`)),
    purgeable: async (path) => infoFromJson(await call('GET', `/v1/purge/${pathPart(path)}`)),
    purge: async (path) => {
      await call('POST', `/v1/purge/${pathPart(path)}`);
    },
    events: async (path, o) => (await call('GET', `/v1/lifecycle/${pathPart(path)}${query({ limit: o.limit })}`)).events as LifecycleEvent[],
    status: async (path) => (await call('GET', `/v1/status/${pathPart(path)}`)) as unknown as StatusView,
    setStatus: async (path, status) => (await call('POST', `/v1/status/${pathPart(path)}`, { status })) as unknown as StatusView,
  };

  const runs: RunsClient = {
    rotate: async (path, o) => outcome(await call('POST', `/v1/rotations/${pathPart(path)}`, { wait: o.wait, ...(o.ifDue ? { ifDue: true } : {}) })),
    queue: async (path, priority) => {
      const j = await call('POST', `/v1/rotations/${pathPart(path)}`, { queue: priority });
      const ms = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : null);
      return { path: j.path as string, priority: j.priority as QueuedRotation['priority'], dueAt: ms(j.dueAt), requestedAt: ms(j.requestedAt) };
    },
    rotateDue: async (o, each) => {
      // The server lists what is due (only what the token may rotate); each is rotated only if still due when its lease is taken.
      const paths = (await call('GET', `/v1/rotations${query({ due: 'true' })}`)).paths as string[];
      let next = 0;
      const one = async (path: string): Promise<DueRotation> => {
        try {
          return { path, outcome: await runs.rotate(path, { wait: false, ifDue: true }), cleanups: [], error: null };
        } catch (e) {
          if (!isKeyturnError(e)) throw e;
          return { path, outcome: null, cleanups: [], error: { code: e.code, message: e.message } };
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(o.concurrency, paths.length) }, async () => {
          while (next < paths.length) each(await one(paths[next++]!));
        }),
      );
    },
    plan: async (path) => {
      const { dryRun: _dry, ...plan } = await call('POST', `/v1/rotations/${pathPart(path)}`, { dryRun: true });
      return plan as unknown as RotationPlan;
    },
    rotatable: async (which) => (await call('GET', `/v1/rotations${which.due ? query({ due: 'true' }) : query({ prefix: which.prefix || undefined, type: which.type })}`)).paths as string[],
    list: async (filter) => ((await call('GET', `/v1/runs${query({ path: filter.path, limit: filter.limit })}`)).runs as Json[]).map(runFromJson),
    get: async (id) => runFromJson(await call('GET', `/v1/runs/${encodeURIComponent(id)}`)),
    show: async (id) => {
      const j = await call('GET', `/v1/runs/${encodeURIComponent(id)}`);
      return { ...outcome(j), steps: (j.steps as Json[]).map(stepFromJson), agents: runAgentsFromJson(j.agents) };
    },
    resume: async (id, o) => outcome(await call('POST', `/v1/runs/${encodeURIComponent(id)}/resume`, { wait: o.wait })),
    cancel: async (id) => runFromJson(await call('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`)),
    schedule: async (path) => scheduleFromJson(await call('GET', `/v1/schedules/${pathPart(path)}`)),
    compliance: async (prefix) => (await call('GET', `/v1/reports/compliance${query({ prefix: prefix === '' ? undefined : prefix })}`)) as unknown as ComplianceReport,
  };

  return { where: addr, secrets, runs, audit: remoteAudit(server), close: () => server.close() };
}
