/**
 * A secret's life beyond reading and writing its value: its metadata by prefix, its history,
 * rollback, soft delete, restore and purge. The URL names the operation, then the secret path
 * (fastify's `/*` takes the rest of the URL, so nothing can follow a path):
 *
 *   GET    /v1/metadata?prefix=P&deleted=true   list        the secrets (only those the token may list)
 *   GET    /v1/history/PATH                     list        the secret and its versions, never values
 *   POST   /v1/rollback/PATH                    write       the previous version becomes current
 *   DELETE /v1/secrets/PATH?recoveryDays=N      delete      soft delete, restorable for N days
 *   POST   /v1/restore/PATH                     delete      undo a soft delete
 *   GET    /v1/purge/PATH                       delete      what a purge would remove, or its refusal
 *   POST   /v1/purge/PATH                       delete      delete for good
 *
 * Each answers with the JSON `keyturn secret ... --json` prints, and runs the CLI's own operation
 * (src/client/local.ts) as the request's token, so the store audits it with the token, source
 * `api` and the correlation id.
 *
 * @example
 * ```ts
 * mountRoutes(app, secretLifecycleRoutes(), deps);
 * // POST /v1/rollback/prod/api/token   Authorization: Bearer kt_...
 * ```
 */
import { z } from 'zod';
import { infoJson, versionJson } from '../../client/wire.js';
import { MAX_RECOVERY_DAYS, MIN_RECOVERY_DAYS } from '../../stores/store.js';
import { allow } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const info = z.object({
  path: z.string(),
  type: z.string().nullable(),
  description: z.string().nullable(),
  owner: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  versions: z.number().int(),
  current: z.object({ id: z.string(), version: z.number().int() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deletedAt: z.string().nullable(),
  purgeAfter: z.string().nullable(),
});

const version = z.object({ id: z.string(), version: z.number().int(), stages: z.array(z.string()), kind: z.enum(['string', 'json']), createdAt: z.string() });

const listQuery = z
  .object({
    prefix: z.string().max(1024).optional().describe('Only secrets at or below this path'),
    deleted: z.enum(['true', 'false']).optional().describe('true: the deleted secrets (inside their recovery window) instead'),
  })
  .strict();

const deleteQuery = z
  .object({
    recoveryDays: z
      .string()
      .regex(/^\d{1,3}$/, 'must be a whole number of days')
      .optional()
      .describe(`The recovery window, ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS} days (default: the server's KEYTURN_RECOVERY_DAYS)`),
  })
  .strict();

export function secretLifecycleRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/metadata',
      tag: 'secrets',
      summary: 'The secrets at or below a prefix with their metadata, never values (only those the token may list)',
      query: listQuery,
      response: z.object({ secrets: z.array(info) }),
      handler: async ({ request, deps, query: q, who }) => {
        const infos = await deps.clientOf(request, who).secrets.list(q.prefix ?? '', { deleted: q.deleted === 'true' });
        return { secrets: infos.map(infoJson) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/history/*',
      tag: 'secrets',
      summary: 'A secret and its versions, newest first, with their stages (never values)',
      response: info.extend({ history: z.array(version) }),
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'list');
        const { info: i, versions } = await deps.clientOf(request, who).secrets.history(path);
        return { ...infoJson(i), history: versions.map(versionJson) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/rollback/*',
      tag: 'secrets',
      summary: 'Make the previous version current (refused for a managed credential: KT_ROLLBACK_MANAGED)',
      response: z.object({ path: z.string(), current: z.object({ id: z.string(), version: z.number().int() }), previous: z.object({ id: z.string(), version: z.number().int() }) }),
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'write');
        return deps.clientOf(request, who).secrets.rollback(path);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/secrets/*',
      tag: 'secrets',
      summary: 'Delete a secret softly: hidden, restorable until its recovery window ends',
      query: deleteQuery,
      response: info,
      handler: async ({ request, deps, path, query: q, who }) => {
        allow(who, path, 'delete');
        const removed = await deps.clientOf(request, who).secrets.remove(path, q.recoveryDays === undefined ? {} : { recoveryDays: Number(q.recoveryDays) });
        return infoJson(removed);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/restore/*',
      tag: 'secrets',
      summary: 'Undo a soft delete; the secret comes back with all its versions',
      response: info,
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'delete');
        return infoJson(await deps.clientOf(request, who).secrets.restore(path));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/purge/*',
      tag: 'secrets',
      summary: 'What a purge would remove now, or the error it would give (changes nothing)',
      response: info,
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'delete');
        return infoJson(await deps.clientOf(request, who).secrets.purgeable(path));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/purge/*',
      tag: 'secrets',
      summary: 'Delete a soft-deleted secret and all its versions for good (refused while purge protection holds it)',
      response: z.object({ path: z.string(), purged: z.literal(true) }),
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'delete');
        await deps.clientOf(request, who).secrets.purge(path);
        return { path, purged: true };
      },
    }),
  ];
}
