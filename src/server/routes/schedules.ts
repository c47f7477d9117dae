/**
 * Rotation schedules over HTTP, as `keyturn schedule show` prints them:
 *
 *   GET /v1/schedules/PATH   list   the effective schedule, where each value came from, the last rotation and the next due time
 *
 * The answer holds no value (only times, durations and config key paths), so the `list`
 * capability that lets a token see a secret's metadata and history is enough.
 *
 * @example
 * ```ts
 * mountRoutes(app, scheduleRoutes(), deps);
 * // GET /v1/schedules/prod/api/token -> { path, schedule, sources, lastRotation, next: { dueAt, reason, ... }, status }
 * ```
 */
import { z } from 'zod';
import { scheduleJson } from '../../schedule/view-json.js';
import { allow } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const view = z.record(z.string(), z.unknown()).describe('The schedule as `keyturn schedule show PATH --json` prints it');

export function scheduleRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/schedules/*',
      tag: 'rotations',
      summary: "A secret's effective rotation schedule, where each value came from, its last rotation and next due time",
      response: view,
      handler: async ({ request, deps, path, who }) => {
        allow(who, path, 'list');
        return scheduleJson(await deps.clientOf(request, who).runs.schedule(path));
      },
    }),
  ];
}
