/**
 * Gauges read from the state database at scrape time (./state-snapshot.ts): they describe the
 * shared state, so every instance on one PostgreSQL reports the same values (take max(), not
 * sum(), across instances), and they see runs made by any process, cron's `keyturn rotate` too.
 *
 * Secret paths are labels on three metrics only, because the path is what people act on:
 * `keyturn_secret_age_seconds` ("this secret is old"), for the oldest `secretPaths` secrets
 * (default 1000, 0 for none), so thousands of secrets do not make thousands of series, and
 * `keyturn_secret_age_paths_omitted` says how many were left out; and
 * `keyturn_agent_deliveries_missing` ("hosts do not have this secret's new version"), only for
 * secrets that agents subscribe to, under the same limit, most missing first, with
 * `keyturn_agent_deliveries_missing_paths` counting them all; and
 * `keyturn_certificate_expiry_timestamp_seconds` ("this certificate ends then"), one series per
 * certificate secret under the same limit, soonest first, with `keyturn_certificates{status}`
 * counting them all. Agent names are never labels (one series per host would grow with the
 * fleet). Values never: of a certificate secret only its notAfter.
 *
 * @example
 * ```ts
 * stateGauges(registry, cachedSnapshot(kt, { cacheMs: 5000 }), { secretPaths: 1000 });
 * ```
 */
import { Gauge, type Registry } from 'prom-client';
import { CERT_EXPIRY_STATUSES } from '../certs/secret-expiry.js';
import type { StateSnapshot } from './state-snapshot.js';

export interface StateGaugeOptions {
  /** The oldest this many secrets get a `keyturn_secret_age_seconds{path}` series, as many a missing-agents and a certificate expiry series (0: none). */
  readonly secretPaths: number;
}

export function stateGauges(registry: Registry, snapshot: () => Promise<StateSnapshot | null>, options: StateGaugeOptions): void {
  const registers = [registry];
  /**
   * A gauge set from the snapshot on each scrape. Without a snapshot (the state database did not
   * answer) a labelled gauge has no series and an unlabelled one is NaN (prom-client always shows
   * an unlabelled gauge; NaN compares false, so no rule fires on a value nobody read).
   */
  const gauge = (name: string, help: string, set: (g: Gauge<string>, s: StateSnapshot) => void, labelNames: string[] = []): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s !== null) set(this, s);
        else if (labelNames.length === 0) this.set(Number.NaN);
      },
    });
  };
  new Gauge({
    name: 'keyturn_state_up',
    help: '1 when the state database answered the metrics read, 0 when it did not (the state gauges are then NaN or have no series)',
    registers,
    async collect() {
      this.set((await snapshot()) === null ? 0 : 1);
    },
  });
  gauge('keyturn_secrets', 'Live secrets with a current version', (g, s) => g.set(s.ages.length));
  gauge(
    'keyturn_secret_age_seconds',
    'Age of the current version of a secret, in seconds, for the oldest secrets only (see keyturn_secret_age_paths_omitted)',
    (g, s) => {
      for (const a of s.ages.slice(0, options.secretPaths)) g.labels(a.path).set(a.seconds);
    },
    ['path'],
  );
  gauge('keyturn_secret_age_max_seconds', 'Age of the oldest current version of any secret, in seconds (0 with no secret)', (g, s) => g.set(s.ages[0]?.seconds ?? 0));
  gauge('keyturn_secret_age_paths_omitted', 'Secrets left out of keyturn_secret_age_seconds by its limit', (g, s) => g.set(Math.max(0, s.ages.length - options.secretPaths)));
  gauge('keyturn_secrets_failing', 'Secrets whose last rotation run failed (until a later run of them is made)', (g, s) => g.set(s.failing));
  gauge('keyturn_secrets_due', 'Secrets due for rotation now: a scheduled rotation, a request or a retry whose time has come (what a scheduler pass takes)', (g, s) => g.set(s.due));
  gauge(
    'keyturn_secrets_overdue',
    "Secrets past their schedule's overdue time (maxAge, or expiryWarning past the due time), or with a retry more than a minute past its time and no worker on it",
    (g, s) => g.set(s.overdue),
  );
  gauge('keyturn_runs_stuck', 'Rotation runs marked running whose worker is gone (no live lease)', (g, s) => g.set(s.stuck));
  gauge('keyturn_audit_events', 'Events in the audit log', (g, s) => g.set(s.auditEvents));
  gauge('keyturn_audit_sink_lag_events', 'Audit events a configured sink has not received yet', (g, s) => s.sinks.forEach((k) => g.labels(k.sink).set(k.events)), ['sink']);
  gauge(
    'keyturn_audit_sink_lag_seconds',
    'How long the oldest event a configured sink has not received has waited, in seconds (0 when caught up)',
    (g, s) => s.sinks.forEach((k) => g.labels(k.sink).set(k.seconds)),
    ['sink'],
  );
  gauge('keyturn_audit_sink_failures', 'Deliveries to a configured audit sink that failed in a row', (g, s) => s.sinks.forEach((k) => g.labels(k.sink).set(k.failures)), ['sink']);
  gauge(
    'keyturn_agent_deliveries_missing',
    "Subscribed agents (delivery reports within KEYTURN_AGENT_STALE_AFTER) that do not hold the secret's current version, per secret with at least one subscribed agent (at most the path limit, most missing first)",
    (g, s) => {
      for (const a of s.agents.slice(0, options.secretPaths)) g.labels(a.path).set(a.missing);
    },
    ['path'],
  );
  gauge('keyturn_agent_deliveries_missing_paths', 'Secrets with at least one subscribed agent that does not hold their current version (all of them, whatever the path limit)', (g, s) =>
    g.set(s.agents.filter((a) => a.missing > 0).length),
  );
  gauge(
    'keyturn_certificate_expiry_timestamp_seconds',
    "A certificate secret's notAfter (its current value's leaf certificate), in Unix seconds, per certificate secret (at most the path limit, soonest first)",
    (g, s) => {
      for (const c of s.certificates.slice(0, options.secretPaths)) g.labels(c.path).set(c.notAfterSeconds);
    },
    ['path'],
  );
  gauge(
    'keyturn_replica_lag_seconds',
    "How far a replica store is behind, in seconds: the largest, over the secrets it replicates, of the time since the primary's current version was made current without the replica holding it (0 when it holds every one)",
    (g, s) => s.replicas.forEach((r) => g.labels(r.replica).set(r.lagSeconds)),
    ['replica'],
  );
  gauge('keyturn_replica_secrets_behind', 'Secrets whose current version a replica store does not hold yet', (g, s) => s.replicas.forEach((r) => g.labels(r.replica).set(r.behind)), ['replica']);
  gauge(
    'keyturn_certificates',
    'Certificate secrets by status: expired (past notAfter), warning (within 30 days of it), ok (all of them, whatever the path limit)',
    (g, s) => {
      for (const status of CERT_EXPIRY_STATUSES) g.labels(status).set(s.certificates.filter((c) => c.status === status).length);
    },
    ['status'],
  );
}
