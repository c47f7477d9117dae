/**
 * Errors as the API returns them: `{ "error": { "code": "KT_...", "message": "...", "fix": "...", "details": {...} } }`
 * with the registry's HTTP status. A request fastify itself refuses (bad JSON, a body too large, an
 * unknown route) gets a KT_ code too; anything unexpected is KT_INTERNAL with no detail (the
 * cause goes to the log at debug level, never a value).
 *
 * @example
 * ```ts
 * app.setErrorHandler(errorHandler(log));
 * ```
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** The JSON body of an error (`details` when the error has any: names and ids, never a value). */
export function errorBody(e: KeyturnError): { error: { code: string; message: string; fix: string; details?: Record<string, unknown> } } {
  const { code, message, fix, details } = e.toJSON();
  return { error: { code, message, fix, ...(details ? { details } : {}) } };
}

/** What fastify's own refusals (parsing, limits, routing) become. */
function fromFastify(e: FastifyError): KeyturnError | null {
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new KeyturnError('KT_VALUE_TOO_LARGE', 'the request body is too large');
  if (e.code?.startsWith('FST_ERR_CTP_') || e.code === 'FST_ERR_VALIDATION' || (e.statusCode === 400 && e.code !== undefined))
    return new KeyturnError('KT_USAGE', 'the request is not valid: its body must be JSON as the API describes');
  return null;
}

export function errorHandler(log: Logger): (e: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (e, request, reply) => {
    const known = isKeyturnError(e) ? e : fromFastify(e);
    const err = known ?? new KeyturnError('KT_INTERNAL', 'an unexpected error; see the server log');
    if (!known) log.error({ correlationId: request.id, code: err.code, name: e.name }, 'request failed unexpectedly');
    const retry = err.details.retryAfterSeconds;
    if (typeof retry === 'number') void reply.header('retry-after', String(retry));
    void reply.status(err.status).send(errorBody(err));
  };
}
