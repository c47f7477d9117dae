/**
 * `/openapi.json`: an OpenAPI 3.1 document of exactly the routes the server mounts, generated from
 * the zod schemas that validate their queries and bodies (zod's JSON Schema output is draft
 * 2020-12, the dialect OpenAPI 3.1 uses). Every error response is the one error body, its `code`
 * one of the registry's codes.
 *
 * @example
 * ```ts
 * const doc = openApiDocument(routes, '0.1.0');
 * doc.paths['/v1/secrets/{path}'].get.summary; // 'Read a version of a secret'
 * ```
 */
import { z } from 'zod';
import { ERRORS } from '../core/errors.js';
import type { AnyRoute } from './route.js';

type Json = Record<string, unknown>;

/** fastify's URL as OpenAPI writes it: `:id` → `{id}`, a trailing `*` → `{path}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_]\w*)/g, '{$1}').replace(/\/\*$/, '/{path}');
}

function schemaOf(schema: z.ZodType): Json {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
}

/** Query parameters from an object schema: one parameter per property. */
function queryParameters(schema: z.ZodType): Json[] {
  const s = schemaOf(schema);
  const props = (s.properties ?? {}) as Record<string, Json>;
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(props).map(([name, p]) => ({ name, in: 'query', required: required.has(name), schema: p, ...(typeof p.description === 'string' ? { description: p.description } : {}) }));
}

function pathParameters(url: string): Json[] {
  const names = [...url.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]!);
  const params: Json[] = names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  if (url.endsWith('/*')) params.push({ name: 'path', in: 'path', required: true, schema: { type: 'string' }, description: 'A secret path such as prod/db/app (its slashes as they are)' });
  return params;
}

export function openApiDocument(routes: readonly AnyRoute[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const key = openApiPath(r.url);
    const op: Json = {
      operationId: `${r.method.toLowerCase()}${key.replace(/[{}]/g, '').replace(/(^|[/_-])(\w)/g, (_m, _s: string, c: string) => c.toUpperCase())}`,
      tags: [r.tag],
      summary: r.summary,
      parameters: [...pathParameters(r.url), ...(r.query ? queryParameters(r.query) : [])],
      responses: {
        [String(r.status ?? 200)]: { description: 'Success', content: { [r.produces ?? 'application/json']: { schema: r.response ? schemaOf(r.response) : {} } } },
        default: { description: 'An error: its code says which (docs/errors.md)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (r.auth !== false) op.security = [{ token: [] }];
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(r.body) } } };
    (paths[key] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Keyturn API', version, description: 'Secrets, rotations, audit and access. Errors are JSON with a KT_ code (docs/errors.md).' },
    paths,
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'An API token (kt_...) or a session token from an OIDC login' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'fix'],
              properties: {
                code: { type: 'string', enum: Object.keys(ERRORS) },
                message: { type: 'string' },
                fix: { type: 'string' },
                details: { type: 'object', description: 'What the error is about (names, ids, numbers; never a value), when there is more to say' },
              },
            },
          },
        },
      },
    },
  };
}
