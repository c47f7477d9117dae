/**
 * `/v1/secrets`: read a version (`stage`, `version`, `field`), write one (with an optional expected
 * current version: compare-and-set), list paths by prefix. Each needs its capability on the path
 * (read, write, list); a list shows only the paths the token may list. Reads and writes are
 * audited by the store with the request's token, source `api` and correlation id: a value leaves
 * only once its read is recorded. A read of a break-glass path also needs an open grant
(src/access/breakglass/: KT_BREAKGLASS_REQUIRED otherwise).
 *
 * @example
 * ```ts
 * mountRoutes(app, secretRoutes(), deps);
 * // GET /v1/secrets/prod/db/app?stage=current   Authorization: Bearer kt_...
 * ```
 */
import { z } from 'zod';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue, Version } from '../../core/types.js';
import type { VersionSelector } from '../../stores/store.js';
import { allow, may, requestContext } from '../auth.js';
import { defineRoute, type AnyRoute } from '../route.js';

const STAGE = z.enum(['current', 'pending', 'previous']);
const VALUE = z.union([z.string(), z.record(z.string(), z.string())]);

const readQuery = z
  .object({
    stage: STAGE.optional().describe('The stage to read (default current)'),
    version: z.string().min(1).max(128).optional().describe('A version number or version id'),
    field: z.string().min(1).max(128).optional().describe('One field of a structured value'),
  })
  .strict();

const writeBody = z
  .object({
    value: VALUE,
    expectVersion: z.number().int().min(0).optional().describe('Store only if this version number is current (0: only if the secret has no version)'),
    stages: z.array(STAGE).min(1).optional().describe('The stages the new version takes (default current)'),
  })
  .strict();

const listQuery = z.object({ prefix: z.string().max(1024).optional().describe('Only paths under this prefix') }).strict();

const versionMeta = z.object({ path: z.string(), id: z.string(), number: z.number().int(), stages: z.array(STAGE), createdAt: z.string() });

export function secretRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/secrets/*',
      tag: 'secrets',
      summary: 'Read a version of a secret (current by default), or one field of it',
      query: readQuery,
      response: versionMeta.extend({ field: z.string().optional(), value: VALUE }),
      handler: async ({ request, deps, path, query: q, who }) => {
        allow(who, path, 'read');
        await deps.breakGlass.assertRead(who, path, requestContext(request, who));
        const select: VersionSelector =
          q.version !== undefined ? (/^\d+$/.test(q.version) ? { number: Number(q.version) } : { versionId: q.version }) : q.stage !== undefined ? { stage: q.stage } : {};
        const v = await deps.storeOf(request, who).get(path, select);
        if (!v) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no ${q.stage ?? 'current'} version of ${path}`);
        return versionBody(v, q.field);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/secrets/*',
      tag: 'secrets',
      summary: 'Store a new version (compare-and-set with expectVersion)',
      body: writeBody,
      response: versionMeta,
      handler: async ({ request, deps, path, body, who }) => {
        allow(who, path, 'write');
        const v = await deps.storeOf(request, who).put(path, body.value as SecretValue, {
          ...(body.expectVersion === undefined ? {} : { expectCurrentVersion: body.expectVersion }),
          ...(body.stages === undefined ? {} : { stages: body.stages }),
        });
        return metaBody(v);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/secrets',
      tag: 'secrets',
      summary: 'List secret paths (only those the token may list)',
      query: listQuery,
      response: z.object({ paths: z.array(z.string()) }),
      handler: async ({ deps, query: q, who }) => {
        const paths: string[] = [];
        for await (const p of deps.kt.store.list(q.prefix ?? '')) if (may(who, p, 'list')) paths.push(p);
        return { paths };
      },
    }),
  ];
}

/** A version without its value. */
export function metaBody(v: Version): { path: string; id: string; number: number; stages: Version['stages']; createdAt: string } {
  return { path: v.path, id: v.id, number: v.number, stages: v.stages, createdAt: new Date(v.createdAt).toISOString() };
}

function versionBody(v: Version, field: string | undefined): Record<string, unknown> {
  const base = metaBody(v);
  if (field === undefined) return { ...base, value: v.value };
  if (typeof v.value === 'string') throw new KeyturnError('KT_FIELD_NOT_AVAILABLE', `${v.path} version ${v.number} is a plain string: it has no fields`);
  if (!Object.hasOwn(v.value, field)) throw new KeyturnError('KT_FIELD_NOT_FOUND', `${v.path} version ${v.number} has no field ${field}`);
  return { ...base, field, value: v.value[field] };
}
