/**
 * What the state gauges show, read from the state database at scrape time in one go: each live
 * secret's age (since its current version was made), what is due and overdue (the scheduler's
 * stored due times, src/schedule/due-repo.ts), the runs that need attention (the same reading as
 * `keyturn health`, src/runtime/health.ts), how far each configured audit sink is behind the log,
 * and per secret how many of its subscribed agents do not hold its current version (their
 * delivery reports, src/deliveries/repo.ts), and each certificate secret's notAfter and grade
 * (src/certs/secret-expiry.ts: only JSON values are decrypted, each version once per process).
 * Kept for `cacheMs` on the Keyturn's clock, and one read at a time: a burst of
 * scrapes costs one read. A read that fails is reported as such (`null`), never thrown.
 *
 * The secret ages come from the embedded store's tables (the only store today).
 *
 * @example
 * ```ts
 * const snapshot = cachedSnapshot(kt, { cacheMs: 5000 });
 * const s = await snapshot(); // null when the state database did not answer
 * ```
 */
import type { Keyturn } from '../runtime/keyturn.js';
import { runsNeedingAttention } from '../runtime/health.js';
import { DeliveriesRepo } from '../deliveries/repo.js';
import { CERT_WARN_MS, certificateStatus, currentCertificateExpiry, type CertExpiryStatus } from '../certs/secret-expiry.js';
import { isKeyturnError } from '../core/errors.js';
import { sinksConfigured } from '../audit/sinks/configured.js';
import { liveHeads } from '../state/live-heads.js';

export interface SinkLag {
  readonly sink: string;
  /** Events in the log the sink has not received. */
  readonly events: number;
  /** How long the oldest event it has not received has been waiting (0 when caught up). */
  readonly seconds: number;
  /** Deliveries that failed in a row (0 after one succeeds). */
  readonly failures: number;
}

export interface StateSnapshot {
  /** Every live secret with a current version: path and age in seconds, oldest first. */
  readonly ages: ReadonlyArray<{ readonly path: string; readonly seconds: number }>;
  /**
   * Distinct secrets whose last run failed; secrets due now (a scheduled rotation or a retry whose
   * time has come); secrets past their overdue time or with a retry long past its time and no
   * worker; runs running with no worker.
   */
  readonly failing: number;
  readonly due: number;
  readonly overdue: number;
  readonly stuck: number;
  readonly sinks: readonly SinkLag[];
  /** Events in the audit log. */
  readonly auditEvents: number;
  /**
   * Each live secret with at least one subscribed agent: how many of them do not hold its current
   * version, and how many there are; most missing first, then by path.
   */
  readonly agents: ReadonlyArray<{ readonly path: string; readonly missing: number; readonly subscribed: number }>;
  /**
   * Each live certificate secret (its current value holds a PEM certificate): its notAfter in
   * Unix seconds and its grade (expired, warning within CERT_WARN_MS, ok); soonest first, then by path.
   */
  readonly certificates: ReadonlyArray<{ readonly path: string; readonly notAfterSeconds: number; readonly status: CertExpiryStatus }>;
  /** Each replica store: its largest lag over the secrets it replicates, in seconds, and how many of them it is behind on; by name. */
  readonly replicas: ReadonlyArray<{ readonly replica: string; readonly lagSeconds: number; readonly behind: number }>;
}

/** What the snapshot reads: the state database, and the store for certificate values. */
export type SnapshotHome = Pick<Keyturn, 'state' | 'clock' | 'settings' | 'audit' | 'store' | 'log'>;

const distinct = (xs: ReadonlyArray<{ path: string }>): number => new Set(xs.map((x) => x.path)).size;

/** Reads the snapshot now (throws what the database throws). */
export async function readSnapshot(kt: SnapshotHome): Promise<StateSnapshot> {
  const now = kt.clock.now();
  const db = kt.state.db;
  const rows = await db
    .selectFrom('secrets as s')
    .innerJoin('secret_stages as st', (j) => j.onRef('st.secret_id', '=', 's.id').on('st.stage', '=', 'current'))
    .innerJoin('secret_versions as v', (j) => j.onRef('v.secret_id', '=', 's.id').onRef('v.id', '=', 'st.version_id'))
    .select(['s.path', 's.created_at as secret_created_at', 'v.created_at', 'v.id', 'v.kind'])
    .where('s.deleted_at', 'is', null)
    .execute();
  // Every live secret with a current version: the embedded store's and an outside primary store's (src/state/live-heads.ts).
  const heads = (await liveHeads(kt.state)).filter((h) => h.currentAt !== null && h.currentVersionId !== null);
  const ages = heads
    .map((h) => ({ path: h.path, seconds: Math.max(0, (now - h.currentAt!) / 1000) }))
    // Oldest first; ties by path (bytewise), so the same paths make the cut on every scrape.
    .sort((a, b) => b.seconds - a.seconds || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const runs = await runsNeedingAttention(kt);
  const { size } = await kt.audit.head();
  const current = new Map(heads.map((h) => [h.path, h.currentVersionId!]));
  const agents = new Map<string, { path: string; missing: number; subscribed: number }>();
  for (const a of await new DeliveriesRepo(kt.state, kt.clock).subscribedAll(kt.settings.agentStaleAfterMs)) {
    const id = current.get(a.path);
    if (id === undefined) continue;
    const entry = agents.get(a.path) ?? { path: a.path, missing: 0, subscribed: 0 };
    entry.subscribed += 1;
    if (a.versionId !== id) entry.missing += 1;
    agents.set(a.path, entry);
  }
  // What is due and overdue comes from the scheduler's stored due times (src/schedule/due-repo.ts).
  const { DueRepo } = await import('../schedule/due-repo.js');
  const due = await new DueRepo(kt.state, kt.clock).counts(now);
  // Overdue: past the schedule's overdue time, or a retry long past its time with no worker on it.
  const overdue = new Set([...due.overduePaths, ...runs.overdue.map((r) => r.path)]).size;
  return {
    ages,
    failing: distinct(runs.failed),
    due: due.due,
    overdue,
    stuck: runs.stuck.length,
    sinks: await sinkLags(kt, size, now),
    auditEvents: size,
    agents: [...agents.values()].sort((a, b) => b.missing - a.missing || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    certificates: await certificates(kt, [...rows, ...(await outsideCurrents(kt))], now),
    replicas: await replicaLags(kt, now),
  };
}

/** Per replica store, from its status rows (src/replicas/repo.ts): the largest lag and how many secrets it is behind on. */
async function replicaLags(kt: Pick<Keyturn, 'state'>, now: number): Promise<StateSnapshot['replicas']> {
  const { ReplicaRepo, lagSeconds } = await import('../replicas/repo.js');
  const by = new Map<string, { replica: string; lagSeconds: number; behind: number }>();
  for (const row of await new ReplicaRepo(kt.state).all()) {
    const entry = by.get(row.replica) ?? { replica: row.replica, lagSeconds: 0, behind: 0 };
    const lag = lagSeconds(row, now);
    entry.lagSeconds = Math.max(entry.lagSeconds, lag);
    if (row.version_id !== row.wanted_version_id) entry.behind += 1;
    by.set(row.replica, entry);
  }
  return [...by.values()].sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
}

/** An outside primary store's live secrets with a current version (store_heads), their kind unknown: the certificate check asks the store once per version. */
async function outsideCurrents(kt: Pick<Keyturn, 'state'>): Promise<Array<{ path: string; secret_created_at: number | string; id: string; kind?: 'string' | 'json' }>> {
  const heads = await kt.state.db
    .selectFrom('store_heads')
    .select(['path', 'created_at as secret_created_at', 'current_version_id as id'])
    .where('deleted_at', 'is', null)
    .where('current_version_id', 'is not', null)
    .execute();
  return heads.map((h) => ({ path: h.path, secret_created_at: h.secret_created_at, id: h.id! }));
}

/**
 * The certificate secrets among `rows` (the current versions): a string version is passed over
 * unread, a JSON one is decrypted once per process (then remembered by version id). A value that
 * cannot be read is left out and logged (its code only), so one bad secret does not blank the gauges.
 */
async function certificates(
  kt: Pick<SnapshotHome, 'state' | 'store' | 'log'>,
  rows: ReadonlyArray<{ path: string; secret_created_at: number | string; id: string; kind?: 'string' | 'json' }>,
  now: number,
): Promise<StateSnapshot['certificates']> {
  const found: Array<{ path: string; notAfterSeconds: number; status: CertExpiryStatus }> = [];
  for (const r of rows) {
    if (r.kind === 'string') continue;
    try {
      const cert = await currentCertificateExpiry(kt, kt.store, { path: r.path, createdAt: Number(r.secret_created_at), versionId: r.id, ...(r.kind === undefined ? {} : { kind: r.kind }) });
      if (cert !== null) found.push({ path: r.path, notAfterSeconds: Math.floor(cert.notAfterMs / 1000), status: certificateStatus(cert.notAfterMs, now, CERT_WARN_MS) });
    } catch (e) {
      kt.log.warn({ path: r.path, code: isKeyturnError(e) ? e.code : (e as Error).name }, 'metrics: a certificate secret could not be read');
    }
  }
  return found.sort((a, b) => a.notAfterSeconds - b.notAfterSeconds || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The lag of each sink the settings configure (a sink never fed yet is behind by the whole log). */
async function sinkLags(kt: Pick<Keyturn, 'state' | 'settings'>, size: number, now: number): Promise<SinkLag[]> {
  const a = kt.settings.audit;
  if (!sinksConfigured(a)) return [];
  // The sink modules load only when a sink is configured (as in audit/runtime.ts); naming one opens nothing.
  const [{ sinksFromSettings }, { sinkStatuses }] = await Promise.all([import('../audit/sinks/from-settings.js'), import('../audit/sinks/cursor.js')]);
  const statuses = new Map((await sinkStatuses(kt.state.db)).map((s) => [s.name, s]));
  return Promise.all(
    sinksFromSettings(a).map(async (sink): Promise<SinkLag> => {
      const status = statuses.get(sink.name);
      const next = status?.nextSeq ?? 0;
      const events = Math.max(0, size - next);
      let seconds = 0;
      if (events > 0) {
        const oldest = await kt.state.db.selectFrom('audit_leaves').select('time').where('seq', '=', next).executeTakeFirst();
        seconds = oldest ? Math.max(0, (now - Number(oldest.time)) / 1000) : 0;
      }
      return { sink: sink.name, events, seconds, failures: status?.failures ?? 0 };
    }),
  );
}

/**
 * The snapshot, read at most once per `cacheMs` (and never twice at once); null while the last
 * read failed (the failure is logged at warn with its code, and the next scrape reads again).
 */
export function cachedSnapshot(kt: SnapshotHome, options: { cacheMs: number }): () => Promise<StateSnapshot | null> {
  let cached: { at: number; value: Promise<StateSnapshot | null> } | undefined;
  return () => {
    const now = kt.clock.now();
    if (cached === undefined || now - cached.at >= options.cacheMs || now < cached.at) {
      const entry: { at: number; value: Promise<StateSnapshot | null> } = { at: now, value: Promise.resolve(null) };
      entry.value = readSnapshot(kt).catch((e: unknown) => {
        kt.log.warn({ code: (e as { code?: string }).code ?? (e as Error).name }, 'metrics: the state database could not be read');
        // A failed read is not kept: the next scrape tries again.
        if (cached === entry) cached = undefined;
        return null;
      });
      cached = entry;
    }
    return cached.value;
  };
}
