/**
 * `/v1/tokens`: create a token (the token is in that one answer only), list tokens (never a token
 * or its hash) and revoke one. Every route needs `admin` on `**`: a token can carry any policy, so
 * only a caller that may already do everything may mint one. Each change is audited with the
 * request's token and correlation id.
 *
 * @example
 * ```ts
 * mountRoutes(app, tokenRoutes(), deps);
 * // POST /v1/tokens {"policies": ["app-read"], "ttl": "24h", "subject": "ci:deploy"}
 * ```
 */
import { z } from 'zod';
import type { TokenInfo } from '../../access/access-repo.js';
import { parseDuration } from '../../core/duration.js';
import { KeyturnError } from '../../core/errors.js';
import { allowEverywhere } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const createBody = z
  .object({
    policies: z.array(z.string().min(1).max(64)).min(1).max(64).describe('The policies it carries'),
    ttl: z.string().max(16).optional().describe('How long it is valid: 90s, 20m, 24h, 30d (default: until revoked)'),
    description: z.string().max(256).optional().describe('What it is for (never a secret)'),
    subject: z.string().max(256).optional().describe('Who it stands for (alice, ci:deploy): tokens of one subject are one identity'),
  })
  .strict();

const tokenView = z.object({
  id: z.string(),
  subject: z.string(),
  policies: z.array(z.string()),
  description: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A token's record as the API shows it: never the token, never its hash. */
export function tokenJson(t: TokenInfo): z.infer<typeof tokenView> {
  return {
    id: t.id,
    subject: t.subject,
    policies: t.policies,
    description: t.description,
    createdAt: iso(t.createdAt)!,
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}

export function tokenRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/tokens',
      tag: 'tokens',
      summary: 'Create a token bound to policies; the token is in this answer only (admin on **)',
      body: createBody,
      response: tokenView.extend({ token: z.string() }),
      status: 201,
      handler: async ({ request, deps, body, who }) => {
        allowEverywhere(who, 'admin');
        let ttlMs: number | undefined;
        if (body.ttl !== undefined) {
          const ms = parseDuration(body.ttl);
          if (ms === null) throw new KeyturnError('KT_USAGE', `ttl takes a duration such as 90s, 20m, 24h or 30d (got ${JSON.stringify(body.ttl)})`);
          ttlMs = ms;
        }
        const created = await deps.accessOf(request, who).createToken({
          policies: body.policies,
          ...(ttlMs === undefined ? {} : { ttlMs }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.subject === undefined ? {} : { subject: body.subject }),
        });
        return { token: created.token, ...tokenJson(created.info) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/tokens',
      tag: 'tokens',
      summary: 'List tokens: ids, subjects, policies, expiry, last use; never a token (admin on **)',
      response: z.object({ tokens: z.array(tokenView) }),
      handler: async ({ deps, who }) => {
        allowEverywhere(who, 'admin');
        return { tokens: (await deps.access.tokens()).map(tokenJson) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/tokens/:id',
      tag: 'tokens',
      summary: 'Revoke a token at once (again: no change; admin on **)',
      response: tokenView,
      handler: async ({ request, deps, who }) => {
        allowEverywhere(who, 'admin');
        const r = z.object({ id: z.string().max(64) }).safeParse(request.params);
        if (!r.success) throw new KeyturnError('KT_USAGE', 'the token id is not valid');
        return tokenJson(await deps.accessOf(request, who).revokeToken(r.data.id));
      },
    }),
  ];
}
