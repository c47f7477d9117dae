/**
 * `GET /ui` and `GET /ui/*`: the web dashboard (ui/, docs/ui.md), its static assets as
 * `npm run build:ui` wrote them to dist/ui/, served by the server itself (no other process). No
 * token is needed to load the page: every call it makes to `/v1` carries the one the user logs in
 * with. A path that is not an asset gets index.html (the dashboard routes by the URL's hash);
 * names with `..` or outside the folder are refused with 404. The page is sent with a content
 * security policy that allows only this origin's scripts and connections, and no framing.
 *
 * @example
 * ```ts
 * mountRoutes(app, uiRoutes(), deps); // GET /ui/  GET /ui/assets/index-abc123.js
 * ```
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { KeyturnError } from '../../core/errors.js';
import { defineRoute, type AnyRoute } from '../route.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** dist/ui/ of the package this module is part of (dist/server/routes/, dist/bundle/ or, under tests, src/server/routes/), or null when not built. */
export function uiDir(from = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

export function uiRoutes(): AnyRoute[] {
  let root: string | null | undefined;
  const serve = async (name: string, reply: FastifyReply): Promise<unknown> => {
    root ??= uiDir();
    if (root === null) throw new KeyturnError('KT_UI_NOT_BUILT', 'the web dashboard is not built: dist/ui/index.html is missing');
    const rel = normalize(name === '' ? 'index.html' : name);
    const asset = rel.startsWith('..') || rel.includes(`${sep}..`) ? null : join(root, rel);
    const type = asset ? TYPES[extname(asset)] : undefined;
    let body: Buffer | null = null;
    if (asset && type && asset.startsWith(root + sep)) body = await readFile(asset).catch(() => null);
    const isIndex = body === null || rel === 'index.html';
    if (body === null) {
      // An asset that is missing is a 404; any other name is the dashboard's own route: index.html.
      if (rel.startsWith(`assets${sep}`) || type !== undefined) throw new KeyturnError('KT_API_ROUTE_NOT_FOUND', `no dashboard asset ${rel.slice(0, 200)}`);
      body = await readFile(join(root, 'index.html'));
    }
    void reply
      .type(isIndex ? TYPES['.html']! : type!)
      .header('cache-control', isIndex ? 'no-cache' : 'public, max-age=31536000, immutable')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    return body;
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/ui',
      tag: 'meta',
      summary: 'The web dashboard (docs/ui.md)',
      auth: false,
      produces: 'text/html',
      handler: async ({ reply }) => reply.redirect('/ui/', 302),
    }),
    defineRoute({
      method: 'GET',
      url: '/ui/*',
      tag: 'meta',
      summary: 'The web dashboard’s page and assets',
      auth: false,
      produces: 'text/html',
      handler: async ({ request, reply }) => serve((request.params as { '*': string })['*'], reply),
    }),
  ];
}
