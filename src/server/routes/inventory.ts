/**
 * `GET /v1/inventory?prefix=P`: every secret the token may list, one row each, for the web
 * dashboard's inventory (ui/): what the compliance report says of it (type, age, the policy's
 * maximum, status, last result, when it is overdue), its target and next due time, from a few
 * bulk reads (src/lifecycle/inventory.ts). What the caller may do on a path is `GET /v1/self?path=P`.
 *
 * @example
 * ```ts
 * mountRoutes(app, inventoryRoutes(), deps); // GET /v1/inventory?prefix=prod
 * ```
 */
import { z } from 'zod';
import { inventory } from '../../lifecycle/inventory.js';
import { may } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

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
  dueAt: z.string().nullable().describe('when it is next due for rotation; null for a manual schedule or no policy'),
  expiresAt: z.string().nullable(),
});

export function inventoryRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/inventory',
      tag: 'secrets',
      summary: 'Every secret the token may list: type, target, age against the policy maximum, next due, status and last result',
      query,
      response: z.object({ now: z.string(), counts: z.record(z.string(), z.number()), secrets: z.array(row) }),
      handler: async ({ request, deps, query: q, who }) => {
        const inv = await inventory({ kt: deps.kt, store: deps.storeOf(request, who), listable: (path) => may(who, path, 'list') }, { prefix: q.prefix ?? '' });
        return { now: inv.now, counts: inv.counts, secrets: inv.secrets };
      },
    }),
  ];
}
