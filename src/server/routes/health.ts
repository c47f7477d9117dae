/**
 * `/healthz` (the process answers) and `/readyz` (the state database answers and the audit log's
 * head is readable: the server can serve and record). Neither needs a token; neither says more
 * than ok or the failing part's error code.
 *
 * @example
 * ```ts
 * mountRoutes(app, healthRoutes(), deps);
 * ```
 */
import { z } from 'zod';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import { errorBody } from '../errors.js';
import { defineRoute, type AnyRoute } from '../route.js';

const status = z.object({ status: z.literal('ok') });

export function healthRoutes(): AnyRoute[] {
  return [
    defineRoute({ method: 'GET', url: '/healthz', tag: 'health', summary: 'The process answers', auth: false, response: status, handler: async () => ({ status: 'ok' }) }),
    defineRoute({
      method: 'GET',
      url: '/readyz',
      tag: 'health',
      summary: 'The state database answers and the audit log is readable (503 otherwise)',
      auth: false,
      response: status,
      handler: async ({ deps, reply }) => {
        try {
          await deps.kt.audit.head();
          return { status: 'ok' };
        } catch (e) {
          const err = isKeyturnError(e) ? e : new KeyturnError('KT_DATABASE_UNAVAILABLE', 'the state database does not answer');
          return reply.status(503).send(errorBody(err));
        }
      },
    }),
  ];
}
