/**
 * What the CLI's secret, rotate, runs and audit commands need from Keyturn, as one interface with two
 * implementations: over an open home in this process (./local.ts, which the server's routes call
 * too, so both behave alike) and over the HTTP API (./remote.ts, with KEYTURN_ADDR and
 * KEYTURN_TOKEN). Errors are KeyturnErrors either way, so exit codes and messages match.
 * A new group is one more member here, one more implementation on each side (the audit group:
 * ./local-audit.ts and ./remote-audit.ts).
 *
 * @example
 * ```ts
 * await app.withClient(opts, async (client) => client.secrets.get('prod/db/app', { stage: 'current' }));
 * ```
 */
import type { AuditEvent } from '../audit/event.js';
import type { ExportSummary } from '../audit/export.js';
import type { AuditProblem } from '../audit/problem.js';
import type { OutsideReport } from '../audit/sinks/outside-checkpoints.js';
import type { SecretInfo, SecretMetadata, SecretValue, Stage, Version, VersionInfo } from '../core/types.js';
import type { Strategy } from '../targets/target.js';
import type { VersionSelector } from '../stores/store.js';
import type { ConsumerView, RunAgentsView, RunView, StepView } from './wire.js';
import type { ScheduleView } from '../schedule/show.js';
import type { LifecycleEvent } from '../lifecycle/events.js';
import type { ComplianceReport } from '../lifecycle/compliance.js';
import type { MarkedStatus, StatusView } from '../lifecycle/status.js';

export interface SecretPutOptions {
  /** The stages of the new version (default current). */
  stages?: Stage[];
  metadata?: Partial<SecretMetadata>;
  versionId?: string;
  /** Compare-and-set: store only while this version number is current (0: only if the secret does not exist). */
  expectCurrentVersion?: number;
  /** With an unfinished rotation run: store anyway and cancel the run without touching the target. */
  supersede?: boolean;
}

export interface RollbackResult {
  path: string;
  current: { id: string; version: number };
  previous: { id: string; version: number };
}

export interface SecretsClient {
  /**
   * A version with its value; KT_SECRET_NOT_FOUND or KT_STAGE_NOT_SET when there is none;
   * KT_SECRET_INACTIVE (recorded as a denied read) when the secret is not active, unless `allowInactive`.
   */
  get(path: string, select: VersionSelector, options?: { allowInactive?: boolean }): Promise<Version>;
  /** The secret's lifecycle events (from the audit log), oldest first, the last `limit`. */
  events(path: string, options: { limit: number }): Promise<LifecycleEvent[]>;
  /** The secret's lifecycle status: active, deprecated, expired or revoked. */
  status(path: string): Promise<StatusView>;
  /** Marks the secret deprecated or revoked, or active again (the mark removed). */
  setStatus(path: string, status: MarkedStatus): Promise<StatusView>;
  /** Stores a version; KT_RUN_ACTIVE when the secret has an unfinished run (unless `supersede`). */
  put(path: string, value: SecretValue, options: SecretPutOptions): Promise<{ version: VersionInfo; cancelled: RunView | null }>;
  /** The secrets at or below `prefix` (deleted ones with `deleted`), sorted by path. */
  list(prefix: string, options: { deleted: boolean }): Promise<SecretInfo[]>;
  /** The secret and its versions, newest first, without values. */
  history(path: string): Promise<{ info: SecretInfo; versions: VersionInfo[] }>;
  /** The previous version becomes current (refused for a managed credential: KT_ROLLBACK_MANAGED). */
  rollback(path: string): Promise<RollbackResult>;
  /** Soft delete; the recovery window defaults to the home's KEYTURN_RECOVERY_DAYS. */
  remove(path: string, options: { recoveryDays?: number }): Promise<SecretInfo>;
  restore(path: string): Promise<SecretInfo>;
  /** The secret a purge would remove, or the error the purge would give now (nothing changes). */
  purgeable(path: string): Promise<SecretInfo>;
  purge(path: string): Promise<void>;
}

/** What `rotate --dry-run` shows. */
export interface RotationPlan {
  path: string;
  strategy: Strategy;
  target: string | null;
  nextUsername: string | null;
  consumers: number;
  currentLogsIn: boolean | null;
  activeRun: string | null;
  problems: string[];
}

/** A run with its consumers' delivery status. */
export interface RunOutcome {
  run: RunView;
  consumers: ConsumerView[];
}

/** A rotation asked of the scheduler (`rotate PATH --queue`): due now, in its priority, until a new value is made. */
export interface QueuedRotation {
  path: string;
  priority: 'emergency' | 'manual' | 'scheduled';
  /** Epoch ms; null: never (cannot happen for a queued rotation, kept for the shape). */
  dueAt: number | null;
  requestedAt: number | null;
}

/** How one due secret ended in `rotate --due`: its run and the cleanups done, or why there was none (KT_NOT_DUE, KT_RUN_LOCKED: skipped). */
export interface DueRotation {
  path: string;
  outcome: RunOutcome | null;
  /** The cleanups of earlier rotations done first (a local pass; through a server its own scheduler does them). */
  cleanups: readonly CleanupView[];
  error: { code: string; message: string } | null;
}

/** One cleanup a pass did (src/engine/cleanup.ts): where each phase stands, when it is due again (ISO, null: over), the failure if any. */
export interface CleanupView {
  path: string;
  versionId: string;
  runId: string;
  revoke: string;
  purge: string;
  dueAt: string | null;
  errorCode: string | null;
  detail: string;
}

export interface RunsClient {
  /**
   * Rotates a secret now (or continues its unfinished run): one attempt, or until done or failed
   * with `wait`. With `ifDue`, only when it is due, decided under its lease (KT_NOT_DUE otherwise).
   */
  rotate(path: string, options: { wait: boolean; ifDue?: boolean }): Promise<RunOutcome>;
  /** Asks the scheduler to rotate it ahead of scheduled rotations (KT_POLICY_NOT_FOUND, KT_POLICY_NOT_ROTATABLE). */
  queue(path: string, priority: 'emergency' | 'manual'): Promise<QueuedRotation>;
  /**
   * `rotate --due`: rotates what is due now (scheduled rotations, requests, retries whose time has
   * come), `concurrency` at once, telling `each` how each ended; returns once all have. Locally one
   * scheduler pass over the state database; through a server the due secrets it lists (those the
   * token may rotate), each rotated only if still due.
   */
  rotateDue(options: { concurrency: number }, each: (r: DueRotation) => void): Promise<void>;
  plan(path: string): Promise<RotationPlan>;
  /**
   * What `rotate --all` rotates (the managed secrets at or below `prefix`, of `type` when given)
   * or what is due now (a scheduled rotation, a request or a retry whose time has come), sorted;
   * through a server, only those the token may rotate.
   */
  rotatable(which: { due: true } | { due?: false; prefix: string; type?: string }): Promise<string[]>;
  /** Runs, newest first. */
  /** `before`: the page after that run (newest first, ties by id; locally: the server pages for its callers itself). */
  list(filter: { path?: string; limit: number; before?: { createdAt: number; id: string } }): Promise<RunView[]>;
  get(id: string): Promise<RunView>;
  /** A run with its steps; `agents`: its secret's subscribed agents with and without its new version, once that version is current (else null). */
  show(id: string): Promise<RunOutcome & { steps: StepView[]; agents: RunAgentsView | null }>;
  resume(id: string, options: { wait: boolean }): Promise<RunOutcome>;
  cancel(id: string): Promise<RunView>;
  /** The secret's effective rotation schedule, its last rotation and next due time (KT_POLICY_NOT_FOUND when not declared). */
  schedule(path: string): Promise<ScheduleView>;
  /** Every secret at or below `prefix` (through a server: those the token may list) against its policy. */
  compliance(prefix: string): Promise<ComplianceReport>;
}

/**
 * An audit event as `audit tail` shows it and `GET /v1/audit/events` returns it: its id and fields
 * (in the leaf's order), or only its id and seq when the stored leaf no longer decodes.
 */
export type AuditEventView = ({ id: string } & AuditEvent) | { id: string; seq: number; invalid: true };

/** Events oldest first, and the seq to read on from (`from(next, ...)`). */
export interface AuditPage {
  events: AuditEventView[];
  next: number;
}

/** Which events an export holds: from a seq (a trusted checkpoint's size), since a time (epoch ms), the last hours, or all. */
export type AuditExportRange = { from: number } | { since: number } | { hours: number } | { all: true };

/** `audit verify` of the stored log. */
export interface AuditVerifyView {
  /** What was verified: the state database (locally), or the server's address. */
  source: string;
  ok: boolean;
  size: number;
  verifiedSize: number;
  validCheckpoints: number;
  /** The latest checkpoint that verified; its root in base64. */
  latest: { size: number; root: string } | null;
  /** The verifier key used. */
  verifierKey: string;
  problems: AuditProblem[];
  /** The signed note of `latest` (what --save-trusted keeps). */
  latestNote: string | null;
  /** The checkpoints from outside the database (the sinks) it was checked against. */
  outside: OutsideReport;
}

export interface AuditCheckpointView {
  size: number;
  /** Base64. */
  root: string;
  /** ISO-8601. */
  createdAt: string;
  /** The signed note (c2sp.org/tlog-checkpoint). */
  note: string;
}

export interface AuditProofView {
  id: string;
  seq: number;
  leaf: string;
  leafHash: string;
  checkpointSize: number;
  /** The c2sp.org/tlog-proof text. */
  proof: string;
}

export interface AuditClient {
  /** The latest `limit` events (0: none) and the seq after them. */
  latest(limit: number): Promise<AuditPage>;
  /** At most `limit` events from seq `seq` on (to follow the log). */
  from(seq: number, limit: number): Promise<AuditPage>;
  /** Writes the export file (JSON Lines, mode 0600) and records `audit.export`. */
  export(range: AuditExportRange, file: string): Promise<ExportSummary>;
  /** Verifies the stored log; damage is in `problems`, never thrown. `trusted`: a checkpoint kept from before, and the file it came from. */
  verify(options: { verifierKey?: string; trusted?: { note: string; file: string } }): Promise<AuditVerifyView>;
  /** The latest signed checkpoint, signing one first if the log grew. */
  checkpoint(): Promise<AuditCheckpointView>;
  /** An event's inclusion proof (by ev_… id or seq); KT_AUDIT_EVENT_NOT_FOUND when there is none. */
  prove(event: string): Promise<AuditProofView>;
  /** The verifier key (C2SP vkey) and the log's origin. */
  verifierKey(): Promise<{ verifierKey: string; origin: string }>;
}

export interface KeyturnClient {
  /** `local`, or the server's address. */
  readonly where: string;
  readonly secrets: SecretsClient;
  readonly runs: RunsClient;
  readonly audit: AuditClient;
  close(): Promise<void>;
}
