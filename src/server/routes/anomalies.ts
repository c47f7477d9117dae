/**
 * `GET /v1/anomalies`: the access anomalies the detectors found (src/detect/), newest first; the
 * token needs `audit` on `**` (an anomaly names identities and addresses across the tree).
 *
 * @example
 * ```ts
 * mountRoutes(app, anomalyRoutes(), deps); // GET /v1/anomalies?since=86400&type=failed-burst
 * ```
 */
import { z } from 'zod';
import { AnomaliesRepo, anomalyView } from '../../detect/anomalies-repo.js';
import { ANOMALY_TYPES } from '../../detect/detector.js';
import { allowEverywhere } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const query = z
  .object({
    since: z.coerce
      .number()
      .int()
      .min(1)
      .max(10 * 366 * 86_400)
      .optional()
      .describe('found within this many seconds (default 86400)'),
    type: z.enum(ANOMALY_TYPES).optional().describe('only this type'),
    limit: z.coerce.number().int().min(1).max(10_000).optional().describe('at most this many (default 100)'),
  })
  .strict();

const anomaly = z.object({
  id: z.string(),
  type: z.enum(ANOMALY_TYPES),
  time: z.string(),
  actor: z.string(),
  path: z.string().nullable(),
  address: z.string().nullable(),
  score: z.number(),
  reason: z.string(),
  details: z.record(z.string(), z.union([z.string(), z.number()])),
  rotation: z.string().nullable().describe('the rotation it started (run id), refused:<code>, or null'),
  triggerSeq: z.number().int().describe('the audit seq of the event that set it off'),
});

export function anomalyRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/anomalies',
      tag: 'audit',
      summary: 'List the access anomalies the detectors found, newest first',
      query,
      response: z.object({ anomalies: z.array(anomaly) }),
      handler: async ({ deps, query: q, who }) => {
        allowEverywhere(who, 'audit');
        const { kt } = deps;
        const found = await new AnomaliesRepo(kt.state, kt.audit, kt.clock).list({
          since: kt.clock.now() - (q.since ?? 86_400) * 1000,
          limit: q.limit ?? 100,
          ...(q.type ? { type: q.type } : {}),
        });
        return { anomalies: found.map(anomalyView) };
      },
    }),
  ];
}
