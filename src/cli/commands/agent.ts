/**
 * `keyturn agent -c agent.yaml [--once]`: renders secrets from a keyturn server into files
 * (src/agent/, docs/agent.md). `--once` renders every template, runs the commands of real
 * changes, prints one line per template (or `--json`) and exits 0, or exits with the KT_ code of
 * the first failure. Without it the agent follows the change stream until SIGTERM or SIGINT,
 * then exits 0. A bad agent.yaml is KT_AGENT_CONFIG_INVALID (exit 2) before anything is written.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, table, workingDir } from '../io.js';

interface AgentOptions extends CommonOptions {
  config: string;
  once?: boolean;
}

export function registerAgent(program: Command, app: CliApp): void {
  common(program.command('agent'))
    .description('Render secrets from a keyturn server into files; re-render and run a command on each real change')
    .requiredOption('-c, --config <file>', 'the agent configuration (agent.yaml)')
    .option('--once', 'render every template, run the commands of real changes, and exit (init containers, cron)')
    .addHelpText(
      'after',
      `
agent.yaml (relative paths are resolved against its folder; commands run in it):
  servers: ["https://keyturn.example.com:8787"]   # tried in turn; http:// only to loopback
  tokenFile: ./agent.token                         # read again whenever it changes
  cacheTtl: 5m                                     # how long the cache serves with no server
  health: 127.0.0.1:8788                           # GET -> 200 {"status":"ok"} or 503 (stale)
  listen: unix:./agent.sock                        # GET /v1/secret/PATH (socket mode 0600)
  cache: { dir: ./.keyturn-agent }                 # encrypted cache and its key (the default)
  templates:
    - secret: app/db
      destination: ./out/db.env                    # written atomically, mode 0600 by default
      template: "DB_USER={{username}}\\nDB_PASSWORD={{password}}\\n"
      command: ["/usr/bin/systemctl", "reload", "app"]   # only on a real change of the file
      timeout: 30s

Without --once it follows the change stream (GET /v1/events), reconnects with backoff and
full jitter to the next server when it breaks, and renders everything again on each
reconnection. While no server answers it renders and answers from its encrypted cache for
at most cacheTtl, then fails closed (health and the local read API answer 503; the files
stay as they are). SIGTERM or SIGINT: stops, exit 0. See docs/agent.md.

Examples:
  keyturn agent -c /etc/keyturn/agent.yaml
  keyturn agent -c agent.yaml --once --json`,
    )
    .action(async (opts: AgentOptions) => {
      // Loaded in the action only: `keyturn --help` stays light.
      const [{ loadAgentConfig }, { createLogger }] = await Promise.all([import('../../agent/config.js'), import('../../core/logger.js')]);
      const config = loadAgentConfig(resolve(workingDir(app.io), opts.config));
      const [{ runAgent }] = await Promise.all([import('../../agent/run.js')]);
      const log = createLogger(app.io.env.KEYTURN_LOG_LEVEL ?? (opts.once ? 'warn' : 'info'), app.io.stderr);
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      if (!opts.once) {
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      }
      try {
        const results = await runAgent(config, {
          once: opts.once === true,
          log,
          signal: stop.signal,
          env: app.io.env,
          onHealth: (address) => log.info({ health: address }, 'agent: health endpoint listening'),
          onListen: (address) => log.info({ listen: address }, 'agent: local read API listening'),
        });
        if (!opts.once) return;
        const failed = results.filter((r) => r.error !== null);
        const rows = results.map((r) => ({
          secret: r.secret,
          destination: r.destination,
          version: r.version,
          changed: r.changed,
          error: r.error === null ? null : { code: r.error.code, message: r.error.message },
        }));
        if (failed.length > 0) {
          const first = failed[0]!.error!;
          throw new KeyturnError(first.code, `${failed.length} of ${results.length} templates failed; first: ${first.message}`, { details: { templates: rows } });
        }
        emit(app.io, opts.json === true, { templates: rows }, () =>
          table(
            ['SECRET', 'VERSION', 'FILE', 'CHANGED'],
            rows.map((r) => [r.secret, r.version, r.destination, r.changed ? 'yes' : 'no']),
          ),
        );
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
