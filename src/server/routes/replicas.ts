/**
 * `GET /v1/replicas/PATH`: how each replica store holds one secret (docs/replicas.md): the
 * primary's current version it should hold and since when, the version it last got and when, its
 * lag in seconds (0 in sync), failed attempts and the last error's code and message. For the web
 * dashboard's secret page; `keyturn replicas status` shows every secret.
 *
 * @example
 * ```ts
 * mountRoutes(app, replicaRoutes(), deps); // GET /v1/replicas/prod/db/app
 * ```
 */
import { z } from 'zod';
import { lagSeconds, ReplicaRepo } from '../../replicas/repo.js';
import { allow } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

export function replicaRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/replicas/*',
      tag: 'secrets',
      summary: 'How each replica store holds a secret: the version it should hold, the one it has, its lag and last error',
      response: z.object({
        path: z.string(),
        replicas: z.array(
          z.object({
            replica: z.string(),
            wanted: z.object({ versionId: z.string(), version: z.number(), since: z.string() }),
            has: z.object({ versionId: z.string(), version: z.number(), syncedAt: z.string().nullable() }).nullable(),
            lagSeconds: z.number(),
            attempts: z.number(),
            error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
          }),
        ),
      }),
      handler: async ({ deps, path, who }) => {
        allow(who, path, 'list');
        const now = deps.kt.clock.now();
        const rows = await new ReplicaRepo(deps.kt.state).rowsOf(path);
        return {
          path,
          replicas: rows.map((r) => ({
            replica: r.replica,
            wanted: { versionId: r.wanted_version_id, version: Number(r.wanted_number), since: iso(Number(r.wanted_since))! },
            has: r.version_id === null ? null : { versionId: r.version_id, version: Number(r.version_number), syncedAt: iso(r.synced_at === null ? null : Number(r.synced_at)) },
            lagSeconds: lagSeconds({ wanted_version_id: r.wanted_version_id, version_id: r.version_id, wanted_since: Number(r.wanted_since) }, now),
            attempts: Number(r.attempts),
            error: r.error_code === null ? null : { code: r.error_code, message: r.error_message },
          })),
        };
      },
    }),
  ];
}
