/**
 * `POST /v1/auth/oidc/login`: a workload trades a JWT from a configured OIDC issuer (a Kubernetes
 * service-account token, a CI OIDC token) for a short-lived API token (src/access/oidc-login.ts).
 * No token needed. Every refusal is the same 401 KT_OIDC_LOGIN_FAILED and counts towards the
 * source address's failed authentications (../throttle.ts), like a bad token; which check failed
 * goes to the server log at debug level, never the JWT. A key set that cannot be fetched is 503
 * KT_OIDC_JWKS_UNAVAILABLE (not the caller's failure: not counted).
 *
 * @example
 * ```ts
 * mountRoutes(app, oidcRoutes(), deps);
 * // POST /v1/auth/oidc/login  {"jwt": "eyJ..."}  ->  {"token": "kt_...", "expiresAt": "...", ...}
 * ```
 */
import { z } from 'zod';
import { AccessRepo } from '../../access/access-repo.js';
import { OidcRefusal } from '../../access/oidc-login.js';
import { accessAuditHook } from '../../audit/hooks.js';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import { defineRoute, type AnyRoute } from '../route.js';

const loginBody = z
  .object({
    issuer: z.string().min(1).max(64).optional().describe("The issuer's name (keyturn oidc ls); default: the issuer whose iss the JWT carries"),
    jwt: z.string().min(1).max(16_384).describe('The JWT (compact form)'),
  })
  .strict();

const session = z.object({
  token: z.string().describe('A kt_ API token: send it as Authorization: Bearer'),
  id: z.string().describe('The token id (keyturn token revoke ID)'),
  expiresAt: z.string().describe('When it expires (RFC 3339): the issuer maxSessionTtl or the JWT exp, whichever is sooner'),
  expiresIn: z.number().int().describe('Seconds until then'),
  subject: z.string().describe('oidc:ISSUER:<sub>'),
  policies: z.array(z.string()),
});

export function oidcRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/auth/oidc/login',
      tag: 'auth',
      summary: 'Trade a JWT from a configured OIDC issuer for a short-lived API token (401 KT_OIDC_LOGIN_FAILED whatever check fails)',
      auth: false,
      body: loginBody,
      response: session,
      handler: async ({ request, deps, body }) => {
        const { kt, throttle } = deps;
        throttle.check(request.ip);
        try {
          const s = await deps.oidc.login(body, (subject) => new AccessRepo(kt.state, kt.clock, accessAuditHook(kt.audit, { actor: subject, source: 'api', correlationId: request.id })));
          const now = kt.clock.now();
          return { token: s.token, id: s.id, expiresAt: new Date(s.expiresAt).toISOString(), expiresIn: Math.floor((s.expiresAt - now) / 1000), subject: s.subject, policies: s.policies };
        } catch (e) {
          if (e instanceof OidcRefusal) {
            throttle.failed(request.ip);
            kt.log.debug({ correlationId: request.id, issuer: e.issuer, reason: e.reason }, 'OIDC login refused');
            throw new KeyturnError('KT_OIDC_LOGIN_FAILED', 'the OIDC login was refused');
          }
          if (isKeyturnError(e, 'KT_OIDC_JWKS_UNAVAILABLE')) kt.log.warn({ correlationId: request.id, issuer: e.details.issuer, reason: e.details.why }, 'OIDC key set unavailable');
          throw e;
        }
      },
    }),
  ];
}
