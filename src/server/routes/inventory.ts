/**
 * `GET /v1/inventory?prefix=P`: every secret the token may list, one row each, for the web
 * dashboard's inventory (ui/): the compliance report's row (type, age, the policy's maximum,
 * status, last result, when it is overdue: src/lifecycle/compliance.ts) with the secret's target
 * (from the applied policies, read in one query) and the caller's capabilities on the path (so
 * the dashboard hides what the caller may not do; the API still checks each request).
 *
 * @example
 * ```ts
 * mountRoutes(app, inventoryRoutes(), deps); // GET /v1/inventory?prefix=prod
 * ```
 */
import { z } from 'zod';
import { CAPABILITIES } from '../../access/capabilities.js';
import { defineRoute, type AnyRoute } from '../route.js';
import { capabilitiesOn } from './self.js';

const query = z.object({ prefix: z.string().max(1024).optional().describe('Only secrets at or below this prefix') }).strict();

const row = z.object({
  path: z.string(),
  type: z.string().nullable(),
  target: z.string().nullable().describe('the target under targets: that the secret rotates at; null for none'),
  ageMs: z.number(),
  max: z.string(),
  maxAgeMs: z.number().nullable(),
  status: z.string().describe('ok, warning, overdue or failing'),
  lifecycle: z.string(),
  lastResult: z.string().nullable(),
  lastRunId: z.string().nullable(),
  lastRotation: z.string().nullable(),
  overdueAt: z.string().nullable().describe('when it becomes (or became) overdue'),
  expiresAt: z.string().nullable(),
  capabilities: z.array(z.enum(CAPABILITIES)),
});

export function inventoryRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/inventory',
      tag: 'secrets',
      summary: 'Every secret the token may list: type, target, age against the policy maximum, status, last result, and the caller’s capabilities on it',
      query,
      response: z.object({ now: z.string(), counts: z.record(z.string(), z.number()), secrets: z.array(row) }),
      handler: async ({ request, deps, query: q, who }) => {
        const [report, policies] = await Promise.all([deps.clientOf(request, who).runs.compliance(q.prefix ?? ''), deps.kt.applied.policies()]);
        const targets = new Map(policies.map((p) => [p.path, p.target ?? null]));
        return {
          now: report.now,
          counts: report.counts,
          secrets: report.secrets.map((r) => ({
            path: r.path,
            type: r.type,
            target: targets.get(r.path) ?? null,
            ageMs: r.ageMs,
            max: r.max,
            maxAgeMs: r.maxAgeMs,
            status: r.status,
            lifecycle: r.lifecycle,
            lastResult: r.lastResult,
            lastRunId: r.lastRunId,
            lastRotation: r.lastRotation,
            overdueAt: r.overdueAt,
            expiresAt: r.expiresAt,
            capabilities: capabilitiesOn(who, r.path),
          })),
        };
      },
    }),
  ];
}
