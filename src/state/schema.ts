/**
 * Table types of the state database, shared by SQLite and PostgreSQL.
 * Times are epoch milliseconds (INTEGER in SQLite, BIGINT in PostgreSQL); binary data is base64 text.
 */
export interface SecretsTable {
  id: string;
  path: string;
  type: string | null;
  description: string | null;
  owner: string | null;
  /** JSON object of string tags. */
  tags: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  purge_after: number | null;
  /** The number the next version gets. */
  next_version: number;
}

export interface SecretVersionsTable {
  secret_id: string;
  id: string;
  number: number;
  kind: 'string' | 'json';
  data_key_id: string;
  /** base64(nonce || ciphertext || tag), AES-256-GCM, AAD = path and version id. */
  sealed: string;
  created_at: number;
}

export interface SecretStagesTable {
  secret_id: string;
  stage: string;
  version_id: string;
  updated_at: number;
}

export interface DataKeysTable {
  id: string;
  /** base64 of the data key sealed under the root key. */
  wrapped: string;
  /** Fingerprint of the root key that wrapped it. */
  root_key_id: string;
  active: number;
  created_at: number;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface TargetsTable {
  name: string;
  type: string;
  /** The validated target config as JSON (never a secret: admins are secret paths). */
  config: string;
  updated_at: number;
}

export interface SecretPoliciesTable {
  path: string;
  /** The validated secret policy as JSON, without its initial value. */
  config: string;
  updated_at: number;
}

export interface RunsTable {
  id: string;
  correlation_id: string;
  path: string;
  strategy: string;
  /** running | retrying | done | failed | cancelled */
  status: string;
  /** The next step to run (or the last one, once finished). */
  step: string;
  attempt: number;
  failed_sets: number;
  /** Bumped after repeated failed sets: the next create makes a fresh value. */
  generation: number;
  from_version_id: string | null;
  pending_version_id: string | null;
  error_code: string | null;
  error_message: string | null;
  /** The step whose failure error_code is about (the run resumes at `step`); NULL when none failed. */
  failed_step: string | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface RunStepsTable {
  run_id: string;
  seq: number;
  step: string;
  attempt: number;
  /** ok | skipped | failed */
  outcome: string;
  detail: string | null;
  error_code: string | null;
  started_at: number;
  finished_at: number;
}

export interface RunConsumersTable {
  run_id: string;
  idx: number;
  kind: string;
  description: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  updated_at: number;
}

export interface LeasesTable {
  name: string;
  holder: string;
  token: number;
  expires_at: number;
}

/** One audit event (Merkle leaf); append-only. */
export interface AuditLeavesTable {
  /** The leaf index: the n-th event written has seq n. */
  seq: number;
  /** `ev_<seq>_<first 12 hex digits of the leaf hash>`. */
  id: string;
  /** The RFC 8785 canonical JSON of the event, exactly the bytes hashed. */
  leaf: string;
  /** base64 of SHA-256(0x00 || leaf). */
  leaf_hash: string;
  time: number;
  /**
   * HMAC-SHA-256 (base64) of the leaf hash under the audit MAC key; NULL for rows written
   * before migration 0005 (a signed checkpoint covers them). Optional on insert.
   */
  leaf_mac?: string | null;
}

/** The single row (id 1) the appender resumes from; updated in every append's transaction. */
export interface AuditHeadTable {
  id: number;
  size: number;
  /** Hex leaf hash of the last event (64 zeros when empty): the next event's `prev`. */
  prev: string;
  /** base64 of the compact range's subtree roots (32 bytes each), largest first. */
  nodes: string;
  last_event_at: number | null;
  checkpoint_size: number;
  checkpoint_at: number | null;
  /** HMAC-SHA-256 (base64) of the other columns under the audit MAC key; NULL before the key existed. */
  head_mac: string | null;
}

/** A signed checkpoint (C2SP signed note) of the audit log at one size. */
export interface AuditCheckpointsTable {
  size: number;
  /** base64 root hash, as in the note. */
  root: string;
  note: string;
  created_at: number;
  /** base64 of the compact range at this size (as audit_head.nodes); NULL for checkpoints from before migration 0005. */
  nodes?: string | null;
}

/** The audit signing key (`signer`), HMAC keys (`hmac`) and the row MAC key (`mac`), sealed by the key ring. */
export interface AuditKeysTable {
  id: string;
  kind: 'signer' | 'hmac' | 'mac';
  /** The verifier key (C2SP vkey) of a signer; null for HMAC keys. */
  public: string | null;
  data_key_id: string;
  sealed: string;
  active: number;
  created_at: number;
}

/** Where each audit sink is: the next seq to deliver. */
export interface AuditSinkCursorsTable {
  name: string;
  next_seq: number;
  delivered_at: number | null;
  failures: number;
  /** The last delivery error (code and message; never an event's content). */
  last_error: string | null;
  updated_at: number;
}

/** A named path policy (access control): its YAML document, checked when stored. */
export interface AccessPoliciesTable {
  name: string;
  document: string;
  created_at: number;
  updated_at: number;
}

/** An API token: only its SHA-256 (hex) is stored; `policies` is a JSON array of policy names. */
export interface TokensTable {
  id: string;
  hash: string;
  policies: string;
  description: string | null;
  /** Who the token stands for (null: the token itself, `token:<id>`). */
  subject: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** A break-glass request (src/access/breakglass/): its state, window and the rotation after it. */
export interface BreakglassRequestsTable {
  id: string;
  path: string;
  /** Why, as the requester wrote it (never a value; shown to approvers). */
  reason: string;
  /** The requester's subject, and the token it asked with. */
  requester: string;
  requester_token: string;
  /** The window asked for. */
  ttl_ms: number;
  /** pending | approved | denied | lapsed | closed */
  state: string;
  created_at: number;
  /** When the second approval opened the window, and when it closes. */
  approved_at: number | null;
  ends_at: number | null;
  closed_at: number | null;
  /** null (not due) | running | rotated | failed | unconfigured */
  rotation: string | null;
  rotation_run_id: string | null;
  /** The KT_ code of a failed or unconfigured rotation. */
  rotation_error: string | null;
  rotation_at: number | null;
}

/** One approval of a break-glass request; one per subject. */
export interface BreakglassApprovalsTable {
  request_id: string;
  subject: string;
  token_id: string;
  created_at: number;
}

/** An OIDC issuer (login with a JWT): the exact `iss` it accepts and its YAML document. */
export interface OidcIssuersTable {
  name: string;
  issuer: string;
  document: string;
  created_at: number;
  updated_at: number;
}

/** A notification channel applied from keyturn.yaml (migration 0011). */
export interface NotifyChannelsTable {
  name: string;
  /** The validated channel config as JSON: credentials only as references. */
  config: string;
  /** The audit log's size when the channel was created: it hears about events from there on. */
  from_seq: number;
  updated_at: number;
}

/** Where the pass that turns audit events into notifications is. */
export interface NotifyCursorTable {
  name: string;
  next_seq: number;
  updated_at: number;
}

/** One notification for one channel, queued until delivered or given up. */
export interface NotifyOutboxTable {
  /** `ntf_…`: also the delivery id receivers see (Keyturn-Delivery), the same on every try. */
  id: string;
  channel: string;
  /** What it is about (`failure:ev_…`, `expiry-warning:PATH:CYCLE`, ...): unique per channel. */
  dedupe: string;
  /** failure | success | expiry-warning | escalation */
  event: string;
  path: string | null;
  /** The JSON body (format json) and what other formats are rendered from; never a value. */
  payload: string;
  /** pending | delivered | failed | dropped */
  status: string;
  attempts: number;
  /** When it is due (pending), or until when the claim of the instance sending it holds. */
  next_attempt_at: number;
  claim: string | null;
  last_status: number | null;
  /** The last error (a code and a short text; never a response body). */
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

/** A secret whose last rotation failed, since when (removed by a success). */
export interface NotifyFailingTable {
  path: string;
  since: number;
  /** The audit seq of the failure that started the failing period. */
  since_seq: number;
  run_id: string | null;
  error_code: string | null;
  updated_at: number;
}

/** The last cycle (expiry warnings) or failing period (escalations) a channel was told about, per secret. */
export interface NotifyMarksTable {
  channel: string;
  kind: string;
  path: string;
  mark: string;
  updated_at: number;
}

/** A secret marked deprecated or revoked (migration 0012); no row: active. */
export interface SecretStatusTable {
  path: string;
  status: string;
  changed_at: number;
  actor: string;
}

/** What one agent last said it holds of one secret (POST /v1/deliveries); never a value. */
export interface AgentDeliveriesTable {
  agent: string;
  path: string;
  version_id: string;
  version: number;
  destination: string | null;
  token_id: string;
  subject: string;
  reported_at: number;
  changed_at: number;
}

/**
 * The scheduler's index: one row per secret with an applied policy, its next due time and what a
 * pass needs to order and limit it (src/schedule/due-repo.ts).
 */
export interface ScheduleDueTable {
  path: string;
  /** The policy's target (the per-target concurrency limit counts by it); NULL without one. */
  target: string | null;
  /** 0 emergency, 1 manual request, 2 scheduled (or a retry): a pass takes the lowest first, then the most overdue. */
  priority: number;
  /** When a pass should take it; NULL: never (a manual schedule, a deleted secret). */
  due_at: number | null;
  /** Why it is due then: a cadence (every, rate, cron), window, missed-window, manual, retry, running, failed, requested, error, cleanup, deleted, no-value. */
  reason: string;
  warning_at: number | null;
  overdue_at: number | null;
  /** A rotation asked for (emergency or manual) and not done yet: since when. */
  requested_at: number | null;
  /** The scheduler instance that claimed it, when, and until when no other instance may take it. */
  claimed_by: string | null;
  claimed_at: number | null;
  claimed_until: number | null;
  updated_at: number;
}

/** Where a cleanup phase stands: to do, or how it ended. */
export type CleanupPhase = 'pending' | 'done' | 'not-needed' | 'superseded' | 'gone' | 'unsupported';

/**
 * A version a rotation replaced and what is left to do about it: end its credential after `grace`
 * (`revoke`) and drop it after `retainPrevious` (`purge`) (src/engine/cleanups-repo.ts).
 */
export interface VersionCleanupsTable {
  path: string;
  version_id: string;
  /** The run whose finish replaced it: its journal gets the cleanup's steps. */
  run_id: string;
  replaced_at: number;
  revoke: CleanupPhase;
  purge: CleanupPhase;
  /** When a pass should look at it again; NULL once both phases are over (the row is then deleted). */
  due_at: number | null;
  /** A revoke under way since (its intent committed before the target is touched); NULL otherwise. */
  started_at: number | null;
  /** Failed attempts in a row (the backoff counts them). */
  attempts: number;
  error_code: string | null;
  updated_at: number;
}

/** An access anomaly a detector found (src/detect/), recorded with its `anomaly.<type>` audit event (correlation id: `id`). */
export interface AnomaliesTable {
  id: string;
  type: string;
  /** The audit seq of the event that set it off. */
  trigger_seq: number;
  time: number;
  actor: string;
  path: string | null;
  address: string | null;
  score: number;
  reason: string;
  /** JSON object of strings and numbers (the figures behind the reason). */
  details: string;
  /** The rotation it started (run id), `refused:<code>`, or NULL when the policy asks for none. */
  rotation: string | null;
  created_at: number;
}

/** How far detection has raised anomalies (name `audit`): events from `next_seq` on are new to it. */
export interface DetectCursorTable {
  name: string;
  next_seq: number;
  updated_at: number;
}

/** When a `renew` secret's current value (version `version_id`) needs renewing by itself (migration 0017). */
export interface RenewalsTable {
  path: string;
  version_id: string;
  renew_at: number;
  updated_at: number;
}

/** What a replica store holds of a secret, and how far it is behind (migration 0018). */
export interface ReplicaStatusTable {
  path: string;
  /** The replica's name under `stores:` in keyturn.yaml. */
  replica: string;
  /** The primary's current version, which the replica should hold, and since when (lag counts from then). */
  wanted_version_id: string;
  wanted_number: number;
  wanted_since: number;
  /** The primary's version the replica last got; null before its first copy. */
  version_id: string | null;
  version_number: number | null;
  synced_at: number | null;
  /** Failed attempts since it last caught up. */
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  /** While behind: when the catch-up pass tries it again. */
  next_attempt_at: number | null;
  updated_at: number;
}

/** A secret of an outside primary store, as its writes through Keyturn left it (migration 0019). */
export interface StoreHeadsTable {
  path: string;
  created_at: number;
  current_version_id: string | null;
  /** When the current version was made (its createdAt in the store). */
  current_at: number | null;
  deleted_at: number | null;
  updated_at: number;
}

/**
 * A keyed hash of a stored value (or of one field of a fields value) and the version it belongs
 * to (migration 0020): what `keyturn scan` links a found value with (src/scan/link/).
 */
export interface ValueHmacsTable {
  /** `hmac-sha256:<key id>:<base64>`, as the version's `secret.put` event carries it (field ''). */
  value_hmac: string;
  path: string;
  version_id: string;
  /** '' for the whole value; a field's name for that field's value. */
  field: string;
  created_at: number;
}

export interface Schema {
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
  secret_stages: SecretStagesTable;
  data_keys: DataKeysTable;
  kt_settings: SettingsTable;
  targets: TargetsTable;
  secret_policies: SecretPoliciesTable;
  runs: RunsTable;
  run_steps: RunStepsTable;
  run_consumers: RunConsumersTable;
  leases: LeasesTable;
  audit_leaves: AuditLeavesTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_keys: AuditKeysTable;
  audit_sink_cursors: AuditSinkCursorsTable;
  access_policies: AccessPoliciesTable;
  tokens: TokensTable;
  breakglass_requests: BreakglassRequestsTable;
  breakglass_approvals: BreakglassApprovalsTable;
  oidc_issuers: OidcIssuersTable;
  notify_channels: NotifyChannelsTable;
  notify_cursor: NotifyCursorTable;
  notify_outbox: NotifyOutboxTable;
  notify_failing: NotifyFailingTable;
  notify_marks: NotifyMarksTable;
  secret_status: SecretStatusTable;
  agent_deliveries: AgentDeliveriesTable;
  schedule_due: ScheduleDueTable;
  version_cleanups: VersionCleanupsTable;
  anomalies: AnomaliesTable;
  detect_cursor: DetectCursorTable;
  renewals: RenewalsTable;
  replica_status: ReplicaStatusTable;
  store_heads: StoreHeadsTable;
  value_hmacs: ValueHmacsTable;
}
