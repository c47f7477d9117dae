/**
 * `/v1/breakglass`: ask to read a break-glass path (`POST`, the token must be allowed to read it),
 * approve or deny a request (`approve` on its path; never the requester's own subject), and list
 * requests (a token sees its own subject's requests and those on paths where it has `approve` or
 * `audit`). The rules and the read gate are in src/access/breakglass/; every change is audited with
 * the request's token and correlation id.
 *
 * @example
 * ```ts
 * mountRoutes(app, breakGlassRoutes(), deps);
 * // POST /v1/breakglass {"path": "prod/db/root", "reason": "INC-42", "ttl": "30m"}
 * ```
 */
import { z } from 'zod';
import type { BreakGlassRequest } from '../../access/breakglass/repo.js';
import { parseDuration } from '../../core/duration.js';
import { KeyturnError } from '../../core/errors.js';
import { may, requestContext } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const requestBody = z
  .object({
    path: z.string().min(1).max(512).describe('The secret path to read'),
    reason: z.string().min(1).max(512).describe('Why (an incident id, what is broken); shown to approvers'),
    ttl: z.string().max(16).optional().describe("How long the read window lasts once approved: 30m, 1h (default 1h; at most the rules' maxTtl)"),
  })
  .strict();

const idParams = z.object({ id: z.string().max(64) });

const requestView = z.object({
  id: z.string(),
  path: z.string(),
  reason: z.string(),
  requester: z.string(),
  status: z.enum(['pending', 'approved', 'expired', 'rotating', 'rotated', 'rotation-failed', 'rotation-unconfigured', 'denied', 'lapsed']),
  ttlSeconds: z.number(),
  createdAt: z.string(),
  approvedAt: z.string().nullable(),
  endsAt: z.string().nullable(),
  approvals: z.array(z.object({ subject: z.string(), at: z.string() })),
  rotation: z.object({ state: z.string().nullable(), runId: z.string().nullable(), error: z.string().nullable(), at: z.string().nullable() }),
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A request as the API shows it (token ids stay out: subjects say who). */
export function requestJson(r: BreakGlassRequest): z.infer<typeof requestView> {
  return {
    id: r.id,
    path: r.path,
    reason: r.reason,
    requester: r.requester,
    status: r.status,
    ttlSeconds: r.ttlMs / 1000,
    createdAt: iso(r.createdAt)!,
    approvedAt: iso(r.approvedAt),
    endsAt: iso(r.endsAt),
    approvals: r.approvals.map((a) => ({ subject: a.subject, at: iso(a.at)! })),
    rotation: { state: r.rotation, runId: r.rotationRunId, error: r.rotationError, at: iso(r.rotationAt) },
  };
}

function idOf(params: unknown): string {
  const r = idParams.safeParse(params);
  if (!r.success) throw new KeyturnError('KT_USAGE', 'the request id is not valid');
  return r.data.id;
}

export function breakGlassRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/breakglass',
      tag: 'breakglass',
      summary: 'Request a time-limited read of a break-glass path (needs read on it; two other subjects approve)',
      body: requestBody,
      response: requestView,
      status: 201,
      handler: async ({ request, deps, body, who }) => {
        let ttlMs: number | undefined;
        if (body.ttl !== undefined) {
          const ms = parseDuration(body.ttl);
          if (ms === null) throw new KeyturnError('KT_USAGE', `ttl takes a duration such as 30m or 1h (got ${JSON.stringify(body.ttl)})`);
          ttlMs = ms;
        }
        const r = await deps.breakGlass.request(who, body.path, { reason: body.reason, ...(ttlMs === undefined ? {} : { ttlMs }) }, requestContext(request, who));
        return requestJson(r);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/breakglass/:id/approve',
      tag: 'breakglass',
      summary: 'Approve a pending request (approve on its path; not the requester; a subject counts once)',
      response: requestView,
      handler: async ({ request, deps, who }) => requestJson(await deps.breakGlass.approve(idOf(request.params), who, requestContext(request, who))),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/breakglass/:id/deny',
      tag: 'breakglass',
      summary: 'Deny a pending request (approve on its path), or withdraw your own',
      response: requestView,
      handler: async ({ request, deps, who }) => requestJson(await deps.breakGlass.deny(idOf(request.params), who, requestContext(request, who))),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/breakglass',
      tag: 'breakglass',
      summary: "Requests and their state: the caller's own, and those on paths it may approve or audit",
      response: z.object({ requests: z.array(requestView) }),
      handler: async ({ deps, who }) => {
        const all = await deps.breakGlass.list();
        const visible = all.filter((r) => r.requester === who.subject || may(who, r.path, 'approve') || may(who, r.path, 'audit'));
        return { requests: visible.map(requestJson) };
      },
    }),
  ];
}
