/**
 * What the CLI's secret, rotate and runs commands need from Keyturn, as one interface with two
 * implementations: over an open home in this process (./local.ts, which the server's routes call
 * too, so both behave alike) and over the HTTP API (./remote.ts, with KEYTURN_ADDR and
 * KEYTURN_TOKEN). Errors are KeyturnErrors either way, so exit codes and messages match.
 * A new group (audit) is one more member here, one more implementation in each file.
 *
 * @example
 * ```ts
 * await app.withClient(opts, async (client) => client.secrets.get('prod/db/app', { stage: 'current' }));
 * ```
 */
import type { SecretInfo, SecretMetadata, SecretValue, Stage, Version, VersionInfo } from '../core/types.js';
import type { Strategy } from '../targets/target.js';
import type { VersionSelector } from '../stores/store.js';
import type { ConsumerView, RunView, StepView } from './wire.js';

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
  /** A version with its value; KT_SECRET_NOT_FOUND or KT_STAGE_NOT_SET when there is none. */
  get(path: string, select: VersionSelector): Promise<Version>;
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

export interface RunsClient {
  /** Rotates a secret now (or continues its unfinished run): one attempt, or until done or failed with `wait`. */
  rotate(path: string, options: { wait: boolean }): Promise<RunOutcome>;
  plan(path: string): Promise<RotationPlan>;
  /** Runs, newest first. */
  list(filter: { path?: string; limit: number }): Promise<RunView[]>;
  get(id: string): Promise<RunView>;
  show(id: string): Promise<RunOutcome & { steps: StepView[] }>;
  resume(id: string, options: { wait: boolean }): Promise<RunOutcome>;
  cancel(id: string): Promise<RunView>;
}

export interface KeyturnClient {
  /** `local`, or the server's address. */
  readonly where: string;
  readonly secrets: SecretsClient;
  readonly runs: RunsClient;
  close(): Promise<void>;
}
