/**
 * Delivery reports of `keyturn agent` (docs/agent.md, "Delivery reports"):
 *
 *   POST /v1/deliveries           read on each path   an agent says which version of which paths it now holds
 *   GET  /v1/deliveries?prefix=P  read or list        what each agent last said it holds (only paths the token may read or list)
 *
 * A report needs `read` on every path it names (an agent reports only what it may read): one path
 * refused refuses the whole report (403, nothing recorded). Each path's row is replaced; a path
 * whose version changed is audited `agent.delivery` (source `agent:NAME`, the version id, never a
 * value). The name is what the agent says; the token that reported it is recorded with it.
 *
 * @example
 * ```ts
 * // POST /v1/deliveries   {"agent": "web-1", "deliveries": [{"path": "app/db", "versionId": "…", "version": 7, "destination": "/srv/app/db.env"}]}
 * ```
 */
import { z } from 'zod';
import { assertValidPath, normalizePrefix } from '../../core/paths.js';
import { AGENT_NAME, AGENT_NAME_HINT } from '../../deliveries/agent-name.js';
import { DeliveriesRepo } from '../../deliveries/repo.js';
import { allow, may, requestContext } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

/** The most paths one report may name. */
const MAX_REPORTED = 1000;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const delivery = z
  .object({
    path: z.string().min(1).max(512).describe('The secret path'),
    versionId: z
      .string()
      .regex(/^[A-Za-z0-9._:@/-]{1,128}$/, 'must be a version id')
      .describe('The id of the version the agent now holds'),
    version: z.number().int().min(1).describe('Its number'),
    destination: z
      .string()
      .min(1)
      .max(4096)
      .refine((d) => !CONTROL.test(d), 'must not contain control characters')
      .optional()
      .describe('The file the agent rendered it to, on its host'),
  })
  .strict();

const reportBody = z
  .object({
    agent: z.string().regex(AGENT_NAME, AGENT_NAME_HINT).describe('The agent name (agent.yaml `name`, default its host name)'),
    deliveries: z
      .array(delivery)
      .min(1)
      .max(MAX_REPORTED)
      .superRefine((ds, ctx) => {
        const seen = new Set<string>();
        ds.forEach((d, i) => {
          if (seen.has(d.path)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: 'is named twice' });
          seen.add(d.path);
        });
      })
      .describe('What it holds, one entry per path'),
  })
  .strict();

const listQuery = z.object({ prefix: z.string().max(1024).optional().describe('Only paths at or below this one') }).strict();

const deliveryView = z.object({
  agent: z.string(),
  path: z.string(),
  versionId: z.string(),
  version: z.number(),
  destination: z.string().nullable(),
  tokenId: z.string(),
  subject: z.string(),
  reportedAt: z.string(),
  changedAt: z.string(),
  subscribed: z.boolean().describe('Its last report is within KEYTURN_AGENT_STALE_AFTER'),
  current: z.boolean().nullable().describe("Whether it holds the secret's current version (null: the secret has none)"),
});

export function deliveryRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/deliveries',
      tag: 'agents',
      summary: 'An agent reports which version of which paths it now holds (read on each path)',
      body: reportBody,
      response: z.object({ agent: z.string(), recorded: z.number(), changed: z.number() }),
      handler: async ({ request, deps, body, who }) => {
        for (const d of body.deliveries) {
          assertValidPath(d.path);
          allow(who, d.path, 'read');
        }
        const repo = new DeliveriesRepo(deps.kt.state, deps.kt.clock, deps.kt.audit);
        const { changed } = await repo.report(body.agent, who, body.deliveries, requestContext(request, who));
        return { agent: body.agent, recorded: body.deliveries.length, changed };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/deliveries',
      tag: 'agents',
      summary: 'What each agent last reported it holds, by path (only paths the token may read or list)',
      query: listQuery,
      response: z.object({ deliveries: z.array(deliveryView) }),
      handler: async ({ deps, query: q, who }) => {
        const { kt } = deps;
        const rows = (await new DeliveriesRepo(kt.state, kt.clock).list(normalizePrefix(q.prefix))).filter((r) => may(who, r.path, 'read') || may(who, r.path, 'list'));
        const current = new Map<string, string | null>();
        for (const path of new Set(rows.map((r) => r.path))) current.set(path, (await kt.store.describe(path))?.currentVersion?.id ?? null);
        const since = kt.clock.now() - kt.settings.agentStaleAfterMs;
        return {
          deliveries: rows.map((r) => {
            const id = current.get(r.path) ?? null;
            return {
              agent: r.agent,
              path: r.path,
              versionId: r.versionId,
              version: r.version,
              destination: r.destination,
              tokenId: r.tokenId,
              subject: r.subject,
              reportedAt: new Date(r.reportedAt).toISOString(),
              changedAt: new Date(r.changedAt).toISOString(),
              subscribed: r.reportedAt >= since,
              current: id === null ? null : id === r.versionId,
            };
          }),
        };
      },
    }),
  ];
}
