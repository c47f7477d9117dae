/**
 * The HTTP API as a fastify instance over an open Keyturn: health, then `/v1` routes that each
 * authenticate the caller's token and check its path policies. Every request gets a correlation
 * id (the caller's `X-Correlation-Id` when it is a safe id, else a fresh one), returned in the same
 * header and carried by the audit events the request causes. Errors are JSON with a KT_ code and
 * the registry's status (./errors.ts). Nothing logs a request body or a value. Every response is
 * timed by route pattern for `/metrics` (src/metrics/), unless metrics are off.
 * the registry's status (./errors.ts). Nothing logs a request body or a value. While it runs, a
 * timer closes ended break-glass windows and rotates their secrets (src/access/breakglass/sweep.ts),
 * another queues and sends webhook notifications (src/notify/pass.ts), and, with `scheduler`, the
 * scheduler rotates what is due (src/schedule/scheduler.ts).
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
import { BreakGlassRepo } from '../access/breakglass/repo.js';
import { sweepBreakGlass, type SweepDeps } from '../access/breakglass/sweep.js';
import { startJobs, type Job } from './housekeeping.js';
import { REPLICAS_CONTEXT, replicaJob } from '../replicas/sync.js';
import { OidcLogin, type OidcLoginOptions } from '../access/oidc-login.js';
import { OidcRepo } from '../access/oidc-repo.js';
import { accessAuditHook } from '../audit/hooks.js';
import { KeyturnError } from '../core/errors.js';
import { createMetrics, type KeyturnMetrics, type MetricsOptions } from '../metrics/metrics.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { requestContext } from './auth.js';
import { may } from './auth.js';
import { errorBody, errorHandler } from './errors.js';
import { EventFeed, type EventFeedOptions } from './events/feed.js';
import { DEFAULT_HEARTBEAT_MS } from './events/stream.js';
import { openApiDocument } from './openapi.js';
import { defineRoute, mountRoutes, type AnyRoute, type RouteDeps } from './route.js';
import { apiRoutes } from './routes/index.js';
import type { MetricsAccess } from './routes/metrics.js';
import { AuthThrottle, type ThrottleOptions } from './throttle.js';
import { localRuns, localSecrets } from '../client/local.js';
import type { Engine } from '../engine/engine.js';
import { cliVersion } from '../cli/version.js';
import type { SchedulerOptions } from '../schedule/scheduler.js';
import type { DetectionOptions, DetectionRunner } from '../detect/runner.js';
import { sinksConfigured } from '../audit/sinks/configured.js';

const CORRELATION = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface ServerOptions {
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Failed authentications allowed per source address and window (./throttle.ts; default 10 a minute). */
  authFailures?: ThrottleOptions;
  /** Serve HTTPS with this certificate and key (./tls.ts); `app.server.setSecureContext` swaps them later. */
  https?: { cert: Buffer; key: Buffer };
  /** How often the configured audit sinks are fed (default 5 s); false: only when the server stops. */
  auditDeliveryMs?: number | false;
  /** How often notifications are queued and sent (default KEYTURN_NOTIFY_INTERVAL_MS); false: never (tests run passes by hand). */
  notifyMs?: number | false;
  /** How often replicas behind are copied again (default KEYTURN_SCHEDULER_INTERVAL_SECONDS); false: never (tests run passes by hand). */
  replicaMs?: number | false;
  /** How often closed break-glass windows are swept (default 30 s); false: never (tests sweep by hand). */
  breakGlassSweepMs?: number | false;
  /** The OIDC login's key set fetching (cooldown, cache age, timeout: src/access/oidc-login.ts). */
  oidc?: OidcLoginOptions;
  /** `GET /v1/events`: the heartbeat interval (default 15 s) and how often the audit head is polled for other processes' changes (default 100 ms). */
  events?: { heartbeatMs?: number } & EventFeedOptions;
  /** Called for each route fastify mounts (tests check the OpenAPI document against it). */
  onRoute?: (route: { method: string | string[]; url: string }) => void;
  /** `/metrics`: who may scrape it (./routes/metrics.ts; default open, off: no route and no metrics kept), the per-path age series limit and the state read cache. */
  metrics?: MetricsOptions & { access?: MetricsAccess };
  /**
   * Access anomaly detection (src/detect/runner.ts): false, none; absent, the applied `detection:`
   * section of keyturn.yaml (every detector with its defaults when none was applied); or the
   * detectors' configs and the runner's timings given here (tests).
   */
  detection?: false | ({ detectors?: readonly unknown[] } & Partial<Omit<DetectionOptions, 'detectors' | 'access' | 'rotate' | 'onAnomaly'>>);
  /**
   * Run the scheduler in this server (src/schedule/scheduler.ts): due secrets rotated with these
   * limits, stopped with the server (runs under way stop at their next step boundary). Absent: no
   * scheduler (`keyturn server` passes the settings unless --no-scheduler).
   */
  scheduler?: SchedulerOptions;
}

const SERVER_CONTEXT = Object.freeze({ actor: 'system:server', source: 'api', correlationId: null });

/**
 * What the break-glass sweep needs from an open Keyturn: its state, audit log, and the engine's
 * rotate (the run's correlation id is the request's id), recording as `system:server`.
 */
export function breakGlassSweepDeps(kt: Keyturn): SweepDeps {
  return {
    state: kt.state,
    audit: kt.audit,
    context: SERVER_CONTEXT,
    log: kt.log,
    rotate: async (path, correlationId) => {
      const run = await (await kt.engine()).rotate(path, { correlationId });
      return { id: run.id, status: run.status, errorCode: run.errorCode };
    },
  };
}

/** How long an expired token's record is kept (for `token ls`) before the server deletes it. */
export const EXPIRED_TOKENS_KEPT_MS = 7 * 86_400_000;

/** The notifications job (src/notify/pass.ts), its code loaded at its first run. */
function notifications(kt: Keyturn, everyMs: number, onResult: KeyturnMetrics['notification'] | undefined): Job {
  let job: Promise<Job> | undefined;
  return {
    name: 'notifications',
    everyMs,
    run: async () => (await (job ??= import('../notify/pass.js').then((m) => m.notificationsJob(kt, { everyMs, ...(onResult ? { onResult } : {}) })))).run(),
  };
}

const runners = new WeakMap<FastifyInstance, DetectionRunner>();

/**
 * The server's anomaly detection, when it runs (tests wait on it: `await detectionOf(app)?.caughtUp()`).
 *
 * @example
 * ```ts
 * detectionOf(app)?.stats().anomalies; // anomalies recorded since start
 * ```
 */
export function detectionOf(app: FastifyInstance): DetectionRunner | undefined {
  return runners.get(app);
}

/** Starts the anomaly detection the options (or the applied `detection:` section) ask for; null when off. */
async function startDetection(kt: Keyturn, access: AccessRepo, given: ServerOptions['detection'], metrics: KeyturnMetrics | null): Promise<DetectionRunner | null> {
  if (given === false) return null;
  const [{ DetectionRunner }, { createDetectors }, { storedDetection }] = await Promise.all([import('../detect/runner.js'), import('../detect/create.js'), import('../detect/config.js')]);
  const stored = given?.detectors === undefined ? await storedDetection(kt.state) : null;
  if (stored !== null && !stored.enabled) return null;
  const detectors = stored !== null ? createDetectors(stored.detectors, stored.disable) : createDetectors(given?.detectors ?? []);
  const runner = new DetectionRunner(kt, {
    ...(stored !== null ? { warmupDays: stored.warmupDays, warmupMaxEvents: stored.warmupMaxEvents } : {}),
    ...given,
    detectors,
    access,
    rotate: async (path, correlationId) => {
      const run = await (await kt.engineFor({ actor: 'system:detector', source: 'detector', correlationId })).rotate(path, { correlationId });
      return { id: run.id };
    },
    ...(metrics ? { onAnomaly: (type) => metrics.anomalies.record(type) } : {}),
  });
  await runner.start();
  return runner;
}

export async function buildServer(kt: Keyturn, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key, minVersion: 'TLSv1.2' as const } } : {}),
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
  }) as unknown as FastifyInstance;
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  const access = new AccessRepo(kt.state, kt.clock, accessAuditHook(kt.audit, SERVER_CONTEXT));
  const sweepDeps = breakGlassSweepDeps(kt);
  // The per-request hooks take fastify's callback form: an async hook costs every request a promise and a turn of the microtask queue.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-correlation-id', request.id);
    done();
  });
  // An access log at debug level: the route pattern, never the URL's path (a secret path is not a value, but the
  // pattern is what an operator groups by), never a body or a query.
  // Only when debug is on: no object built per request otherwise.
  if (kt.log.isLevelEnabled('debug'))
    app.addHook('onResponse', async (request, reply) => {
      kt.log.debug({ correlationId: request.id, method: request.method, route: request.routeOptions.url ?? null, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    });
  const metricsAccess = options.metrics?.access ?? 'open';
  const metrics = metricsAccess === 'off' ? null : createMetrics(kt, options.metrics);
  if (metrics !== null) {
    // By route pattern, never by URL (src/metrics/http.ts).
    app.addHook('onResponse', (request, reply, done) => {
      metrics.observeHttp(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
    app.addHook('onClose', async () => metrics.close());
  }
  app.setErrorHandler(errorHandler(kt.log));
  app.setNotFoundHandler((request, reply) => {
    const err = new KeyturnError('KT_API_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`);
    void reply.status(err.status).send(errorBody(err));
  });
  // Closing (SIGTERM): runs under way stop at their next step boundary, so the drain ends soon.
  let closing = false;
  const feed = new EventFeed(kt.audit, kt.log, options.events ?? {});
  app.addHook('preClose', async () => {
    closing = true;
    // Open change streams end now (their clients resume elsewhere with Last-Event-ID): they would hold the drain open forever.
    feed.close();
  });
  // While closing, each answer closes its connection: a keep-alive connection left idle would hold
  // the drain open until its keep-alive timeout (72 s in fastify).
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  const deps: RouteDeps = {
    kt,
    access,
    throttle: new AuthThrottle(options.authFailures ?? {}, kt.clock),
    breakGlass: new BreakGlassRepo(kt.state, kt.clock, kt.audit),
    sweepBreakGlass: (now) => sweepBreakGlass(sweepDeps, now),
    accessOf: (request, who) => new AccessRepo(kt.state, kt.clock, accessAuditHook(kt.audit, requestContext(request, who))),
    oidc: new OidcLogin(new OidcRepo(kt.state, kt.clock, access), access, kt.clock, options.oidc),
    metrics,
    storeOf: (request, who) => kt.storeFor(requestContext(request, who)),
    clientOf: (request, who) => {
      const context = requestContext(request, who);
      let engine: Promise<Engine> | undefined;
      const scope = {
        kt,
        store: kt.storeFor(context),
        engine: () => (engine ??= kt.engineFor(context, { stopped: () => closing })),
        correlationId: request.id,
        auditContext: context,
        listable: (path: string) => may(who, path, 'list'),
        rotatable: (path: string) => may(who, path, 'rotate'),
      };
      return { secrets: localSecrets(scope), runs: localRuns(scope) };
    },
    events: { feed, heartbeatMs: options.events?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS },
  };
  const routes: AnyRoute[] = apiRoutes({ metrics: metricsAccess });
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
  const a = kt.settings.audit;
  const jobs: Job[] = [
    ...(options.breakGlassSweepMs === false ? [] : [{ name: 'breakglass-sweep', everyMs: options.breakGlassSweepMs ?? 30_000, run: () => sweepBreakGlass(sweepDeps, kt.clock.now()) }]),
    ...(options.auditDeliveryMs === false || !sinksConfigured(a) ? [] : [{ name: 'audit-delivery', everyMs: options.auditDeliveryMs ?? 5000, run: () => kt.deliverAudit(1) }]),
    { name: 'token-cleanup', everyMs: 3_600_000, run: () => access.deleteExpiredTokens(kt.clock.now() - EXPIRED_TOKENS_KEPT_MS) },
    ...(options.notifyMs === false ? [] : [notifications(kt, options.notifyMs ?? kt.settings.notify.intervalMs, metrics?.notification)]),
    // Scheduled backups (the backups: section of keyturn.yaml; src/backup/scheduled.ts), code loaded at the first pass.
    { name: 'scheduled-backup', everyMs: 60_000, run: async () => (await import('../backup/scheduled.js')).runScheduledBackup(kt) },
    // Replicas behind (a store that failed during propagate) are copied again until they catch up (src/replicas/sync.ts).
    ...(options.replicaMs === false ? [] : [replicaJob(async () => kt.replicasFor(REPLICAS_CONTEXT), options.replicaMs ?? kt.settings.scheduler.intervalMs)]),
  ];
  const stopJobs = startJobs(jobs, kt.log);
  app.addHook('onClose', async () => stopJobs());
  // A server appends an event for every read: the check before each checkpoint runs beside the
  // event loop, not inside an append (src/audit/log.ts, checkInBackground).
  if (kt.audit.checkInBackground()) app.addHook('onClose', async () => kt.audit.stopBackgroundCheck());
  const detection = await startDetection(kt, access, options.detection, metrics);
  if (detection) {
    runners.set(app, detection);
    app.addHook('onClose', async () => detection.stop());
  }
  if (options.scheduler) {
    const { Scheduler, SCHEDULER_CONTEXT } = await import('../schedule/scheduler.js');
    let engine: Promise<Engine> | undefined;
    const scheduler: InstanceType<typeof Scheduler> = new Scheduler(
      {
        state: kt.state,
        clock: kt.clock,
        log: kt.log,
        // Closing (SIGTERM): its runs stop at their next step boundary, as the requests' do.
        engine: () => (engine ??= kt.engineFor(SCHEDULER_CONTEXT, { stopped: () => closing || scheduler.stopping })),
        ...(metrics ? { observer: metrics.scheduler } : {}),
      },
      options.scheduler,
    );
    scheduler.start();
    app.addHook('onClose', async () => scheduler.stop());
  }
  await app.ready();
  return app;
}
