/**
 * `/healthz` (the process answers) and `/readyz` (the state database answers and the audit log's
 * head is readable: the server can serve and record). Neither needs a token; neither says more
 * than ok or the failing part's error code.
 *
 * @example
 * ```ts
 * healthRoutes(app, kt);
 * ```
 */
import type { FastifyInstance } from 'fastify';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import { errorBody } from '../errors.js';

export function healthRoutes(app: FastifyInstance, kt: Keyturn): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await kt.audit.head();
      return { status: 'ok' };
    } catch (e) {
      const err = isKeyturnError(e) ? e : new KeyturnError('KT_DATABASE_UNAVAILABLE', 'the state database does not answer');
      return reply.status(503).send(errorBody(err));
    }
  });
}
