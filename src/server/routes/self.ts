/**
 * `GET /v1/self`: who the caller is and what its policies let it do, so a client (the web
 * dashboard, ui/) shows only the actions the caller has. The API still checks every request: this
 * is a hint for hiding buttons, never a grant.
 *
 * - `everywhere`: the capabilities granted on every path (a rule whose path is exactly `**`):
 *   what managing tokens and policies, the whole audit log and anomalies need.
 * - `?path=P`: `capabilities` on that one path (each of read, list, write, rotate, delete, admin,
 *   audit, approve that the policies allow there).
 *
 * @example
 * ```ts
 * mountRoutes(app, selfRoutes(), deps); // GET /v1/self?path=prod/db/app
 * ```
 */
import { z } from 'zod';
import type { Identity } from '../../access/access-repo.js';
import { CAPABILITIES, type Capability } from '../../access/capabilities.js';
import { may, mayEverywhere } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const query = z.object({ path: z.string().min(1).max(1024).optional().describe('Also the capabilities on this path') }).strict();

/** The capabilities `who` has on `path`, in the registry's order. */
export function capabilitiesOn(who: Identity, path: string): Capability[] {
  return CAPABILITIES.filter((c) => may(who, path, c));
}

export function selfRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/self',
      tag: 'access',
      summary: "The caller's token id, subject, policy names and capabilities (on every path, and on ?path=P): a hint for clients, the API checks each request",
      query,
      response: z.object({
        tokenId: z.string(),
        subject: z.string(),
        policies: z.array(z.string()),
        everywhere: z.array(z.enum(CAPABILITIES)),
        path: z.string().nullable(),
        capabilities: z.array(z.enum(CAPABILITIES)).nullable(),
      }),
      handler: async ({ query: q, who }) => ({
        tokenId: who.tokenId,
        subject: who.subject,
        policies: who.policies.map((p) => p.name),
        everywhere: CAPABILITIES.filter((c) => mayEverywhere(who, c)),
        path: q.path ?? null,
        capabilities: q.path === undefined ? null : capabilitiesOn(who, q.path),
      }),
    }),
  ];
}
