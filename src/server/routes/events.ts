/**
 * `GET /v1/events`: the change stream, as Server-Sent Events (../events/stream.ts): versions
 * stored, stages moved, secrets deleted, restored or purged, rotation runs' intents and outcomes,
 * under `?prefix=`, only for paths the token may `read` or `list`; never a value. The events are
 * the audit log's (in the state database), so the id of each is its audit seq, `Last-Event-ID`
 * resumes after it across a restart, and every server on one PostgreSQL serves the same stream.
 * Without `Last-Event-ID`, the stream starts with the next change.
 *
 * @example
 * ```ts
 * mountRoutes(app, eventRoutes(), deps);
 * // GET /v1/events?prefix=app   Authorization: Bearer kt_...   Last-Event-ID: 41
 * ```
 */
import { z } from 'zod';
import { normalizePrefix } from '../../core/paths.js';
import { KeyturnError } from '../../core/errors.js';
import { caller } from '../auth.js';
import { serveChanges } from '../events/stream.js';
import { defineRoute, type AnyRoute } from '../route.js';

const query = z.object({ prefix: z.string().max(1024).optional().describe('Only paths under this prefix') }).strict();

const SEQ = /^(0|[1-9][0-9]{0,15})$/;

export function eventRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/events',
      tag: 'events',
      summary: 'The change stream (Server-Sent Events): versions, stages, deletes, rotations of the paths the token may read or list; resume with the Last-Event-ID header',
      query,
      produces: 'text/event-stream',
      handler: async ({ request, reply, deps, query: q, who }) => {
        const prefix = normalizePrefix(q.prefix);
        const { size } = await deps.kt.audit.head();
        const last = size - 1;
        let after = last;
        const given = request.headers['last-event-id'];
        if (given !== undefined) {
          const text = (Array.isArray(given) ? given[0] : given)?.trim() ?? '';
          if (!SEQ.test(text)) throw new KeyturnError('KT_USAGE', 'the Last-Event-ID header must be the id of an event of this stream (a whole number)');
          after = Number(text);
          if (after > last) {
            throw new KeyturnError(
              'KT_USAGE',
              `the Last-Event-ID ${after} is past the last event (${last}): the state database is not the one that id came from (restored from a backup?); reconnect without it`,
              {
                details: { lastEventId: after, last },
              },
            );
          }
        }
        serveChanges({
          request,
          reply,
          kt: deps.kt,
          feed: deps.events.feed,
          who,
          reauthenticate: () => caller(request, deps.access, deps.throttle),
          prefix,
          after,
          heartbeatMs: deps.events.heartbeatMs,
        });
        return reply;
      },
    }),
  ];
}
