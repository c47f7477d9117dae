/**
 * Delivery reports of `keyturn agent` in the state database (`agent_deliveries`, migration 0011):
 * one row per agent name and secret path, the version the agent last said it holds there. A
 * report replaces the row (upsert) and refreshes `reported_at`; when the version it holds changed
 * (or the agent reports the path for the first time) an `agent.delivery` audit event (source
 * `agent:NAME`, the version id, never a value) commits with the row.
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
   * Records what `agent` holds, reported by the token `who`: one transaction for the batch, each
   * path's row replaced, an audit event for each path whose version changed. Returns how many changed.
   */
  async report(agent: string, who: { tokenId: string; subject: string }, reports: readonly DeliveryReport[], context?: AuditContext): Promise<{ changed: number }> {
    const now = this.clock.now();
    let changed = 0;
    await transact(this.state.db, async (trx) => {
      for (const r of reports) {
        const before = await trx.selectFrom('agent_deliveries').select(['version_id', 'changed_at']).where('agent', '=', agent).where('path', '=', r.path).executeTakeFirst();
        const moved = before?.version_id !== r.versionId;
        const row: AgentDeliveriesTable = {
          agent,
          path: r.path,
          version_id: r.versionId,
          version: r.version,
          destination: r.destination ?? null,
          token_id: who.tokenId,
          subject: who.subject,
          reported_at: now,
          changed_at: moved ? now : Number(before!.changed_at),
        };
        await trx
          .insertInto('agent_deliveries')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['agent', 'path']).doUpdateSet({
              version_id: row.version_id,
              version: row.version,
              destination: row.destination,
              token_id: row.token_id,
              subject: row.subject,
              reported_at: row.reported_at,
              changed_at: row.changed_at,
            }),
          )
          .execute();
        if (!moved) continue;
        changed += 1;
        await this.audit?.appendWithin(
          {
            ...(context ? { actor: context.actor, correlationId: context.correlationId } : {}),
            source: `agent:${agent}`,
            action: 'agent.delivery',
            path: r.path,
            versionId: r.versionId,
            outcome: 'success',
          },
          trx,
        );
      }
    });
    return { changed };
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
