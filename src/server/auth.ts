/**
 * Who a request is and what it may do: the token from `Authorization: Bearer kt_...`, authenticated
 * once per request (KT_TOKEN_INVALID, 401, for a missing or bad one; after repeated failures from
 * one address, KT_AUTH_THROTTLED, 429: ./throttle.ts), then each operation checked
 * against the token's path policies (KT_ACCESS_DENIED, 403, naming the capability and path).
 *
 * @example
 * ```ts
 * const who = await caller(request, access, throttle);
 * allow(who, 'prod/db/app', 'read');
 * ```
 */
import type { FastifyRequest } from 'fastify';
import type { AccessRepo, Identity } from '../access/access-repo.js';
import type { AuditContext } from '../audit/context.js';
import type { Capability } from '../access/capabilities.js';
import { decide } from '../access/policy.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import { clientAddress, clientAgent } from './refusals.js';
import type { AuthThrottle } from './throttle.js';

/** The request's identity (authenticated on first use, then kept on the request). */
export async function caller(request: FastifyRequest, access: AccessRepo, throttle: AuthThrottle): Promise<Identity> {
  throttle.check(request.ip);
  const header = request.headers.authorization;
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  try {
    if (token === '') throw new KeyturnError('KT_TOKEN_INVALID', 'no token: send it as "Authorization: Bearer kt_..."');
    return await access.authenticate(token);
  } catch (e) {
    if (isKeyturnError(e, 'KT_TOKEN_INVALID')) throttle.failed(request.ip);
    throw e;
  }
}

/** Throws KT_ACCESS_DENIED unless the identity's policies allow `capability` on `path`. */
export function allow(who: Identity, path: string, capability: Capability): void {
  const d = decide(who.policies, path, capability);
  if (!d.allowed) throw new KeyturnError('KT_ACCESS_DENIED', `token ${who.tokenId} may not ${capability} ${path}: ${d.reason}`, { details: { capability, path } });
}

/** Whether the identity may (for filtering lists, where a refusal is not an error). */
export function may(who: Identity, path: string, capability: Capability): boolean {
  return decide(who.policies, path, capability).allowed;
}

/** Who the audit events of a request name: the token, source `api`, the request's correlation id, the client's address and user agent. */
export function requestContext(request: FastifyRequest, who: Identity): AuditContext {
  return { actor: `token:${who.tokenId}`, source: 'api', correlationId: request.id, address: clientAddress(request), userAgent: clientAgent(request) };
}

/**
 * Throws KT_ACCESS_DENIED unless the identity's policies grant `capability` on the whole tree: a
 * rule whose path is exactly `**` (what managing tokens and policies, or reading the whole audit
 * log, needs: a token that is admin over part of the tree could otherwise mint one for the rest).
 */
export function allowEverywhere(who: Identity, capability: Capability): void {
  if (mayEverywhere(who, capability)) return;
  throw new KeyturnError('KT_ACCESS_DENIED', `token ${who.tokenId} may not do this: it needs ${capability} on ** (every path)`, { details: { capability, path: '**' } });
}

/** Whether a rule with path `**` of the identity's policies grants `capability` (and none of them denies `**`). */
export function mayEverywhere(who: Identity, capability: Capability): boolean {
  const rules = who.policies.flatMap((p) => p.rules).filter((r) => r.path === '**');
  return !rules.some((r) => r.deny) && rules.some((r) => r.grants.has(capability));
}
