/**
 * `GET /v1/jwks/PATH`: the JSON Web Key Set of a secret whose target is a signing-key or an
 * hsm-key target (src/signing/jwks.ts, src/signing/publishers.ts): the current key, a pending one
 * (published before it signs), and the previous one while tokens it signed may live (signing-key:
 * maxTokenTtl; hsm-key: the policy's grace, until the cleanup destroys it). No token needed: a JWKS is public key material, fetched by every verifier (jose's
 * `createRemoteJWKSet`, an API gateway). Any path that has no JWKS (no secret, a secret whose
 * policy's target is of another kind, a deleted one) is the same 404 KT_JWKS_NOT_FOUND,
 * so the route says nothing about other secrets. Reads are not audited (public keys only);
 * `Cache-Control: public, max-age` of at most 60 s, less when the previous key leaves sooner.
 *
 * @example
 * ```ts
 * mountRoutes(app, jwksRoutes(), deps);
 * // GET /v1/jwks/prod/jwt/signing  ->  {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "...", "kid": "...", "alg": "EdDSA", "use": "sig"}]}
 * ```
 */
import { z } from 'zod';
import { jwksMaxAge, jwksOf } from '../../signing/jwks-of.js';
import { defineRoute, type AnyRoute } from '../route.js';

const jwk = z
  .object({
    kty: z.enum(['OKP', 'EC', 'RSA']),
    kid: z.string().describe('RFC 7638 thumbprint (SHA-256) of the public key'),
    alg: z.enum(['EdDSA', 'ES256', 'RS256']),
    use: z.literal('sig'),
    crv: z.string().optional().describe('OKP: Ed25519; EC: P-256'),
    x: z.string().optional(),
    y: z.string().optional(),
    n: z.string().optional(),
    e: z.string().optional(),
  })
  .describe('A public JWK (never a private member)');

const jwks = z.object({ keys: z.array(jwk).describe('current key first, then a pending one, then the previous one while its tokens may live') });

export function jwksRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/jwks/*',
      tag: 'signing-keys',
      summary: 'The JWKS of a signing-key or hsm-key secret (no token; 404 KT_JWKS_NOT_FOUND for any other path; cached at most 60 s)',
      auth: false,
      response: jwks,
      handler: async ({ deps, path, reply }) => {
        const view = await jwksOf(deps.kt, path);
        void reply.header('cache-control', `public, max-age=${jwksMaxAge(view, deps.kt.clock.now())}`);
        return { keys: view.keys };
      },
    }),
  ];
}
