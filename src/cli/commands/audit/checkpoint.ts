/**
 * `keyturn audit checkpoint`, `audit tick` and `audit deliver`: the latest signed checkpoint (to
 * publish elsewhere; also through a server), the periodic heartbeat/checkpoint duty, and feeding
 * the sinks (both only on a local home: a running server does them itself).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit, table } from '../../io.js';
import { localOnly } from './format.js';

export function registerCheckpoint(audit: Command, app: CliApp): void {
  common(audit.command('checkpoint'))
    .description('Print the latest signed checkpoint (c2sp.org/tlog-checkpoint), signing one if the log grew since the last')
    .option('--output <file>', 'write it to a file instead of printing it')
    .addHelpText(
      'after',
      `
Publish checkpoints somewhere the log's operator cannot rewrite: a later verify --trusted proves the log only grew.

Examples:
  keyturn audit checkpoint --output last.checkpoint
  keyturn audit verify --trusted last.checkpoint`,
    )
    .action(async (opts: CommonOptions & { output?: string }) => {
      const cp = await app.withClient(opts, (client) => client.audit.checkpoint());
      if (opts.output !== undefined) writeFileSync(opts.output, cp.note, { mode: 0o644 });
      emit(app.io, !!opts.json, { size: cp.size, root: cp.root, createdAt: cp.createdAt, note: cp.note }, () =>
        opts.output === undefined ? cp.note : `Checkpoint at size ${cp.size} written to ${opts.output}`,
      );
    });

  common(audit.command('tick'))
    .description('Append a heartbeat event when the log has been quiet (KEYTURN_AUDIT_CHECKPOINT_SECONDS) and sign a checkpoint when one is due')
    .addHelpText(
      'after',
      `
Run it from a timer (cron, systemd) when no Keyturn server runs: a quiet hour then stays provably quiet.

Examples:
  keyturn audit tick
  keyturn audit tick --quiet --home /srv/keyturn      # e.g. from cron, every 5 minutes`,
    )
    .action(async (opts: CommonOptions) => {
      await localOnly(app, opts, 'tick', 'a running server appends its own heartbeats and checkpoints');
      const r = await app.withKeyturn(opts, (kt) => kt.audit.tick());
      emit(app.io, !!opts.json, r, () =>
        r.heartbeat ? `Heartbeat ${r.heartbeat.id} (#${r.heartbeat.seq}), checkpoint at size ${r.checkpoint}` : r.checkpoint !== null ? `Checkpoint at size ${r.checkpoint}` : 'Nothing due',
      );
    });

  common(audit.command('deliver'))
    .description('Feed the configured audit sinks what they are behind by, and show where each one is')
    .addHelpText(
      'after',
      `
Sinks: KEYTURN_AUDIT_JSONL, KEYTURN_AUDIT_HTTP_URL, KEYTURN_AUDIT_SYSLOG, KEYTURN_AUDIT_S3_BUCKET. Each delivery is bounded by KEYTURN_AUDIT_SINK_TIMEOUT_MS.

Examples:
  KEYTURN_AUDIT_JSONL=audit.jsonl keyturn audit deliver
  KEYTURN_AUDIT_SYSLOG=udp://127.0.0.1:514 keyturn audit deliver --json`,
    )
    .action(async (opts: CommonOptions) => {
      await localOnly(app, opts, 'deliver', 'a running server feeds its own audit sinks (every 5 s)');
      const { sinkStatuses } = await import('../../../audit/sinks/cursor.js');
      const { reports, statuses } = await app.withKeyturn(opts, async (kt) => ({ reports: await kt.deliverAudit(), statuses: await sinkStatuses(kt.state.db) }));
      emit(app.io, !!opts.json, { reports, sinks: statuses }, () =>
        reports.length === 0
          ? 'No audit sink is configured.'
          : table(
              ['SINK', 'DELIVERED', 'NEXT SEQ', 'BEHIND', 'ERROR'],
              reports.map((r) => [r.name, r.delivered, r.nextSeq, r.behind, r.error]),
            ),
      );
    });
}
