/**
 * `keyturn server [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--init-token] [--no-scheduler]`:
 * the HTTP API (tokens and path policies decide; see docs/server.md), and the scheduler that
 * rotates due secrets (docs/schedule.md) unless --no-scheduler.
 */
import { Option, type Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { intOption } from '../options.js';
import { accessOf } from './access-view.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Who may scrape /metrics (src/server/routes/metrics.ts, listed here so the command loads no server code before its action). */
export const METRICS_ACCESS = ['open', 'loopback', 'token', 'off'] as const;
type MetricsAccess = (typeof METRICS_ACCESS)[number];

interface ServerOptions extends CommonOptions {
  listen: string;
  insecureHttp?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  initToken?: boolean;
  metrics: MetricsAccess;
  metricsSecretPaths: number;
  /** False with --no-scheduler. */
  scheduler: boolean;
}

/** `HOST:PORT` (IPv6 in brackets: `[::1]:8787`); PORT 0 picks a free one. */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) throw new KeyturnError('KT_USAGE', `--listen takes HOST:PORT, such as 127.0.0.1:8787 or [::1]:8787 (got ${JSON.stringify(text.slice(0, 80))})`);
  return { host: (m[1] ?? m[2])!, port };
}

export function registerServer(program: Command, app: CliApp): void {
  common(program.command('server'))
    .description('Serve the HTTP API: secrets, rotations, audit and access, with API tokens and path policies deciding who may do what')
    .option('--listen <host:port>', 'where to listen', '127.0.0.1:8787')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (its chain after it); read again on SIGHUP')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert; read again on SIGHUP')
    .option('--insecure-http', 'allow plain HTTP on an address other than loopback (behind a TLS proxy only)')
    .option('--init-token', 'bootstrap: when no admin token is active, create one (subject root) and print it once, first line of stdout')
    .addOption(new Option('--metrics <access>', 'who may scrape GET /metrics (token: a token allowed audit on the path metrics; off: no metrics)').choices(METRICS_ACCESS).default('open'))
    .option(
      '--metrics-secret-paths <n>',
      'the oldest N secrets get a keyturn_secret_age_seconds{path} series (and at most N a keyturn_agent_deliveries_missing{path} and a keyturn_certificate_expiry_timestamp_seconds{path}), 0 to 100000 (0: no paths in metrics)',
      intOption('--metrics-secret-paths', { min: 0, max: 100_000 }),
      1000,
    )
    .option('--no-scheduler', 'do not rotate due secrets in this server (another server, keyturn worker or cron with keyturn rotate --due does)')
    .addHelpText(
      'after',
      `
Requests carry a token: "Authorization: Bearer kt_..." (keyturn token create --policy NAME, or
--init-token on the first start). GET /openapi.json describes every route (docs/server.md has
them); GET /healthz and GET /readyz need no token; GET /metrics as --metrics says. Errors are
JSON with a KT_ code. Every 30 s it closes ended break-glass windows and rotates their secrets.
Its scheduler rotates due secrets (keyturn.yaml schedule:), with the KEYTURN_SCHEDULER_* limits;
servers and workers on one PostgreSQL share the work, each secret rotated once (docs/schedule.md).
The CLI is a client of a server with KEYTURN_ADDR and KEYTURN_TOKEN (see keyturn --help).
SIGTERM or SIGINT: stops taking requests, lets those under way finish (rotations stop at their
next step boundary, left retrying for the next pass), then exits 0.
SIGHUP: reads --tls-cert and --tls-key again (new connections get the new certificate).

Examples:
  keyturn server --init-token
  keyturn server --listen 0.0.0.0:8443 --tls-cert /etc/keyturn/tls.crt --tls-key /etc/keyturn/tls.key
  keyturn server --metrics token --metrics-secret-paths 0
  keyturn server --no-scheduler
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8787/v1/secrets/prod/db/app?field=password`,
    )
    .action(async (opts: ServerOptions) => {
      const { host, port } = parseListen(opts.listen);
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new KeyturnError('KT_USAGE', 'pass --tls-cert and --tls-key together');
      const tlsFiles = opts.tlsCert !== undefined && opts.tlsKey !== undefined ? { cert: opts.tlsCert, key: opts.tlsKey } : undefined;
      if (!tlsFiles && !LOOPBACK.has(host) && !opts.insecureHttp) throw new KeyturnError('KT_LISTEN_INSECURE', `refusing plain HTTP on ${host}`);
      const [settings, { openKeyturn }, { buildServer }, { loadTls }] = await Promise.all([app.settings(opts), app.runtime(), import('../../server/app.js'), import('../../server/tls.js')]);
      const tls = tlsFiles ? loadTls(tlsFiles) : undefined;
      const kt = await openKeyturn(settings);
      try {
        if (opts.initToken) await initToken(app, opts, kt);
        const server = await buildServer(kt, {
          ...(tls ? { https: tls } : {}),
          metrics: { access: opts.metrics, secretPaths: opts.metricsSecretPaths },
          ...(opts.scheduler ? { scheduler: settings.scheduler } : {}),
        });
        const reload = () => {
          try {
            const fresh = loadTls(tlsFiles!);
            (server.server as unknown as { setSecureContext(o: { cert: Buffer; key: Buffer }): void }).setSecureContext({ cert: fresh.cert, key: fresh.key });
            kt.log.info({ serial: fresh.serial, notAfter: fresh.notAfter }, 'TLS certificate reloaded');
          } catch (e) {
            // A bad file on reload keeps the certificate being served.
            kt.log.error({ code: (e as KeyturnError).code, message: (e as Error).message }, 'TLS certificate not reloaded; still serving the previous one');
          }
        };
        if (tlsFiles) process.on('SIGHUP', reload);
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
          const tlsNote = tls ? { tls: { serial: tls.serial, notAfter: tls.notAfter } } : {};
          app.io.stdout.write(
            `${opts.json ? JSON.stringify({ listening: address, ...tlsNote }) : `keyturn server listening on ${address}${tls ? ` (TLS certificate ${tls.serial}, valid until ${tls.notAfter})` : ''}`}\n`,
          );
          await stopped;
        } finally {
          process.off('SIGHUP', reload);
          await server.close();
        }
      } finally {
        await kt.close();
      }
    });
}

/** `--init-token`: an admin token when none is active, printed once; otherwise a note on stderr. */
async function initToken(app: CliApp, opts: ServerOptions, kt: Keyturn): Promise<void> {
  const access = await accessOf(kt);
  const now = kt.clock.now();
  const active = (await access.tokens()).filter((t) => t.policies.includes('admin') && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now));
  if (active.length > 0) {
    app.io.stderr.write(`--init-token: not created, an admin token is active (${active.map((t) => t.id).join(', ')}); create more with keyturn token create --policy admin\n`);
    return;
  }
  const { token, info } = await access.createToken({ policies: ['admin'], subject: 'root', description: 'keyturn server --init-token' });
  app.io.stdout.write(`${opts.json ? JSON.stringify({ token, id: info.id, subject: info.subject, policies: info.policies }) : token}\n`);
}
