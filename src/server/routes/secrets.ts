/**
 * `/v1/secrets`: read a version (`stage`, `version`, `field`), write one (with an optional expected
 * current version: compare-and-set; refused with KT_RUN_ACTIVE while the secret has an unfinished
 * run unless `supersede`), list paths by prefix. Each needs its capability on the path (read,
 * write, list); a list shows only the paths the token may list. Reads and writes are the CLI's own
 * operations (src/client/local.ts), audited by the store with the request's token, source `api`
 * and correlation id: a value leaves only once its read is recorded. Soft delete is in
 * ./secret-lifecycle.ts. A read of a break-glass path also needs an open grant
 * (src/access/breakglass/: KT_BREAKGLASS_REQUIRED otherwise).
 *
 * @example
 * ```ts
 * mountRoutes(app, secretRoutes(), deps);
 * // GET /v1/secrets/prod/db/app?stage=current   Authorization: Bearer kt_...
 * ```
 */
import { z } from 'zod';
import { runJson } from '../../client/wire.js';
import type { SecretMetadata, SecretValue, VersionInfo } from '../../core/types.js';
import { fieldOf } from '../../core/values.js';
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
    allowInactive: z.enum(['true', 'false']).optional().describe('true: read a secret that is deprecated, expired or revoked (else 409 KT_SECRET_INACTIVE)'),
  })
  .strict();

const writeBody = z
  .object({
    value: VALUE,
    expectVersion: z.number().int().min(0).optional().describe('Store only if this version number is current (0: only if the secret has no version)'),
    stages: z.array(STAGE).min(1).optional().describe('The stages the new version takes (default current)'),
    versionId: z.string().min(1).max(128).optional().describe('The version id; repeating a put with the same id and value is a no-op'),
    metadata: z
      .object({
        type: z.string().max(256).optional(),
        description: z.string().max(4096).optional(),
        owner: z.string().max(256).optional(),
        tags: z.record(z.string(), z.string()).optional().describe('Replaces every tag'),
      })
      .strict()
      .optional(),
    supersede: z.boolean().optional().describe('When the secret has an unfinished rotation run: store anyway and cancel the run without touching the target (else 409 KT_RUN_ACTIVE)'),
  })
  .strict();

const listQuery = z.object({ prefix: z.string().max(1024).optional().describe('Only paths under this prefix') }).strict();

const versionMeta = z.object({ path: z.string(), id: z.string(), number: z.number().int(), stages: z.array(STAGE), kind: z.enum(['string', 'json']), createdAt: z.string() });

export function secretRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/secrets/*',
      tag: 'secrets',
      summary: 'Read a version of a secret (current by default), or one field of it',
      query: readQuery,
      response: versionMeta.extend({
        servedBy: z.string().optional().describe('Only when the primary store was unreachable: the read-only fallback replica that answered (replica:<name>)'),
        field: z.string().optional(),
        value: VALUE,
      }),
      handler: async ({ request, deps, path, query: q, who }) => {
        allow(who, path, 'read');
        await deps.breakGlass.assertRead(who, path, requestContext(request, who));
        const select: VersionSelector = q.version !== undefined ? (/^\d+$/.test(q.version) ? { number: Number(q.version) } : { versionId: q.version }) : { stage: q.stage ?? 'current' };
        const v = await deps.clientOf(request, who).secrets.get(path, select, { allowInactive: q.allowInactive === 'true' });
        const meta = { ...metaBody(v, path), ...(v.servedBy === undefined ? {} : { servedBy: v.servedBy }) };
        return q.field === undefined ? { ...meta, value: v.value } : { ...meta, field: q.field, value: fieldOf(v, q.field) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/secrets/*',
      tag: 'secrets',
      summary: 'Store a new version (compare-and-set with expectVersion)',
      body: writeBody,
      response: versionMeta.extend({ cancelledRun: z.record(z.string(), z.unknown()).optional().describe('The run cancelled by supersede, as GET /v1/runs/{id} shows it') }),
      handler: async ({ request, deps, path, body, who }) => {
        allow(who, path, 'write');
        const { version, cancelled } = await deps.clientOf(request, who).secrets.put(path, body.value as SecretValue, {
          ...(body.expectVersion === undefined ? {} : { expectCurrentVersion: body.expectVersion }),
          ...(body.stages === undefined ? {} : { stages: body.stages }),
          ...(body.versionId === undefined ? {} : { versionId: body.versionId }),
          ...(body.metadata === undefined ? {} : { metadata: body.metadata as Partial<SecretMetadata> }),
          ...(body.supersede ? { supersede: true } : {}),
        });
        return { ...metaBody(version, path), ...(cancelled ? { cancelledRun: runJson(cancelled) } : {}) };
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
export function metaBody(v: VersionInfo, path: string): { path: string; id: string; number: number; stages: VersionInfo['stages']; kind: VersionInfo['kind']; createdAt: string } {
  return { path, id: v.id, number: v.number, stages: v.stages, kind: v.kind, createdAt: new Date(v.createdAt).toISOString() };
}
