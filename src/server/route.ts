/**
 * One way to declare an API route: method, URL, the zod schemas of its query and body, the summary
 * and tag for the OpenAPI document, whether it needs a token, and the handler. `mountRoutes` gives
 * each to fastify with the same steps in the same order (query and body checked, KT_USAGE naming
 * each problem; then the caller authenticated; then the handler), and `openApiDocument`
 * (./openapi.ts) describes exactly the routes mounted, from the same schemas.
 *
 * A route whose URL ends in `/*` takes a secret path there: the handler gets it as `path`, the
 * OpenAPI document names it `{path}`.
 *
 * @example
 * ```ts
 * const route = defineRoute({
 *   method: 'GET', url: '/v1/secrets/*', tag: 'secrets', summary: 'Read a version',
 *   query: z.object({ stage: z.enum(['current', 'pending', 'previous']).optional() }).strict(),
 *   handler: async ({ path, query, who, deps }) => { allow(who, path, 'read'); ... },
 * });
 * ```
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AccessRepo, Identity } from '../access/access-repo.js';
import type { BreakGlassRepo } from '../access/breakglass/repo.js';
import type { SweepReport } from '../access/breakglass/sweep.js';
import type { OidcLogin } from '../access/oidc-login.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import { issueLines } from '../core/issues.js';
import type { KeyturnMetrics } from '../metrics/metrics.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { SecretStore } from '../stores/store.js';
import type { RunsClient, SecretsClient } from '../client/client.js';
import { caller } from './auth.js';
import { recordRefusal } from './refusals.js';
import type { AuthThrottle } from './throttle.js';
import type { EventFeed } from './events/feed.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';

/** What every route handler may use. */
export interface RouteDeps {
  readonly kt: Keyturn;
  readonly access: AccessRepo;
  readonly throttle: AuthThrottle;
  /** Break-glass requests, approvals and the read gate (src/access/breakglass/). */
  readonly breakGlass: BreakGlassRepo;
  /** Closes ended break-glass windows and rotates their secrets (the server's timer calls it too). */
  sweepBreakGlass(now: number): Promise<SweepReport>;
  /** The access repository as this request: its audit events name the token, source `api` and the correlation id. */
  accessOf(request: FastifyRequest, who: Identity): AccessRepo;
  /** OIDC / JWT login (POST /v1/auth/oidc/login). */
  readonly oidc: OidcLogin;
  /** The store as this request: its audit events name the token, source `api` and the correlation id. */
  storeOf(request: FastifyRequest, who: Identity): SecretStore;
  /** This server's metrics (null when `/metrics` is off). */
  readonly metrics: KeyturnMetrics | null;
  /**
   * The operations the CLI runs on a local home (src/client/local.ts), acting as this request: the
   * store and the rotation engine record the token, source `api` and the correlation id; a new run
   * carries the correlation id; lists show only the paths the token may list. Capability checks are
   * the route's.
   */
  clientOf(request: FastifyRequest, who: Identity): { secrets: SecretsClient; runs: RunsClient };
  /** The change stream's wake-up signal and open streams (./events/feed.ts), and its heartbeat interval. */
  readonly events: { readonly feed: EventFeed; readonly heartbeatMs: number };
}

export interface RouteContext<Q, B> {
  request: FastifyRequest;
  reply: FastifyReply;
  deps: RouteDeps;
  /** The secret path of a `/*` route ('' otherwise). */
  path: string;
  query: Q;
  body: B;
  /** The authenticated caller (on a route with `auth: false`, {@link ANONYMOUS}: no policy, so every check refuses). */
  who: Identity;
}

export interface RouteDef<Q = unknown, B = unknown> {
  method: Method;
  /** fastify's form: `/v1/runs/:id`, or `/v1/secrets/*` for a secret path. */
  url: string;
  /** The OpenAPI tag (secrets, rotations, audit, policies, tokens, ...). */
  tag: string;
  summary: string;
  /** Default true: a token is required and `who` is set. */
  auth?: boolean;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The 200 response's shape, for the document only (responses are not validated at run time). */
  response?: z.ZodType;
  /** Status of a success (default 200). */
  status?: number;
  /** The media type of a success, for the document (default application/json). */
  produces?: string;
  handler(ctx: RouteContext<Q, B>): Promise<unknown>;
}

/** Declares a route (typed: the handler sees the parsed query and body). */
export function defineRoute<Q = Record<string, never>, B = undefined>(def: RouteDef<Q, B>): RouteDef<Q, B> {
  return def;
}

/** A route of any types (what a group returns). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any>;

/** The caller of a route that needs no token: no policy, so every capability check refuses. */
export const ANONYMOUS: Identity = Object.freeze({ tokenId: 'anonymous', subject: 'anonymous', policies: [] });

/** Parses `input` with `schema`, or KT_USAGE naming each problem by dot-path. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const problems = issueLines(r.error.issues, what);
  throw new KeyturnError('KT_USAGE', `the ${what} is not valid: ${problems.join('; ')}`, { details: { problems } });
}

/** Gives each route to fastify. */
export function mountRoutes(app: FastifyInstance, routes: readonly AnyRoute[], deps: RouteDeps): void {
  for (const def of routes) {
    app.route({
      method: def.method,
      url: def.url,
      handler: async (request, reply) => {
        const path = def.url.endsWith('/*') ? (request.params as { '*': string })['*'] : '';
        const query = def.query ? parseInput(def.query, request.query, 'query') : {};
        const body = def.body ? parseInput(def.body, request.body, 'body') : undefined;
        let who: Identity = ANONYMOUS;
        if (def.auth !== false) {
          try {
            who = await caller(request, deps.access, deps.throttle);
          } catch (e) {
            if (isKeyturnError(e, 'KT_TOKEN_INVALID')) await recordRefusal(deps.kt, request, null, e);
            throw e;
          }
        }
        let result: unknown;
        try {
          result = await def.handler({ request, reply, deps, path, query, body, who });
        } catch (e) {
          if (isKeyturnError(e, 'KT_ACCESS_DENIED') && who !== ANONYMOUS) await recordRefusal(deps.kt, request, who, e);
          throw e;
        }
        if (def.status !== undefined) void reply.status(def.status);
        return result;
      },
    });
  }
}
