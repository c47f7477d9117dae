/**
 * `keyturn report compliance`: every live secret at or below a prefix with its type, its age
 * (since its last rotation: the current version's creation), the policy's maximum (maxAge, else
 * the cadence), its compliance status, its lifecycle status, the last run's result and the last
 * rotation's time and audit event.
 *
 * The compliance status is the first that holds of:
 * - `overdue`: past the schedule's overdue time (docs/schedule.md, "Warning and overdue"), or a
 *   certificate secret past its certificate's notAfter;
 * - `failing`: the secret's latest rotation run failed;
 * - `warning`: inside the warning before the overdue time, or a certificate secret within
 *   CERT_WARN_MS (30 days) of its notAfter;
 * - `ok`.
 *
 * A certificate secret (its current value an object whose `cert` holds a PEM certificate:
 * ../certs/secret-expiry.ts) has its certificate's notAfter as `expiresAt`; any other secret null.
 * Finding it decrypts the current value of JSON-valued secrets only, once per version per process
 * (string values are never read).
 *
 * The last rotation's audit event is the one that made the current version current: the run's
 * `secret.rotate` success, else its `secret.stage.current`, else the `secret.put` that stored it
 * (found in one pass over the log from the oldest current version's creation on).
 *
 * @example
 * ```ts
 * const report = await complianceReport({ kt, store: kt.store }, { prefix: 'prod' });
 * report.overdue; // how many rows are overdue (the CLI exits 1 when any is)
 * ```
 */
import { decodeEvent } from '../audit/event.js';
import { isKeyturnError } from '../core/errors.js';
import { normalizePrefix } from '../core/paths.js';
import { RunsRepo } from '../engine/runs-repo.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { describeCadence } from '../schedule/resolve.js';
import { durationMs } from '../schedule/schema.js';
import { scheduleView } from '../schedule/show.js';
import type { SecretStore } from '../stores/store.js';
import { CERT_WARN_MS, certificateStatus, currentCertificateExpiry } from '../certs/secret-expiry.js';
import { secretStatus, type LifecycleStatus } from './status.js';

export const COMPLIANCE_STATUSES = ['ok', 'warning', 'overdue', 'failing'] as const;
export type ComplianceStatus = (typeof COMPLIANCE_STATUSES)[number];

export interface ComplianceRow {
  path: string;
  type: string | null;
  /** Milliseconds since the last rotation (else the secret's creation). */
  ageMs: number;
  /** The policy's maximum as written: `maxAge 70d`, else the cadence (`every 90d`, `manual`); `manual` also without a policy. */
  max: string;
  /** maxAge in milliseconds; null without one. */
  maxAgeMs: number | null;
  status: ComplianceStatus;
  lifecycle: LifecycleStatus;
  /** The latest run's status (`done`, `failed`, `running`, ...), with its error code when it failed; null: never rotated by a run. */
  lastResult: string | null;
  lastRunId: string | null;
  /** ISO-8601; null when the secret has no current version. */
  lastRotation: string | null;
  lastRotationEventSeq: number | null;
  lastRotationEventId: string | null;
  /** When it becomes (or became) overdue, ISO-8601; null when never. */
  overdueAt: string | null;
  /** A certificate secret's notAfter (its current value's leaf certificate), ISO-8601; null for a secret that is not a certificate. */
  expiresAt: string | null;
}

export interface ComplianceReport {
  now: string;
  /** How long before its notAfter a certificate secret is `warning`, in ms. */
  certWarnMs: number;
  prefix: string;
  secrets: ComplianceRow[];
  counts: Record<ComplianceStatus, number>;
  overdue: number;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const RANK: Record<string, number> = { 'secret.put': 1, 'secret.stage.current': 2, 'secret.rotate': 3 };

export async function complianceReport(scope: { kt: Keyturn; store: SecretStore; listable?(path: string): boolean }, options: { prefix?: string } = {}): Promise<ComplianceReport> {
  const { kt, store } = scope;
  const now = kt.clock.now();
  const prefix = normalizePrefix(options.prefix ?? '');
  const runs = new RunsRepo(kt.state, kt.clock);
  const rows: ComplianceRow[] = [];
  const current = new Map<string, string>();
  for await (const path of store.list(prefix)) {
    if (scope.listable && !scope.listable(path)) continue;
    const info = await store.describe(path);
    if (!info) continue;
    let view: Awaited<ReturnType<typeof scheduleView>> | null = null;
    try {
      view = await scheduleView(scope, path, now);
    } catch (e) {
      if (!isKeyturnError(e, 'KT_POLICY_NOT_FOUND')) throw e;
    }
    const last = view?.lastRotation ?? null;
    const from = last?.at ?? info.createdAt;
    const [run] = await runs.list({ path, limit: 1 });
    const failing = run?.status === 'failed';
    const cert = info.currentVersion ? await currentCertificateExpiry(kt, store, { path, createdAt: info.createdAt, versionId: info.currentVersion.id }) : null;
    const certStatus = cert === null ? 'ok' : certificateStatus(cert.notAfterMs, now, CERT_WARN_MS);
    const age = view?.status ?? 'ok';
    const status: ComplianceStatus = age === 'overdue' || certStatus === 'expired' ? 'overdue' : failing ? 'failing' : age === 'warning' || certStatus === 'warning' ? 'warning' : 'ok';
    const maxAge = view?.schedule.maxAge ?? null;
    if (info.currentVersion) current.set(path, info.currentVersion.id);
    rows.push({
      path,
      type: view?.type ?? info.type,
      ageMs: Math.max(0, now - from),
      max: maxAge !== null ? `maxAge ${maxAge}` : view ? describeCadence(view.schedule.cadence) : 'manual',
      maxAgeMs: maxAge === null ? null : durationMs(maxAge),
      status,
      lifecycle: (await secretStatus(kt, store, path, now)).status,
      lastResult: run ? (run.status === 'failed' && run.errorCode ? `failed ${run.errorCode}` : run.status) : null,
      lastRunId: run?.id ?? null,
      lastRotation: last ? iso(last.at) : null,
      lastRotationEventSeq: null,
      lastRotationEventId: null,
      overdueAt: iso(view?.due.overdueAt ?? null),
      expiresAt: iso(cert?.notAfterMs ?? null),
    });
  }
  await findRotationEvents(kt, rows, current);
  const counts = { ok: 0, warning: 0, overdue: 0, failing: 0 } as Record<ComplianceStatus, number>;
  for (const r of rows) counts[r.status] += 1;
  return { now: iso(now)!, certWarnMs: CERT_WARN_MS, prefix, secrets: rows, counts, overdue: counts.overdue };
}

/** Fills in the audit event that made each row's current version current (one pass over the log from the oldest one on). */
async function findRotationEvents(kt: Keyturn, rows: ComplianceRow[], current: Map<string, string>): Promise<void> {
  const starts = rows.filter((r) => r.lastRotation !== null).map((r) => Date.parse(r.lastRotation!));
  if (starts.length === 0) return;
  // Event times come from the writer's clock, as version times do; a minute's slack for clocks of other instances.
  const from = (await kt.audit.firstSeqSince(Math.min(...starts) - 60_000)) ?? (await kt.audit.head()).size;
  const best = new Map<string, { rank: number; seq: number; id: string }>();
  await kt.audit.pages(from, (leaves) => {
    for (const row of leaves) {
      if (!row.leaf.includes('"outcome":"success"')) continue;
      let e;
      try {
        e = decodeEvent(Buffer.from(row.leaf, 'utf8'));
      } catch {
        continue;
      }
      const rank = RANK[e.action];
      if (rank === undefined || e.path === null || e.versionId === null || current.get(e.path) !== e.versionId) continue;
      const had = best.get(e.path);
      if (!had || rank >= had.rank) best.set(e.path, { rank, seq: Number(row.seq), id: row.id });
    }
  });
  for (const r of rows) {
    const found = best.get(r.path);
    if (found) {
      r.lastRotationEventSeq = found.seq;
      r.lastRotationEventId = found.id;
    }
  }
}
