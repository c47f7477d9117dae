/**
 * Lifecycle and compliance over HTTP, as the CLI prints them:
 *
 *   GET  /v1/lifecycle/PATH?limit=N        list    the secret's lifecycle events (from the audit log), oldest first
 *   GET  /v1/status/PATH                   list    its status: active, deprecated, expired or revoked
 *   POST /v1/status/PATH {status}          write   mark it deprecated or revoked, or active again
 *   GET  /v1/reports/compliance?prefix=P   list    every secret the token may list, against its policy
 *
 * None of the answers holds a value, so `list` (what history and schedules need) is enough to
 * read them; the events name who acted on that path. Changing the status needs `write`: a
 * revoked or deprecated secret's value is refused to readers (GET /v1/secrets/PATH answers 409
 * KT_SECRET_INACTIVE unless `allowInactive=true`).
 *
 * @example
 * ```ts
 * mountRoutes(app, lifecycleRoutes(), deps);
 * // POST /v1/status/prod/api/token {"status":"revoked"}   Authorization: Bearer kt_...
 * ```
 */
import { z } from 'zod';
import { KeyturnError } from '../../core/errors.js';
import { allow } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const event = z.object({
  time: z.string(),
  kind: z.enum(['created', 'activated', 'rotated', 'deprecated', 'expired', 'revoked', 'deleted', 'restored', 'purged']),
  version: z.number().int().nullable(),
  versionId: z.string().nullable(),
  actor: z.string().nullable(),
  source: z.string().nullable(),
  runId: z.string().nullable(),
  auditSeq: z.number().int().nullable(),
  auditId: z.string().nullable(),
  action: z.string().nullable(),
});

const status = z.object({
  path: z.string(),
  status: z.enum(['active', 'deprecated', 'expired', 'revoked']),
  since: z.string().nullable(),
  by: z.string().nullable(),
  expiresAt: z.string().nullable(),
});

const eventsQuery = z
  .object({
    limit: z
      .string()
      .regex(/^\d{1,5}$/, 'must be a whole number')
      .optional()
      .describe('How many of the latest events, 1 to 10000 (default 100)'),
  })
  .strict();

const statusBody = z.object({ status: z.enum(['active', 'deprecated', 'revoked']).describe('deprecated or revoked: mark it; active: remove the mark') }).strict();

const reportQuery = z.object({ prefix: z.string().max(1024).optional().describe('Only secrets at or below this path') }).strict();

const report = z.record(z.string(), z.unknown()).describe('The report as `keyturn report compliance --json` prints it');

export function lifecycleRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/lifecycle/*',
      tag: 'secrets',
      summary: "A secret's lifecycle events (created, activated, rotated, deprecated, expired, revoked, deleted, restored, purged), from the audit log",
      query: eventsQuery,
      response: z.object({ path: z.string(), events: z.array(event) }),
      handler: async ({ request, deps, path, query: q, who }) => {
        allow(who, path, 'list');
        const limit = q.limit === undefined ? 100 : Number(q.limit);
        if (limit < 1 || limit > 10_000) throw new KeyturnError('KT_USAGE', 'the query is not valid: limit: must be 1 to 10000');
        return { path, events: await deps.clientOf(request, who).secrets.events(path, { limit }) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/status/*',
      tag: 'secrets',
      summary: "A secret's lifecycle status: active, deprecated, expired or revoked",
      response: status,
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'list');
        return deps.clientOf(request, who).secrets.status(path);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/status/*',
      tag: 'secrets',
      summary: 'Mark a secret deprecated or revoked (its value is then refused to readers), or active again',
      body: statusBody,
      response: status,
      handler: async ({ request, deps, path, body, who }) => {
        allow(who, path, 'write');
        return deps.clientOf(request, who).secrets.setStatus(path, body.status);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/reports/compliance',
      tag: 'rotations',
      summary: 'Every secret the token may list with its age, policy maximum, compliance status, last result and last rotation',
      query: reportQuery,
      response: report,
      handler: async ({ request, deps, query: q, who }) => ({ ...(await deps.clientOf(request, who).runs.compliance(q.prefix ?? '')) }),
    }),
  ];
}
