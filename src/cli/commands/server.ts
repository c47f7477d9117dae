/** `keyturn server [--listen HOST:PORT]`: the HTTP API (tokens and path policies decide; see docs/server.md). */
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../app.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** `HOST:PORT` (IPv6 in brackets: `[::1]:8787`); PORT 0 picks a free one. */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) throw new KeyturnError('KT_USAGE', `--listen takes HOST:PORT, such as 127.0.0.1:8787 or [::1]:8787 (got ${JSON.stringify(text.slice(0, 80))})`);
  return { host: (m[1] ?? m[2])!, port };
}

export function registerServer(program: Command, app: CliApp): void {
  common(program.command('server'))
    .description('Serve the HTTP API: secrets, with API tokens and path policies deciding who may do what')
    .option('--listen <host:port>', 'where to listen', '127.0.0.1:8787')
    .option('--insecure-http', 'allow plain HTTP on an address other than loopback (behind a TLS proxy only)')
    .addHelpText(
      'after',
      `
Requests carry a token: "Authorization: Bearer kt_..." (keyturn token create --policy NAME).
Routes: GET /healthz, GET /readyz; secrets (read, write, metadata, history, rollback, delete, restore,
purge), rotations and runs under /v1: see docs/server.md, or GET /openapi.json. Errors are JSON with a KT_ code.
The CLI is a client of a server with KEYTURN_ADDR and KEYTURN_TOKEN (see keyturn --help).
SIGTERM or SIGINT: stops taking requests, lets those under way finish, then exits 0.
TLS is not built in yet: listen on loopback, or put a TLS proxy in front (--insecure-http).

Examples:
  keyturn server
  keyturn server --listen 127.0.0.1:9000
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8787/v1/secrets/prod/db/app?field=password`,
    )
    .action(async (opts: CommonOptions & { listen: string; insecureHttp?: boolean }) => {
      const { host, port } = parseListen(opts.listen);
      if (!LOOPBACK.has(host) && !opts.insecureHttp) throw new KeyturnError('KT_LISTEN_INSECURE', `refusing plain HTTP on ${host}`);
      const [settings, { openKeyturn }, { buildServer }] = await Promise.all([app.settings(opts), app.runtime(), import('../../server/app.js')]);
      const kt = await openKeyturn(settings);
      const server = await buildServer(kt);
      const stopped = new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          // close(): no new connections; requests under way finish first.
          void server.close().then(resolve, resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      try {
        const address = await server.listen({ host, port });
        app.io.stdout.write(`${opts.json ? JSON.stringify({ listening: address }) : `keyturn server listening on ${address}`}\n`);
        await stopped;
      } finally {
        await server.close();
        await kt.close();
      }
    });
}
