/**
 * Delivery reports of `keyturn agent` in the state database (`agent_deliveries`, migration 0013):
 * one row per agent name and secret path, the version the agent last said it holds there. A
 * report replaces the row (upsert) and refreshes `reported_at`; when the version it holds changed
 * (or the agent reports the path for the first time) an `agent.delivery` audit event (source
 * `agent:NAME`, the version id, never a value) commits with the row. Reports that arrive in the
 * same turn of the event loop (a fleet answering one rotation) share one transaction.
 *
 * An agent is **subscribed** to a path while its last report of it is at most `staleAfterMs` old
 * (KEYTURN_AGENT_STALE_AFTER, default 24 h): an agent reports every path it renders when it
 * renders, when it (re)connects, and again every hour while it runs, so a live agent never goes
 * stale and one stopped for longer than the window stops counting. The names are what agents say
 * (agent.yaml `name`, default the host name): two agents giving one name share one row.
 *
 * @example
 * ```ts
 * const repo = new DeliveriesRepo(kt.state, kt.clock, kt.audit);
 * await repo.report('web-1', who, [{ path: 'app/db', versionId: 'v7', version: 7 }], context);
 * const { have, missing } = holding(await repo.subscribed('app/db', DEFAULT_AGENT_STALE_AFTER_MS), 'v7');
 * ```
 */
import type { AuditContext } from '../audit/context.js';
import { contextFields } from '../audit/hooks.js';
import type { AuditLog } from '../audit/log.js';
import type { Clock } from '../core/clock.js';
import { pathHasPrefix } from '../core/paths.js';
import type { StateDb } from '../state/db.js';
import type { AgentDeliveriesTable } from '../state/schema.js';
import { transact } from '../state/tx.js';

/** How long an agent's last report of a path keeps it subscribed to that path (KEYTURN_AGENT_STALE_AFTER). */
export const DEFAULT_AGENT_STALE_AFTER_MS = 86_400_000;

/** What an agent says it holds of one secret. */
export interface DeliveryReport {
  readonly path: string;
  readonly versionId: string;
  readonly version: number;
  /** The file it rendered it to, on the agent's host. */
  readonly destination?: string | null;
}

/** One agent's last report of one path. */
export interface AgentDelivery {
  readonly agent: string;
  readonly path: string;
  readonly versionId: string;
  readonly version: number;
  readonly destination: string | null;
  /** The token that reported it, and its subject. */
  readonly tokenId: string;
  readonly subject: string;
  /** Its last report (epoch ms). */
  readonly reportedAt: number;
  /** When the version it holds last changed (epoch ms). */
  readonly changedAt: number;
}

function fromRow(r: AgentDeliveriesTable): AgentDelivery {
  return {
    agent: r.agent,
    path: r.path,
    versionId: r.version_id,
    version: Number(r.version),
    destination: r.destination,
    tokenId: r.token_id,
    subject: r.subject,
    reportedAt: Number(r.reported_at),
    changedAt: Number(r.changed_at),
  };
}

/** A report waiting for its group's transaction. */
interface Queued {
  readonly agent: string;
  readonly who: { readonly tokenId: string; readonly subject: string };
  readonly reports: readonly DeliveryReport[];
  readonly context: AuditContext | undefined;
  readonly audit: AuditLog | undefined;
  resolve(r: { changed: number }): void;
  reject(e: unknown): void;
}

/** The reports waiting to be written to one state database, shared by every repository over it in this process. */
interface Group {
  queue: Queued[];
  scheduled: boolean;
  writing: boolean;
}

const GROUPS = new WeakMap<StateDb, Group>();

function groupOf(state: StateDb): Group {
  let g = GROUPS.get(state);
  if (g === undefined) {
    g = { queue: [], scheduled: false, writing: false };
    GROUPS.set(state, g);
  }
  return g;
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

const byAgent = (a: AgentDelivery, b: AgentDelivery): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0);

/** The subscribed agents that hold `versionId`, and those that do not. */
export function holding(agents: readonly AgentDelivery[], versionId: string): { have: AgentDelivery[]; missing: AgentDelivery[] } {
  return { have: agents.filter((a) => a.versionId === versionId), missing: agents.filter((a) => a.versionId !== versionId) };
}

export class DeliveriesRepo {
  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    private readonly audit?: AuditLog,
  ) {}

  /**
   * Records what `agent` holds, reported by the token `who`: each path's row replaced, an audit
   * event for each path whose version changed, committed together. Reports made in the same turn
   * of the event loop (a fleet of agents answering one rotation) share one transaction: one commit
   * instead of one per agent, so they cost the server's other requests little. Resolves once its
   * report is committed, with how many of its paths changed.
   */
  report(agent: string, who: { tokenId: string; subject: string }, reports: readonly DeliveryReport[], context?: AuditContext): Promise<{ changed: number }> {
    return new Promise((resolve, reject) => {
      const g = groupOf(this.state);
      g.queue.push({ agent, who, reports, context, audit: this.audit, resolve, reject });
      if (g.scheduled || g.writing) return;
      g.scheduled = true;
      setImmediate(() => {
        g.scheduled = false;
        void this.#drain(g);
      });
    });
  }

  /** Writes the queued reports, a group per transaction, until none is left (yielding between groups, so reads get their turn). */
  async #drain(g: Group): Promise<void> {
    if (g.writing) return;
    g.writing = true;
    try {
      while (g.queue.length > 0) {
        const batch = g.queue.splice(0);
        try {
          const changed = await this.#write(batch);
          batch.forEach((q, i) => q.resolve({ changed: changed[i]! }));
        } catch (e) {
          for (const q of batch) q.reject(e);
        }
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      g.writing = false;
    }
  }

  /**
   * One transaction for a group of reports, in a few statements whatever its size (the rows it
   * replaces read at once, the new rows written at once: a write transaction keeps the state
   * database's readers waiting); how many paths changed, per report, in order.
   */
  async #write(batch: readonly Queued[]): Promise<number[]> {
    const now = this.clock.now();
    const key = (agent: string, path: string): string => JSON.stringify([agent, path]);
    const keys = new Map<string, { agent: string; path: string }>();
    for (const q of batch) for (const r of q.reports) keys.set(key(q.agent, r.path), { agent: q.agent, path: r.path });
    return transact(this.state.db, async (trx) => {
      const held = new Map<string, { versionId: string; changedAt: number }>();
      for (const chunk of chunks([...keys.values()], 400)) {
        const rows = await trx
          .selectFrom('agent_deliveries')
          .select(['agent', 'path', 'version_id', 'changed_at'])
          .where((eb) => eb.or(chunk.map((k) => eb.and([eb('agent', '=', k.agent), eb('path', '=', k.path)]))))
          .execute();
        for (const r of rows) held.set(key(r.agent, r.path), { versionId: r.version_id, changedAt: Number(r.changed_at) });
      }
      const rows = new Map<string, AgentDeliveriesTable>();
      const moved: Array<{ q: Queued; r: DeliveryReport }> = [];
      const changed = batch.map((q) => {
        let n = 0;
        for (const r of q.reports) {
          const k = key(q.agent, r.path);
          const before = held.get(k);
          const changedAt = before?.versionId === r.versionId ? before.changedAt : now;
          if (before?.versionId !== r.versionId) {
            n += 1;
            moved.push({ q, r });
          }
          held.set(k, { versionId: r.versionId, changedAt });
          rows.set(k, {
            agent: q.agent,
            path: r.path,
            version_id: r.versionId,
            version: r.version,
            destination: r.destination ?? null,
            token_id: q.who.tokenId,
            subject: q.who.subject,
            reported_at: now,
            changed_at: changedAt,
          });
        }
        return n;
      });
      for (const chunk of chunks([...rows.values()], 100)) {
        await trx
          .insertInto('agent_deliveries')
          .values(chunk)
          .onConflict((oc) =>
            oc.columns(['agent', 'path']).doUpdateSet((eb) => ({
              version_id: eb.ref('excluded.version_id'),
              version: eb.ref('excluded.version'),
              destination: eb.ref('excluded.destination'),
              token_id: eb.ref('excluded.token_id'),
              subject: eb.ref('excluded.subject'),
              reported_at: eb.ref('excluded.reported_at'),
              changed_at: eb.ref('excluded.changed_at'),
            })),
          )
          .execute();
      }
      for (const { q, r } of moved) {
        await q.audit?.appendWithin(
          {
            ...contextFields(q.context),
            source: `agent:${q.agent}`,
            action: 'agent.delivery',
            path: r.path,
            versionId: r.versionId,
            outcome: 'success',
          },
          trx,
        );
      }
      return changed;
    });
  }

  /** Every report at or below `prefix` ('' for all), by path then agent. */
  async list(prefix = ''): Promise<AgentDelivery[]> {
    let q = this.state.db.selectFrom('agent_deliveries').selectAll();
    // A superset (`_` matches any character, SQLite's LIKE ignores case); the exact test is below.
    if (prefix !== '') q = q.where('path', 'like', `${prefix}%`);
    const rows = (await q.execute()).map(fromRow);
    return rows.filter((r) => pathHasPrefix(r.path, prefix)).sort(byAgent);
  }

  /** The agents subscribed to `path` now: those whose last report of it is at most `staleAfterMs` old. */
  async subscribed(path: string, staleAfterMs: number): Promise<AgentDelivery[]> {
    const rows = await this.state.db
      .selectFrom('agent_deliveries')
      .selectAll()
      .where('path', '=', path)
      .where('reported_at', '>=', this.clock.now() - staleAfterMs)
      .execute();
    return rows.map(fromRow).sort(byAgent);
  }

  /** Every subscribed agent of every path (for the metrics), by path then agent. */
  async subscribedAll(staleAfterMs: number): Promise<AgentDelivery[]> {
    const rows = await this.state.db
      .selectFrom('agent_deliveries')
      .selectAll()
      .where('reported_at', '>=', this.clock.now() - staleAfterMs)
      .execute();
    return rows.map(fromRow).sort(byAgent);
  }
}
