/**
 * The client over the HTTP API of a `keyturn server` (KEYTURN_ADDR, KEYTURN_TOKEN, KEYTURN_CACERT):
 * each operation is one request, its answer turned back into what the local client returns
 * (./wire.ts), and an error body turned back into the same KeyturnError, so the CLI prints the
 * same text, JSON and exit code either way. A server that does not answer (or whose certificate is
 * not trusted) is KT_SERVER_UNREACHABLE naming the address; an answer that is not the API's is
 * KT_SERVER_ANSWER_INVALID. The token is sent only as `Authorization: Bearer` and never printed.
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
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import type { RemoteSettings } from '../config/settings.js';
import { ERRORS, KeyturnError, type ErrorCode } from '../core/errors.js';
import type { SecretValue, Version } from '../core/types.js';
import type { KeyturnClient, RollbackResult, RotationPlan, RunOutcome, RunsClient, SecretsClient } from './client.js';
import { consumersFromJson, infoFromJson, runFromJson, stepFromJson, versionInfoFromJson, type RunView } from './wire.js';

type Json = Record<string, unknown>;

/** How long one answer may take: a rotation's attempt (or, with wait, its retries) is one request. */
const ANSWER_TIMEOUT_MS = 15 * 60_000;

/** A secret path in a URL: each segment escaped, the slashes kept. */
function pathPart(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

function caOf(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_CONFIG_INVALID', `KEYTURN_CACERT: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The reason a request did not get an answer, for the message (an errno or TLS code, never the token). */
function reasonOf(e: unknown): string {
  // Duck-typed, not instanceof: the errors of node:net and undici may come from another realm.
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && typeof cause === 'object' && cause !== null; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  const message = (e as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : 'no answer';
}

/** The KeyturnError an error body stands for. */
function errorFrom(addr: string, status: number, body: unknown): KeyturnError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string' && Object.hasOwn(ERRORS, error.code)) {
    const details = error.details !== null && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
    return new KeyturnError(error.code as ErrorCode, typeof error.message === 'string' ? error.message : undefined, details ? { details } : {});
  }
  return new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered ${status} without a keyturn error body`, { details: { status } });
}

export function remoteClient(settings: RemoteSettings, options: { correlationId?: string } = {}): KeyturnClient {
  const { addr } = settings;
  if (settings.token === undefined || settings.token === '') throw new KeyturnError('KT_SERVER_TOKEN_MISSING', `KEYTURN_ADDR is ${addr} but KEYTURN_TOKEN is not set`);
  const ca = caOf(settings.caCertFile);
  const agent = new Agent({ headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS, ...(ca === undefined ? {} : { connect: { ca } }) });
  const headers: Record<string, string> = { authorization: `Bearer ${settings.token}`, accept: 'application/json' };
  if (options.correlationId) headers['x-correlation-id'] = options.correlationId;

  const call = async (method: string, url: string, body?: Json): Promise<Json> => {
    let res;
    try {
      res = await fetch(`${addr}${url}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        dispatcher: agent,
      });
    } catch (e) {
      throw new KeyturnError('KT_SERVER_UNREACHABLE', `no answer from ${addr} (${reasonOf(e)})`, { details: { addr } });
    }
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch {
      parsed = null;
    }
    if (!res.ok) throw errorFrom(addr, res.status, parsed);
    if (parsed === null || typeof parsed !== 'object') throw new KeyturnError('KT_SERVER_ANSWER_INVALID', `${addr} answered ${res.status} without a JSON object`, { details: { status: res.status } });
    return parsed as Json;
  };

  const outcome = (j: Json): RunOutcome => ({ run: runFromJson(j), consumers: consumersFromJson(j) });

  const secrets: SecretsClient = {
    get: async (path, select) => {
      const version = select.number !== undefined ? select.number : select.versionId;
      const j = await call('GET', `/v1/secrets/${pathPart(path)}${query(version !== undefined ? { version } : { stage: select.stage ?? 'current' })}`);
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
  };

  const runs: RunsClient = {
    rotate: async (path, o) => outcome(await call('POST', `/v1/rotations/${pathPart(path)}`, { wait: o.wait })),
    plan: async (path) => {
      const { dryRun: _dry, ...plan } = await call('POST', `/v1/rotations/${pathPart(path)}`, { dryRun: true });
      return plan as unknown as RotationPlan;
    },
    list: async (filter) => ((await call('GET', `/v1/runs${query({ path: filter.path, limit: filter.limit })}`)).runs as Json[]).map(runFromJson),
    get: async (id) => runFromJson(await call('GET', `/v1/runs/${encodeURIComponent(id)}`)),
    show: async (id) => {
      const j = await call('GET', `/v1/runs/${encodeURIComponent(id)}`);
      return { ...outcome(j), steps: (j.steps as Json[]).map(stepFromJson) };
    },
    resume: async (id, o) => outcome(await call('POST', `/v1/runs/${encodeURIComponent(id)}/resume`, { wait: o.wait })),
    cancel: async (id) => runFromJson(await call('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`)),
  };

  return { where: addr, secrets, runs, close: () => agent.close() };
}
