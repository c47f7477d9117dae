/**
 * The API tests' fixture, in one place: a fresh home (optionally with a keyturn.yaml applied by
 * the CLI), access policies, tokens and secrets, and `keyturn server`'s fastify instance over it
 * (requests through `inject`). `close()` undoes all of it.
 *
 * @example
 * ```ts
 * const h = await apiHome({ policies: { 'app-read': 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n' }, tokens: { admin: ['admin'], reader: ['app-read'] } });
 * await h.call('GET', '/v1/secrets/prod/app/token', 'reader');
 * await h.close();
 * ```
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { AccessRepo } from '../../src/access/access-repo.js';
import { loadSettings } from '../../src/config/settings.js';
import type { ManualClock } from '../../src/core/clock.js';
import type { SecretValue } from '../../src/core/types.js';
import { initHome, openKeyturn, type Keyturn } from '../../src/runtime/keyturn.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { runCli } from './cli.js';
import { postgresSchemaUrl, tempDir } from './state.js';

export interface ApiHomeOptions<T extends string> {
  /** Access policies by name (their YAML documents). */
  policies?: Record<string, string>;
  /** Tokens by a name the test uses: the policies each carries, and its subject if any. */
  tokens?: Record<T, string[] | { policies: string[]; subject?: string }>;
  /** Secrets stored before the server starts, in order (a path twice makes two versions). */
  secrets?: Array<[string, SecretValue]>;
  /** A keyturn.yaml applied with `keyturn apply` before the home is opened. */
  config?: string;
  clock?: ManualClock;
  /** Server options; `detection` is off unless given (`detection: {}`: as `keyturn server` runs it). */
  server?: ServerOptions;
  /** The state database on a PostgreSQL schema of its own (dropped by `close`) instead of SQLite. */
  postgres?: boolean;
}

export interface ApiHome<T extends string = string> {
  dir: string;
  env: Record<string, string>;
  kt: Keyturn;
  app: FastifyInstance;
  access: AccessRepo;
  /** The tokens by the test's names, and their ids. */
  tokens: Record<T, string>;
  ids: Record<T, string>;
  /** A request as the named token (or with no token: `null`). */
  call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, who: T | null, payload?: object, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function apiHome<T extends string>(options: ApiHomeOptions<T> = {}): Promise<ApiHome<T>> {
  const tmp = tempDir();
  const env: Record<string, string> = { KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' };
  const pgState = options.postgres ? await postgresSchemaUrl('kt_api') : null;
  if (pgState) env.KEYTURN_DATABASE_URL = pgState.url;
  const settings = loadSettings(env);
  await initHome(settings);
  if (options.config !== undefined) {
    const file = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(file, options.config);
    const applied = await runCli(['apply', '-f', file], { env });
    expect(applied.code, applied.stderr).toBe(0);
  }
  const kt = await openKeyturn(settings, options.clock ? { clock: options.clock } : {});
  const access = new AccessRepo(kt.state, kt.clock);
  for (const [name, document] of Object.entries(options.policies ?? {})) await access.putPolicy(name, document);
  const tokens = {} as Record<T, string>;
  const ids = {} as Record<T, string>;
  for (const [name, spec] of Object.entries(options.tokens ?? {}) as Array<[T, string[] | { policies: string[]; subject?: string }]>) {
    const { policies, subject } = Array.isArray(spec) ? { policies: spec, subject: undefined } : spec;
    const created = await access.createToken({ policies, ...(subject === undefined ? {} : { subject }) });
    tokens[name] = created.token;
    ids[name] = created.info.id;
  }
  for (const [path, value] of options.secrets ?? []) await kt.store.put(path, value);
  // Anomaly detection only where a test asks for it (test/server-anomalies.test.ts, the fuzz test): a burst
  // of refusals a test makes on purpose would otherwise add anomaly events to the audit counts it checks.
  const app = await buildServer(kt, { detection: false, ...options.server });
  return {
    dir: tmp.dir,
    env,
    kt,
    app,
    access,
    tokens,
    ids,
    call: (method, url, who, payload, headers = {}) =>
      app.inject({ method, url, headers: { ...(who === null ? {} : { authorization: `Bearer ${tokens[who]}` }), ...headers }, ...(payload ? { payload } : {}) }),
    close: async () => {
      await app.close();
      await kt.close();
      await pgState?.drop();
      tmp.remove();
    },
  };
}

export interface ListeningServer {
  kt: Keyturn;
  app: FastifyInstance;
  /** `http://127.0.0.1:PORT` */
  base: string;
  port: number;
  /** Closes the server, then the home (once; again does nothing). */
  close(): Promise<void>;
}

/** `keyturn server` over the home `env` names, listening on 127.0.0.1 (`port` 0: any free one), for tests that need a real connection (streams, agents). */
export async function listeningServer(env: Record<string, string>, options: ServerOptions = {}, port = 0): Promise<ListeningServer> {
  const kt = await openKeyturn(loadSettings(env));
  const app = await buildServer(kt, { breakGlassSweepMs: false, ...options });
  await app.listen({ host: '127.0.0.1', port });
  const bound = (app.server.address() as { port: number }).port;
  let closed = false;
  return {
    kt,
    app,
    base: `http://127.0.0.1:${bound}`,
    port: bound,
    close: async () => {
      if (closed) return;
      closed = true;
      // Node's close ends idle connections only once they have carried a request: one a client
      // opened and sent nothing on (fetch reconnecting after a stream it aborted) would hold the
      // close open for good. A second after the close began, whatever is left is cut.
      const force = setTimeout(() => app.server.closeAllConnections(), 1000);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
      }
      await kt.close();
    },
  };
}
