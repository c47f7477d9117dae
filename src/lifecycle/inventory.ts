/**
 * The inventory (`GET /v1/inventory`, the web dashboard's first page): every live secret at or
 * below a prefix with what `keyturn report compliance` says of it (type, age against the policy's
 * maximum, compliance and lifecycle status, last result: ./compliance.ts, same rules) plus its
 * target and next due time, computed from a few bulk reads instead of a dozen queries a secret:
 *
 * 1. the secrets with their current version, lifecycle mark and renewal time (one join);
 * 2. each path's latest run (one query);
 * 3. the applied policies (one query, parsed once).
 *
 * The embedded store keeps its secrets in the state database, so this reads them there. With an
 * outside primary store (KEYTURN_STORE_FILE) the rows come from the compliance report (a few
 * queries a secret) and the target and next due time from the applied policies. A certificate
 * secret (a JSON value with a PEM `cert`) has its notAfter read once per version per process, as
 * the report does.
 *
 * @example
 * ```ts
 * const inv = await inventory({ kt, store: kt.store }, { prefix: 'prod' });
 * inv.secrets[0]; // { path, type, target, ageMs, max, status, lifecycle, lastResult, dueAt, ... }
 * ```
 */
import { sql } from 'kysely';
import { CERT_WARN_MS, certificateStatus, currentCertificateExpiry } from '../certs/secret-expiry.js';
import { parseDuration } from '../core/duration.js';
import { normalizePrefix, pathHasPrefix } from '../core/paths.js';
import type { SecretPolicy } from '../engine/applied.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { ageStatus, nextDue } from '../schedule/due.js';
import { describeCadence } from '../schedule/resolve.js';
import type { SecretStore } from '../stores/store.js';
import { complianceReport, type ComplianceRow, type ComplianceStatus } from './compliance.js';
import type { LifecycleStatus } from './status.js';

export interface InventoryRow extends Pick<
  ComplianceRow,
  'path' | 'type' | 'ageMs' | 'max' | 'maxAgeMs' | 'status' | 'lifecycle' | 'lastResult' | 'lastRunId' | 'lastRotation' | 'overdueAt' | 'expiresAt'
> {
  /** The target under `targets:` it rotates at; null for none. */
  target: string | null;
  /** When it is next due for rotation (ISO-8601); null for a manual schedule or no policy. */
  dueAt: string | null;
}

export interface Inventory {
  now: string;
  prefix: string;
  secrets: InventoryRow[];
  counts: Record<ComplianceStatus, number>;
}

export interface InventoryScope {
  kt: Keyturn;
  store: SecretStore;
  listable?(path: string): boolean;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export async function inventory(scope: InventoryScope, options: { prefix?: string } = {}): Promise<Inventory> {
  const prefix = normalizePrefix(options.prefix ?? '');
  const policies = new Map((await scope.kt.applied.policies()).map((p) => [p.path, p]));
  const rows = scope.kt.settings.storeFile === undefined ? await fromState(scope, prefix, policies) : await fromReport(scope, prefix, policies);
  const counts = { ok: 0, warning: 0, overdue: 0, failing: 0 } as Record<ComplianceStatus, number>;
  for (const r of rows) counts[r.status] += 1;
  return { now: iso(scope.kt.clock.now())!, prefix, secrets: rows, counts };
}

/** With an outside primary store: the compliance report's rows, with target and next due from the policies. */
async function fromReport(scope: InventoryScope, prefix: string, policies: Map<string, SecretPolicy>): Promise<InventoryRow[]> {
  const report = await complianceReport(scope, { prefix });
  const now = scope.kt.clock.now();
  return report.secrets.map((r) => {
    const policy = policies.get(r.path);
    const due = policy ? nextDue(policy.effectiveSchedule, { path: r.path, lastRotatedAt: r.lastRotation === null ? null : Date.parse(r.lastRotation), createdAt: now - r.ageMs, now }) : null;
    return { ...pick(r), target: policy?.target ?? null, dueAt: iso(due?.dueAt ?? null) };
  });
}

function pick(r: ComplianceRow): Omit<InventoryRow, 'target' | 'dueAt'> {
  const { path, type, ageMs, max, maxAgeMs, status, lifecycle, lastResult, lastRunId, lastRotation, overdueAt, expiresAt } = r;
  return { path, type, ageMs, max, maxAgeMs, status, lifecycle, lastResult, lastRunId, lastRotation, overdueAt, expiresAt };
}

interface SecretRow {
  path: string;
  type: string | null;
  created_at: number | string;
  version_id: string | null;
  version_created_at: number | string | null;
  kind: 'string' | 'json' | null;
  mark: string | null;
  mark_at: number | string | null;
  renew_at: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** The embedded store: everything from the state database in three reads. */
async function fromState(scope: InventoryScope, prefix: string, policies: Map<string, SecretPolicy>): Promise<InventoryRow[]> {
  const { kt, store } = scope;
  const now = kt.clock.now();
  const db = kt.state.db;
  const secrets = (await db
    .selectFrom('secrets as s')
    .leftJoin('secret_stages as cs', (j) => j.onRef('cs.secret_id', '=', 's.id').on('cs.stage', '=', 'current'))
    .leftJoin('secret_versions as v', (j) => j.onRef('v.secret_id', '=', 's.id').onRef('v.id', '=', 'cs.version_id'))
    .leftJoin('secret_status as st', 'st.path', 's.path')
    .leftJoin('renewals as rn', (j) => j.onRef('rn.path', '=', 's.path').onRef('rn.version_id', '=', 'cs.version_id'))
    .select(['s.path', 's.type', 's.created_at', 'cs.version_id', 'v.created_at as version_created_at', 'v.kind', 'st.status as mark', 'st.changed_at as mark_at', 'rn.renew_at'])
    .where('s.deleted_at', 'is', null)
    .orderBy('s.path')
    .execute()) as SecretRow[];
  // Each path's latest run (newest created_at, then the greatest id, as RunsRepo.list orders them).
  const runs = await sql<{ path: string; id: string; status: string; error_code: string | null; created_at: number | string }>`
    select r.path, r.id, r.status, r.error_code, r.created_at from runs r
    join (select path, max(created_at) as latest from runs group by path) x on x.path = r.path and x.latest = r.created_at`.execute(db);
  const latest = new Map<string, { id: string; status: string; error_code: string | null }>();
  for (const r of runs.rows) {
    const had = latest.get(r.path);
    if (!had || r.id > had.id) latest.set(r.path, r);
  }
  const out: InventoryRow[] = [];
  for (const s of secrets) {
    if (!pathHasPrefix(s.path, prefix) || (scope.listable && !scope.listable(s.path))) continue;
    const createdAt = Number(s.created_at);
    const policy = policies.get(s.path);
    // The last rotation is the current version's creation; the report knows it only with a policy (its schedule view).
    const versionAt = policy ? num(s.version_created_at) : null;
    const schedule = policy?.effectiveSchedule;
    const scheduled = schedule ? nextDue(schedule, { path: s.path, lastRotatedAt: versionAt, createdAt, now }) : null;
    const renewAt = num(s.renew_at);
    const due = scheduled && renewAt !== null && (scheduled.dueAt === null || renewAt < scheduled.dueAt) ? { ...scheduled, dueAt: renewAt } : scheduled;
    const cert = s.version_id !== null && s.kind === 'json' ? await currentCertificateExpiry(kt, store, { path: s.path, createdAt, versionId: s.version_id, kind: 'json' }) : null;
    const certStatus = cert === null ? 'ok' : certificateStatus(cert.notAfterMs, now, CERT_WARN_MS);
    const run = latest.get(s.path);
    const age = due ? ageStatus(due, now) : 'ok';
    const status: ComplianceStatus =
      age === 'overdue' || certStatus === 'expired' ? 'overdue' : run?.status === 'failed' ? 'failing' : age === 'warning' || certStatus === 'warning' ? 'warning' : 'ok';
    const maxAge = schedule?.maxAge ?? null;
    const maxAgeMs = maxAge === null ? null : parseDuration(maxAge);
    // The lifecycle status as src/lifecycle/status.ts decides it: a mark made since the secret's creation, else expired past maxAge.
    const expires = maxAgeMs === null ? null : (versionAt ?? createdAt) + maxAgeMs;
    const markAt = num(s.mark_at);
    const lifecycle: LifecycleStatus = s.mark !== null && markAt !== null && markAt >= createdAt ? (s.mark as LifecycleStatus) : expires !== null && now >= expires ? 'expired' : 'active';
    out.push({
      path: s.path,
      type: policy?.type ?? s.type,
      target: policy?.target ?? null,
      ageMs: Math.max(0, now - (versionAt ?? createdAt)),
      max: maxAge !== null ? `maxAge ${maxAge}` : schedule ? describeCadence(schedule.cadence) : 'manual',
      maxAgeMs,
      status,
      lifecycle,
      lastResult: run ? (run.status === 'failed' && run.error_code ? `failed ${run.error_code}` : run.status) : null,
      lastRunId: run?.id ?? null,
      lastRotation: iso(versionAt),
      overdueAt: iso(due?.overdueAt ?? null),
      expiresAt: iso(cert?.notAfterMs ?? null),
      dueAt: iso(due?.dueAt ?? null),
    });
  }
  return out;
}
