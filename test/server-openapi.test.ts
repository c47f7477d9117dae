/**
 * `/openapi.json` describes every route the server mounts (collected from fastify's own onRoute
 * hook, so a route added without the registry shows up here as missing), with the query and body
 * schemas that validate it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer } from '../src/server/app.js';
import { openApiPath } from '../src/server/openapi.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
let kt: Keyturn;
const mounted: Array<{ method: string; url: string }> = [];
let doc: { openapi: string; paths: Record<string, Record<string, { summary: string; parameters: Array<{ name: string; in: string }>; requestBody?: unknown; security?: unknown }>> };

beforeAll(async () => {
  tmp = tempDir();
  const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' });
  await initHome(settings);
  kt = await openKeyturn(settings);
  const app = await buildServer(kt, {
    onRoute: (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') mounted.push({ method: m, url: r.url });
    },
  });
  const r = await app.inject({ url: '/openapi.json' });
  expect(r.statusCode).toBe(200);
  doc = r.json();
  await app.close();
});

afterAll(async () => {
  await kt.close();
  tmp.remove();
});

describe('/openapi.json', () => {
  it('is OpenAPI 3.1 with every mounted route, and no route that is not mounted', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(mounted.length).toBeGreaterThan(4);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(mounted.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
  });

  it('describes query parameters, request bodies and which routes need a token', () => {
    const read = doc.paths['/v1/secrets/{path}']!.get!;
    expect(read.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:path', 'query:stage', 'query:version', 'query:field', 'query:allowInactive']);
    expect(read.security).toEqual([{ token: [] }]);
    expect(doc.paths['/v1/secrets/{path}']!.put!.requestBody).toMatchObject({ content: { 'application/json': { schema: { type: 'object', required: ['value'] } } } });
    expect(doc.paths['/healthz']!.get!.security).toBeUndefined();
  });

  it('names each route once (fastify refuses a duplicate, the document would hide one)', () => {
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => (o as { operationId?: string }).operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
