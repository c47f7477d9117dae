/**
 * `/v1/audit`: the audit log over HTTP, as the `keyturn audit` commands show it locally.
 *
 * - `GET /v1/audit/events`: the latest events (or those after a seq, to follow), filtered by
 *   action and path prefix. A token sees the events about paths it has `audit` on; with `audit`
 *   on `**` it sees every event, those about no path (audit.init, access.*, heartbeats) too.
 * - `GET /v1/audit/export`: the `keyturn audit export` file (JSON Lines), streamed. `audit` on `**`.
 * - `GET /v1/audit/verify`: `keyturn audit verify` of the stored log (and the sinks' checkpoints),
 *   as JSON; 200 with `ok: false` and the problems when it is not intact; `?pubkey=` and
 *   `?trusted=` (a checkpoint's note text) as `--pubkey` and `--trusted`. `audit` on `**`.
 * - `GET /v1/audit/checkpoint`: the latest signed checkpoint and the verifier key, for any token
 *   (a size and a root hash: meant to be published). `POST` signs one now if the log grew
 *   (`keyturn audit checkpoint`): `audit` on `**`.
 * - `GET /v1/audit/proof/:event`: `keyturn audit prove`: the event's leaf and inclusion proof;
 *   `audit` on the event's path (`**` for an event about no path).
 *
 * @example
 * ```ts
 * mountRoutes(app, auditRoutes(), deps);
 * // GET /v1/audit/events?limit=50&action=secret.   Authorization: Bearer kt_...
 * ```
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { localAudit } from '../../client/local-audit.js';
import type { Identity } from '../../access/access-repo.js';
import { decodeEvent } from '../../audit/event.js';
import { contextFields } from '../../audit/hooks.js';
import type { LeafRow } from '../../audit/repo.js';
import { KeyturnError } from '../../core/errors.js';
import { allowEverywhere, may, mayEverywhere, requestContext } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

/** Rows read per page while filtering, and at most per request (a filter that matches little stops there; `next` says where to go on). */
const PAGE = 500;
const MAX_SCAN = 20_000;

const eventsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).optional().describe('How many events (default 20)'),
    after: z.coerce.number().int().min(-1).optional().describe('Only events after this seq, oldest first (to follow: pass the last `next` - 1); default: the latest'),
    action: z.string().max(128).optional().describe('Only actions starting with this (secret., breakglass.approve)'),
    path: z.string().max(512).optional().describe('Only events about paths starting with this'),
  })
  .strict();

const exportQuery = z
  .object({
    from: z.coerce.number().int().min(0).optional().describe('The events from this seq on (e.g. the size of a checkpoint you trust)'),
    since: z.iso.datetime({ offset: true }).optional().describe('The events since an RFC 3339 time'),
    hours: z.coerce.number().min(0).max(1_000_000).optional().describe('The events of the last N hours'),
    all: z.enum(['true']).optional().describe('The whole log'),
  })
  .strict();

const verifyQuery = z
  .object({
    pubkey: z.string().max(512).optional().describe('The verifier key to check signatures with (NAME+KEYID+BASE64); default: the stored one'),
    trusted: z.string().max(8192).optional().describe('A signed checkpoint (its note text) kept from before: the log must extend it'),
  })
  .strict();

const eventView = z.record(z.string(), z.unknown()).describe('{id, seq, time, actor, source, action, outcome, path, versionId, errorCode, runId, correlationId, valueHmac, prev}');

/** An event as JSON (`keyturn audit tail --json`), or null when its row no longer decodes. */
function eventOf(row: LeafRow): Record<string, unknown> | null {
  try {
    return { id: row.id, ...decodeEvent(Buffer.from(row.leaf, 'utf8')) };
  } catch {
    return null;
  }
}

/** Whether `who` may see an event: `audit` on its path, or on `**` (every event). */
function visible(who: Identity, everything: boolean, path: string | null): boolean {
  return everything || (path !== null && may(who, path, 'audit'));
}

const HOUR_MS = 3_600_000;

export function auditRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/audit/events',
      tag: 'audit',
      summary: 'Recent audit events (or those after a seq), filtered to the paths the token may audit',
      query: eventsQuery,
      response: z.object({ events: z.array(eventView), next: z.number().int().describe('The seq to continue from with after=next-1') }),
      handler: async ({ deps, query: q, who }) => {
        assertAnyAudit(who);
        const everything = mayEverywhere(who, 'audit');
        const limit = q.limit ?? 20;
        const keep = (row: LeafRow): Record<string, unknown> | null => {
          const e = eventOf(row);
          // A row that no longer decodes is shown (as damaged) only to whoever sees everything.
          if (e === null) return everything && q.action === undefined && q.path === undefined ? { id: row.id, seq: row.seq, invalid: true } : null;
          const path = typeof e.path === 'string' ? e.path : null;
          if (!visible(who, everything, path)) return null;
          if (q.action !== undefined && !String(e.action).startsWith(q.action)) return null;
          if (q.path !== undefined && (path === null || !path.startsWith(q.path))) return null;
          return e;
        };
        const size = (await deps.kt.audit.head()).size;
        const out: Array<Record<string, unknown>> = [];
        let scanned = 0;
        if (q.after !== undefined) {
          let next = q.after + 1;
          while (out.length < limit && scanned < MAX_SCAN) {
            const rows = await deps.kt.audit.between(next, undefined, PAGE);
            if (rows.length === 0) break;
            for (const row of rows) {
              next = row.seq + 1;
              scanned++;
              const e = keep(row);
              if (e !== null) out.push(e);
              if (out.length === limit) break;
            }
          }
          return { events: out, next };
        }
        // The latest: pages backwards from the head until enough match.
        let to = size;
        while (out.length < limit && to > 0 && scanned < MAX_SCAN) {
          const from = Math.max(0, to - PAGE);
          const rows = await deps.kt.audit.between(from, to);
          scanned += rows.length;
          for (let i = rows.length - 1; i >= 0 && out.length < limit; i--) {
            const e = keep(rows[i] as LeafRow);
            if (e !== null) out.push(e);
          }
          to = from;
        }
        return { events: out.reverse(), next: size };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/export',
      tag: 'audit',
      summary: 'The audit export (JSON Lines, as keyturn audit export writes it), streamed; audit on **',
      query: exportQuery,
      response: z.string().describe('application/x-ndjson: a header line, one line per event, then the checkpoints covering them'),
      handler: async ({ request, reply, deps, query: q, who }) => {
        allowEverywhere(who, 'audit');
        const chosen = [q.from, q.since, q.hours, q.all].filter((v) => v !== undefined).length;
        if (chosen !== 1) throw new KeyturnError('KT_USAGE', 'give exactly one of from=SEQ, since=TIME, hours=N or all=true');
        const audit = deps.kt.audit;
        let from = q.from ?? 0;
        if (q.since !== undefined || q.hours !== undefined) {
          const since = q.since !== undefined ? Date.parse(q.since) : deps.kt.clock.now() - (q.hours as number) * HOUR_MS;
          from = (await audit.firstSeqSince(since)) ?? (await audit.head()).size;
        }
        const { exportChunks } = await import('../../audit/export.js');
        const chunks = exportChunks(audit, { from });
        // The header is made before the answer starts, so a failure there is still a KT_ error.
        const first = await chunks.next();
        const ctx = requestContext(request, who);
        async function* all(): AsyncGenerator<string> {
          if (!first.done) yield first.value;
          yield* chunks;
          // Recorded after the fact and best effort, as the CLI does: a damaged log must still be exportable.
          await audit
            .append({ ...contextFields(ctx), action: 'audit.export', outcome: 'success' })
            .catch((e: unknown) => deps.kt.log.warn({ code: (e as { code?: string }).code }, 'the export was not recorded in the audit log'));
        }
        void reply.header('content-type', 'application/x-ndjson; charset=utf-8');
        return reply.send(Readable.from(all()));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/verify',
      tag: 'audit',
      summary: 'Verify the stored log (every leaf, checkpoint signature and link; the sinks’ checkpoints); audit on **',
      query: verifyQuery,
      response: z.object({
        ok: z.boolean(),
        size: z.number(),
        verifiedSize: z.number(),
        validCheckpoints: z.number(),
        latest: z.object({ size: z.number(), root: z.string() }).nullable(),
        verifierKey: z.string(),
        problems: z.array(z.record(z.string(), z.unknown())),
        latestNote: z.string().nullable().describe('The signed note of `latest`: keep it, pass it as `trusted` next time'),
        outside: z.unknown(),
      }),
      handler: async ({ deps, who, query: q }) => {
        allowEverywhere(who, 'audit');
        // The CLI's own verify of the stored log (src/client/local-audit.ts), without the database's location.
        const { source: _where, ...report } = await localAudit(deps.kt).verify({
          ...(q.pubkey === undefined ? {} : { verifierKey: q.pubkey.trim() }),
          ...(q.trusted === undefined ? {} : { trusted: { note: q.trusted, file: 'the trusted query parameter' } }),
        });
        return report;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/checkpoint',
      tag: 'audit',
      summary: 'The latest signed checkpoint (c2sp.org/tlog-checkpoint) and the verifier key; any token',
      response: z.object({ size: z.number(), root: z.string(), createdAt: z.string(), note: z.string(), verifierKey: z.string(), origin: z.string() }),
      handler: async ({ deps }) => {
        const cp = await deps.kt.audit.latestCheckpoint();
        if (cp === null) throw new KeyturnError('KT_AUDIT_CHECKPOINT_MISMATCH', 'the audit log has no checkpoint stored; run keyturn audit verify');
        return { size: cp.size, root: cp.root, createdAt: new Date(Number(cp.created_at)).toISOString(), note: cp.note, verifierKey: deps.kt.audit.verifierKey, origin: deps.kt.audit.origin };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/audit/checkpoint',
      tag: 'audit',
      summary: 'Sign a checkpoint now if the log grew since the last, and return the latest; audit on **',
      response: z.object({ size: z.number(), root: z.string(), createdAt: z.string(), note: z.string(), verifierKey: z.string(), origin: z.string() }),
      handler: async ({ deps, who }) => {
        allowEverywhere(who, 'audit');
        const cp = await deps.kt.audit.checkpoint();
        return { size: cp.size, root: cp.root, createdAt: new Date(Number(cp.created_at)).toISOString(), note: cp.note, verifierKey: deps.kt.audit.verifierKey, origin: deps.kt.audit.origin };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/proof/:event',
      tag: 'audit',
      summary: "An event's inclusion proof (c2sp.org/tlog-proof) against a signed checkpoint; audit on its path",
      response: z.object({ id: z.string(), seq: z.number(), leaf: z.string(), leafHash: z.string(), checkpointSize: z.number(), proof: z.string() }),
      handler: async ({ request, deps, who }) => {
        const event = z.object({ event: z.string().max(64) }).safeParse(request.params);
        if (!event.success) throw new KeyturnError('KT_USAGE', 'the event id is not valid');
        assertAnyAudit(who);
        const everything = mayEverywhere(who, 'audit');
        const row = await deps.kt.audit.find(event.data.event);
        const e = row === null ? null : eventOf(row);
        const path = e !== null && typeof e.path === 'string' ? e.path : null;
        // An event the token may not audit answers as one that is not there: its existence is not confirmed.
        if (row === null || (e === null ? !everything : !visible(who, everything, path))) {
          throw new KeyturnError(
            'KT_AUDIT_EVENT_NOT_FOUND',
            `no audit event ${/^\d+$/.test(event.data.event) ? `with seq ${event.data.event}` : 'with that id'}${everything ? '' : ' that this token may audit'}`,
          );
        }
        const { proveEvent } = await import('../../audit/prove.js');
        const { proof, checkpoint } = await proveEvent(deps.kt.audit, row.id);
        return { id: row.id, seq: row.seq, leaf: row.leaf, leafHash: row.leaf_hash, checkpointSize: checkpoint.size, proof };
      },
    }),
  ];
}

/** KT_ACCESS_DENIED unless a rule of the identity's policies grants `audit` somewhere. */
function assertAnyAudit(who: Identity): void {
  if (who.policies.some((p) => p.rules.some((r) => !r.deny && r.grants.has('audit')))) return;
  throw new KeyturnError('KT_ACCESS_DENIED', `token ${who.tokenId} may not read the audit log: no rule of its policies grants audit`, { details: { capability: 'audit' } });
}
