/**
 * Refused requests in the audit log: a request whose token is not valid (`access.authenticate`,
 * outcome `failure`, actor `anonymous`) and one whose token may not do what it asked
 * (`access.denied`, outcome `denied`, the token as actor, the path it asked for when that is a valid
 * secret path, else null: it may be a value pasted in the wrong place), each with the
 * client's address and user agent. The failed-attempt and unusual-source detectors learn from
 * them (docs/anomalies.md). Requests slowed by the throttle (429) are not recorded: a client that
 * keeps trying is bounded by it, and so is what it costs the log.
 *
 * Recorded best effort: a refusal is answered as it is even when the log cannot take the event
 * (the failure is logged, without the token).
 *
 * @example
 * ```ts
 * await recordRefusal(kt, request, null, new KeyturnError('KT_TOKEN_INVALID', '...'));
 * ```
 */
import type { FastifyRequest } from 'fastify';
import type { Identity } from '../access/access-repo.js';
import { eventSafeText } from '../audit/context.js';
import type { KeyturnError } from '../core/errors.js';
import { isValidPath } from '../core/paths.js';
import type { Keyturn } from '../runtime/keyturn.js';

/** The client's address as an event takes it (an IPv6 zone dropped); null when unknown. */
export function clientAddress(request: FastifyRequest): string | null {
  const ip = request.ip;
  if (typeof ip !== 'string' || ip === '') return null;
  const zone = ip.indexOf('%');
  return zone === -1 ? ip : ip.slice(0, zone);
}

/** The client's User-Agent as an event takes it (control characters replaced, at most 256); null when it sent none. */
export function clientAgent(request: FastifyRequest): string | null {
  const ua = request.headers['user-agent'];
  return typeof ua === 'string' && ua !== '' ? eventSafeText(ua, 256) : null;
}

/** Records a refused request (KT_TOKEN_INVALID when `who` is null, else KT_ACCESS_DENIED). */
export async function recordRefusal(kt: Keyturn, request: FastifyRequest, who: Identity | null, err: KeyturnError): Promise<void> {
  // Only a valid secret path is recorded: what else a client put there may be a value pasted in the wrong place.
  const path = isValidPath(err.details.path) ? err.details.path : null;
  try {
    await kt.audit.append({
      actor: who === null ? 'anonymous' : `token:${who.tokenId}`,
      source: 'api',
      correlationId: request.id,
      address: clientAddress(request),
      userAgent: clientAgent(request),
      action: who === null ? 'access.authenticate' : 'access.denied',
      path,
      outcome: who === null ? 'failure' : 'denied',
      errorCode: err.code,
    });
  } catch (e) {
    kt.log.warn({ correlationId: request.id, code: (e as { code?: string }).code ?? 'KT_INTERNAL' }, 'a refused request was not recorded in the audit log');
  }
}
