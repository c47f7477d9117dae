/**
 * What of the audit log the change stream (`GET /v1/events`) shows: a version stored, a stage
 * moved, a secret deleted, restored or purged, a rotation run's intent and outcome. Each becomes
 * one stream event named by its kind, carrying the path, the version id, the run id, the action,
 * the outcome and the time, never a value (the audit log holds none) and never who acted (that
 * is the audit log's, behind the `audit` capability). Every other audit event (reads, access,
 * configuration, failures of store operations) is not a change of a secret and is not shown.
 *
 * @example
 * ```ts
 * const change = changeOf(decodeEvent(Buffer.from(row.leaf, 'utf8')));
 * change?.kind; // 'version'
 * ```
 */
import type { AuditEvent } from '../../audit/event.js';

export type ChangeKind = 'version' | 'stage' | 'delete' | 'restore' | 'purge' | 'rotation';

/** A change of a secret, as the stream carries it (before the version's stages are added). */
export interface Change {
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly action: string;
  readonly path: string;
  readonly versionId: string | null;
  /** The stage moved (`stage` events only): current, pending, previous or a custom label. */
  readonly stage: string | null;
  readonly runId: string | null;
  readonly outcome: string;
  readonly time: string;
}

const SIMPLE: Record<string, ChangeKind> = {
  'secret.put': 'version',
  'secret.delete': 'delete',
  'secret.restore': 'restore',
  'secret.purge': 'purge',
};

/** A version a rotation run stored is named `<run id>.g<generation>` (src/engine/engine.ts). */
const RUN_VERSION = /^(run_[A-Za-z0-9-]+)\.g[0-9]+$/;

/** The change an audit event records, or null when it records none. */
export function changeOf(e: AuditEvent): Change | null {
  if (e.path === null) return null;
  let kind: ChangeKind | undefined;
  let stage: string | null = null;
  if (e.action === 'secret.rotate') kind = 'rotation';
  else if (e.outcome !== 'success') return null;
  else if (e.action === 'secret.stage' || e.action.startsWith('secret.stage.')) {
    kind = 'stage';
    stage = e.action === 'secret.stage' ? null : e.action.slice('secret.stage.'.length);
  } else kind = SIMPLE[e.action];
  if (kind === undefined) return null;
  const runId = e.runId ?? (e.versionId === null ? null : (RUN_VERSION.exec(e.versionId)?.[1] ?? null));
  return { seq: e.seq, kind, action: e.action, path: e.path, versionId: e.versionId, stage, runId, outcome: e.outcome, time: e.time };
}
