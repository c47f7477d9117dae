/**
 * `keyturn anomalies ls [--since 24h] [--type TYPE] [--limit N] [--json]`: the access anomalies
 * `keyturn server`'s detectors found (docs/anomalies.md), newest first, on the local home or
 * through the server (KEYTURN_ADDR; the token needs `audit` on `**`).
 */
import { Option, type Command } from 'commander';
import type { AnomalyView } from '../../detect/anomalies-repo.js';
import { ANOMALY_TYPES, type AnomalyType } from '../../detect/detector.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, isoTime, table } from '../io.js';
import { durationOption, intOption } from '../options.js';

interface LsOptions extends CommonOptions {
  since: number;
  type?: AnomalyType;
  limit: number;
}

export function registerAnomalies(program: Command, app: CliApp): void {
  const anomalies = program
    .command('anomalies')
    .description('Access anomalies found by the detectors of keyturn server')
    .addHelpText(
      'after',
      `
keyturn server gives every audit event to its detectors as it is written: unusual time, unusual
source, excessive access, failed-attempt bursts, privilege escalation, concurrent use. Each
anomaly is an audit event (anomaly.<type>), a count in keyturn_anomalies_total, a notification to
the channels that ask for "anomaly", and a rotation when the secret's policy has rotateOnAnomaly.
See docs/anomalies.md.

Examples:
  keyturn anomalies ls
  keyturn anomalies ls --since 7d --type failed-burst --json`,
    );

  common(anomalies.command('ls'))
    .description('List the anomalies found, newest first')
    .option('--since <duration>', 'found within this long (90s, 30m, 24h, 7d)', durationOption('--since'), 86_400_000)
    .addOption(new Option('--type <type>', 'only this type').choices(ANOMALY_TYPES))
    .option('--limit <n>', 'at most this many, 1 to 10000', intOption('--limit', { min: 1, max: 10_000 }), 100)
    .addHelpText(
      'after',
      `
Examples:
  keyturn anomalies ls --since 1h
  keyturn anomalies ls --json | jq '.[] | select(.type == "unusual-source") | .actor'`,
    )
    .action(async (opts: LsOptions) => {
      const settings = await app.settings(opts);
      let found: AnomalyView[];
      if (settings.remote) {
        const [{ connectServer }, { correlationId }] = await Promise.all([import('../../client/http.js'), app.auditContext()]);
        const server = connectServer(settings.remote, correlationId === null ? {} : { correlationId });
        try {
          const q = new URLSearchParams({ since: String(Math.round(opts.since / 1000)), limit: String(opts.limit), ...(opts.type ? { type: opts.type } : {}) });
          found = ((await server.call('GET', `/v1/anomalies?${q.toString()}`)) as { anomalies: AnomalyView[] }).anomalies;
        } finally {
          await server.close();
        }
      } else {
        const { AnomaliesRepo, anomalyView } = await import('../../detect/anomalies-repo.js');
        found = await app.withKeyturn(opts, async (kt) =>
          (await new AnomaliesRepo(kt.state, kt.audit, kt.clock).list({ since: kt.clock.now() - opts.since, limit: opts.limit, ...(opts.type ? { type: opts.type } : {}) })).map(anomalyView),
        );
      }
      emit(app.io, !!opts.json, found, () =>
        found.length === 0
          ? 'No anomalies in that time.'
          : table(
              ['ID', 'TIME', 'TYPE', 'ACTOR', 'SECRET', 'ADDRESS', 'ROTATION', 'REASON'],
              found.map((a) => [a.id, isoTime(Date.parse(a.time)), a.type, a.actor, a.path, a.address, a.rotation, a.reason]),
            ),
      );
    });
}
