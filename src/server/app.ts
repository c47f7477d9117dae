/**
 * The HTTP API as a fastify instance over an open Keyturn: health, then `/v1` routes that each
 * authenticate the caller's token and check its path policies. Every request gets a correlation
 * id (the caller's `X-Correlation-Id` when it is a safe id, else a fresh one), returned in the same
 * header and carried by the audit events the request causes. Errors are JSON with a KT_ code and
 * the registry's status (./errors.ts). Nothing logs a request body or a value.
 *
 * @example
 * ```ts
 * const app = await buildServer(kt);
 * await app.listen({ host: '127.0.0.1', port: 8787 });
 * ```
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { AccessRepo } from '../access/access-repo.js';
import { accessAuditHook } from '../audit/hooks.js';
import { KeyturnError } from '../core/errors.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { may } from './auth.js';
import { errorBody, errorHandler } from './errors.js';
import { openApiDocument } from './openapi.js';
import { defineRoute, mountRoutes, type AnyRoute, type RouteDeps } from './route.js';
import { apiRoutes } from './routes/index.js';
import { AuthThrottle, type ThrottleOptions } from './throttle.js';
import { localRuns, localSecrets } from '../client/local.js';
import type { AuditContext } from '../audit/context.js';
import type { Identity } from '../access/access-repo.js';
import type { Engine } from '../engine/engine.js';
import { cliVersion } from '../cli/version.js';

const CORRELATION = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface ServerOptions {
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Failed authentications allowed per source address and window (./throttle.ts; default 10 a minute). */
  authFailures?: ThrottleOptions;
  /** Called for each route fastify mounts (tests check the OpenAPI document against it). */
  onRoute?: (route: { method: string | string[]; url: string }) => void;
}

export async function buildServer(kt: Keyturn, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // What fastify refuses before routing (a URL it cannot decode, a bad header): a KT_ error body too.
    frameworkErrors: (error, _request, reply) => {
      const err = new KeyturnError('KT_USAGE', error.code === 'FST_ERR_BAD_URL' ? 'the request URL is not valid (a malformed % escape?)' : 'the request is not valid');
      void (reply as FastifyReply).status(err.status).send(errorBody(err));
    },
    genReqId: (req) => {
      const given = req.headers['x-correlation-id'];
      return typeof given === 'string' && CORRELATION.test(given) ? given : `req_${randomUUID()}`;
    },
  });
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  const access = new AccessRepo(kt.state, kt.clock, accessAuditHook(kt.audit, { actor: 'system:server', source: 'api', correlationId: null }));
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-correlation-id', request.id);
  });
  app.setErrorHandler(errorHandler(kt.log));
  app.setNotFoundHandler((request, reply) => {
    const err = new KeyturnError('KT_API_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`);
    void reply.status(err.status).send(errorBody(err));
  });
  // Closing (SIGTERM): runs under way stop at their next step boundary, so the drain ends soon.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const contextOf = (request: { id: string }, who: Identity): AuditContext => ({ actor: `token:${who.tokenId}`, source: 'api', correlationId: request.id });
  const deps: RouteDeps = {
    kt,
    access,
    throttle: new AuthThrottle(options.authFailures ?? {}, kt.clock),
    storeOf: (request, who) => kt.storeFor(contextOf(request, who)),
    clientOf: (request, who) => {
      const context = contextOf(request, who);
      let engine: Promise<Engine> | undefined;
      const scope = {
        kt,
        store: kt.storeFor(context),
        engine: () => (engine ??= kt.engineFor(context, { stopped: () => closing })),
        correlationId: request.id,
        listable: (path: string) => may(who, path, 'list'),
      };
      return { secrets: localSecrets(scope), runs: localRuns(scope) };
    },
  };
  const routes: AnyRoute[] = apiRoutes();
  let doc: unknown;
  routes.push(
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      tag: 'meta',
      summary: 'This API as an OpenAPI 3.1 document',
      auth: false,
      handler: async () => (doc ??= openApiDocument(routes, cliVersion())),
    }),
  );
  mountRoutes(app, routes, deps);
  await app.ready();
  return app;
}
