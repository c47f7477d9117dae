/**
 * `/v1/secrets`: read a version (`stage`, `version`, `field`), write one (with an optional expected
 * current version: compare-and-set), list paths by prefix. Each needs its capability on the path
 * (read, write, list); a list shows only the paths the token may list. Reads and writes are
 * audited by the store with the request's token, source `api` and correlation id: a value leaves
 * only once its read is recorded.
 *
 * @example
 * ```ts
 * secretRoutes(app, kt, access, throttle);
 * // GET /v1/secrets/prod/db/app?stage=current   Authorization: Bearer kt_...
 * ```
 */
import { issueLines } from '../../core/issues.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessRepo, Identity } from '../../access/access-repo.js';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue, Version } from '../../core/types.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import type { SecretStore, VersionSelector } from '../../stores/store.js';
import { allow, caller, may } from '../auth.js';
import type { AuthThrottle } from '../throttle.js';

const readQuery = z
  .object({
    stage: z.enum(['current', 'pending', 'previous']).optional(),
    version: z.string().min(1).max(128).optional(),
    field: z.string().min(1).max(128).optional(),
  })
  .strict();

const writeBody = z
  .object({
    value: z.union([z.string(), z.record(z.string(), z.string())]),
    expectVersion: z.number().int().min(0).optional(),
    stages: z
      .array(z.enum(['current', 'pending', 'previous']))
      .min(1)
      .optional(),
  })
  .strict();

const listQuery = z.object({ prefix: z.string().max(1024).optional() }).strict();

/** Parses `input` with `schema`, or KT_USAGE naming each problem by dot-path. */
function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const problems = issueLines(r.error.issues, what);
  throw new KeyturnError('KT_USAGE', `the ${what} is not valid: ${problems.join('; ')}`, { details: { problems } });
}

export function secretRoutes(app: FastifyInstance, kt: Keyturn, access: AccessRepo, throttle: AuthThrottle): void {
  /** The store as this request: its events name the token, source `api` and the correlation id. */
  const storeOf = (request: FastifyRequest, who: Identity): SecretStore => kt.storeFor({ actor: `token:${who.tokenId}`, source: 'api', correlationId: request.id });

  app.get('/v1/secrets/*', async (request) => {
    const path = (request.params as { '*': string })['*'];
    const q = parse(readQuery, request.query, 'query');
    const who = await caller(request, access, throttle);
    allow(who, path, 'read');
    const select: VersionSelector = q.version !== undefined ? (/^\d+$/.test(q.version) ? { number: Number(q.version) } : { versionId: q.version }) : q.stage !== undefined ? { stage: q.stage } : {};
    const v = await storeOf(request, who).get(path, select);
    if (!v) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no ${q.stage ?? 'current'} version of ${path}`);
    return versionBody(v, q.field);
  });

  app.put('/v1/secrets/*', async (request) => {
    const path = (request.params as { '*': string })['*'];
    const body = parse(writeBody, request.body, 'body');
    const who = await caller(request, access, throttle);
    allow(who, path, 'write');
    const v = await storeOf(request, who).put(path, body.value as SecretValue, {
      ...(body.expectVersion === undefined ? {} : { expectCurrentVersion: body.expectVersion }),
      ...(body.stages === undefined ? {} : { stages: body.stages }),
    });
    return { path: v.path, id: v.id, number: v.number, stages: v.stages, createdAt: new Date(v.createdAt).toISOString() };
  });

  app.get('/v1/secrets', async (request) => {
    const q = parse(listQuery, request.query, 'query');
    const who = await caller(request, access, throttle);
    const paths: string[] = [];
    for await (const p of kt.store.list(q.prefix ?? '')) if (may(who, p, 'list')) paths.push(p);
    return { paths };
  });
}

function versionBody(v: Version, field: string | undefined): Record<string, unknown> {
  const base = { path: v.path, id: v.id, number: v.number, stages: v.stages, createdAt: new Date(v.createdAt).toISOString() };
  if (field === undefined) return { ...base, value: v.value };
  if (typeof v.value === 'string') throw new KeyturnError('KT_FIELD_NOT_AVAILABLE', `${v.path} version ${v.number} is a plain string: it has no fields`);
  if (!Object.hasOwn(v.value, field)) throw new KeyturnError('KT_FIELD_NOT_FOUND', `${v.path} version ${v.number} has no field ${field}`);
  return { ...base, field, value: v.value[field] };
}
