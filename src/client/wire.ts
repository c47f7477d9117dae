/**
 * The JSON shapes of secrets, versions and runs: what `keyturn ... --json` prints and what the
 * API's secret-lifecycle and rotation routes return, one shape for both, with each shape's way
 * back (`...FromJson`) so the CLI, talking to a server, rebuilds exactly what it would have read
 * locally and prints the same text. Times are ISO-8601 in JSON and epoch milliseconds in memory.
 *
 * @example
 * ```ts
 * const json = infoJson(info);           // { path, type, ..., versions, current, createdAt: '2026-…' }
 * infoFromJson(json);                    // the same SecretInfo again
 * ```
 */
import type { SecretInfo, SecretValue, Stage, Version, VersionInfo } from '../core/types.js';
import type { ConsumerStatus, Run, Step } from '../engine/runs-repo.js';
import type { RunStepsTable } from '../state/schema.js';

/** A run as a client sees it: every field but the engine's own bookkeeping. */
export type RunView = Omit<Run, 'failedSets' | 'generation' | 'updatedAt'>;

/** A consumer's delivery status as a client sees it. */
export type ConsumerView = Omit<ConsumerStatus, 'updatedAt'>;

/** One journal row of a run, as `runs show` uses it. */
export type StepView = Pick<RunStepsTable, 'seq' | 'step' | 'attempt' | 'outcome' | 'error_code' | 'detail' | 'started_at' | 'finished_at'>;

/** ISO-8601 to the millisecond, or '-' (as the CLI prints times). */
export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}

function msOrNull(text: unknown): number | null {
  return typeof text === 'string' ? Date.parse(text) : null;
}

type Json = Record<string, unknown>;

export function versionJson(v: VersionInfo): Json {
  return { id: v.id, version: v.number, stages: v.stages, kind: v.kind, createdAt: isoTime(v.createdAt) };
}

export function versionInfoFromJson(j: Json): VersionInfo {
  return { id: j.id as string, number: j.version as number, stages: j.stages as Stage[], kind: j.kind as VersionInfo['kind'], createdAt: Date.parse(j.createdAt as string) };
}

/** A version with its value (`secret get --json`). */
export function versionFromJson(j: Json): Version {
  return { ...versionInfoFromJson(j), path: j.path as string, value: j.value as SecretValue, ...(typeof j.servedBy === 'string' ? { servedBy: j.servedBy } : {}) };
}

export function infoJson(i: SecretInfo): Json {
  return {
    path: i.path,
    type: i.type,
    description: i.description,
    owner: i.owner,
    tags: i.tags,
    versions: i.versionCount,
    current: i.currentVersion ? { id: i.currentVersion.id, version: i.currentVersion.number } : null,
    createdAt: isoTime(i.createdAt),
    updatedAt: isoTime(i.updatedAt),
    deletedAt: isoOrNull(i.deletedAt),
    purgeAfter: isoOrNull(i.purgeAfter),
  };
}

export function infoFromJson(j: Json): SecretInfo {
  const current = j.current as { id: string; version: number } | null;
  return {
    path: j.path as string,
    type: j.type as string | null,
    description: j.description as string | null,
    owner: j.owner as string | null,
    tags: j.tags as Record<string, string>,
    versionCount: j.versions as number,
    currentVersion: current ? { id: current.id, number: current.version } : null,
    createdAt: Date.parse(j.createdAt as string),
    updatedAt: Date.parse(j.updatedAt as string),
    deletedAt: msOrNull(j.deletedAt),
    purgeAfter: msOrNull(j.purgeAfter),
  };
}

export function consumerJson(c: ConsumerView): Json {
  return { kind: c.kind, target: c.description, status: c.status, attempts: c.attempts, error: c.errorCode ? { code: c.errorCode, message: c.errorMessage } : null };
}

/** A consumer back from JSON; its index is its place in the run's list (consumers are listed in order). */
export function consumerFromJson(j: Json, idx: number): ConsumerView {
  const error = j.error as { code: string; message: string | null } | null;
  return {
    idx,
    kind: j.kind as string,
    description: j.target as string,
    status: j.status as ConsumerView['status'],
    attempts: j.attempts as number,
    errorCode: error?.code ?? null,
    errorMessage: error?.message ?? null,
  };
}

/** A run (with its consumers when given): `rotate --json`, `runs --json`, and the API's run bodies. */
export function runJson(run: RunView, consumers?: readonly ConsumerView[]): Json {
  return {
    id: run.id,
    correlationId: run.correlationId,
    path: run.path,
    strategy: run.strategy,
    status: run.status,
    step: run.step,
    attempt: run.attempt,
    pendingVersionId: run.pendingVersionId,
    fromVersionId: run.fromVersionId,
    failedStep: run.failedStep,
    error: run.errorCode ? { code: run.errorCode, message: run.errorMessage } : null,
    nextAttemptAt: isoOrNull(run.nextAttemptAt),
    createdAt: isoTime(run.createdAt),
    finishedAt: isoOrNull(run.finishedAt),
    ...(consumers ? { consumers: consumers.map(consumerJson) } : {}),
  };
}

export function runFromJson(j: Json): RunView {
  const error = j.error as { code: string; message: string | null } | null;
  return {
    id: j.id as string,
    correlationId: j.correlationId as string,
    path: j.path as string,
    strategy: j.strategy as string,
    status: j.status as Run['status'],
    step: j.step as Step,
    attempt: j.attempt as number,
    pendingVersionId: j.pendingVersionId as string | null,
    fromVersionId: j.fromVersionId as string | null,
    failedStep: j.failedStep as Step | null,
    errorCode: error?.code ?? null,
    errorMessage: error?.message ?? null,
    nextAttemptAt: msOrNull(j.nextAttemptAt),
    createdAt: Date.parse(j.createdAt as string),
    finishedAt: msOrNull(j.finishedAt),
  };
}

/** The consumers of a run body (`[]` when it has none). */
export function consumersFromJson(j: Json): ConsumerView[] {
  return ((j.consumers as Json[] | undefined) ?? []).map(consumerFromJson);
}

/** A subscribed agent as `runs show` lists it: what it last said it holds of the run's secret, and when. */
export interface RunAgentView {
  agent: string;
  versionId: string;
  version: number;
  /** Its last report (epoch ms). */
  reportedAt: number;
}

/** The subscribed agents of a run whose new version is current: those that hold it and those that do not. */
export interface RunAgentsView {
  versionId: string;
  have: RunAgentView[];
  missing: RunAgentView[];
}

function agentJson(a: RunAgentView): Json {
  return { agent: a.agent, version: a.version, versionId: a.versionId, reportedAt: isoTime(a.reportedAt) };
}

function agentFromJson(j: Json): RunAgentView {
  return { agent: j.agent as string, version: j.version as number, versionId: j.versionId as string, reportedAt: Date.parse(j.reportedAt as string) };
}

/** `agents` of `runs show --json` (null: the run's new version is not current, so no agent is expected to hold it). */
export function runAgentsJson(a: RunAgentsView | null): Json | null {
  return a === null ? null : { versionId: a.versionId, have: a.have.map(agentJson), missing: a.missing.map(agentJson) };
}

export function runAgentsFromJson(j: unknown): RunAgentsView | null {
  if (j === null || j === undefined) return null;
  const o = j as Json;
  return { versionId: o.versionId as string, have: (o.have as Json[]).map(agentFromJson), missing: (o.missing as Json[]).map(agentFromJson) };
}

export function stepJson(s: StepView): Json {
  return { seq: s.seq, step: s.step, attempt: s.attempt, outcome: s.outcome, errorCode: s.error_code, detail: s.detail, startedAt: isoTime(s.started_at), ms: s.finished_at - s.started_at };
}

export function stepFromJson(j: Json): StepView {
  const started = Date.parse(j.startedAt as string);
  return {
    seq: j.seq as number,
    step: j.step as string,
    attempt: j.attempt as number,
    outcome: j.outcome as string,
    error_code: j.errorCode as string | null,
    detail: j.detail as string | null,
    started_at: started,
    finished_at: started + (j.ms as number),
  };
}
