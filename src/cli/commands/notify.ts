/**
 * `keyturn notify test [CHANNEL]`: send a test notification to each applied webhook channel (or
 * one) now and show the answer; `keyturn notify ls`: the channels and the latest notifications
 * with their delivery status; `keyturn notify deliver`: one pass of queuing and sending, for a
 * home without `keyturn server` (cron). Local home only (docs/notifications.md).
 */
import type { Command } from 'commander';
import { common, EXIT_FAILURE, type CliApp, type CommonOptions } from '../app.js';
import { emit, isoTime, table } from '../io.js';
import { intOption } from '../options.js';
import { KeyturnError } from '../../core/errors.js';

async function localOnly(app: CliApp, opts: CommonOptions, command: string): Promise<void> {
  if (await app.isRemote(opts)) {
    throw new KeyturnError('KT_REMOTE_UNSUPPORTED', `notify ${command} works on a local home (the server's host), not through a server: it reads the applied channels and their references there`);
  }
}

export function registerNotify(program: Command, app: CliApp): void {
  const notify = program
    .command('notify')
    .description('Webhook notifications: test a channel, list channels and deliveries')
    .addHelpText(
      'after',
      `
Channels are declared under notifications.channels in keyturn.yaml and applied with keyturn apply.
keyturn server queues a notification for every failed rotation (and, per channel, successes,
expiry warnings and escalations) from the audit log, and delivers it with retries; each request is
signed (Keyturn-Signature) when the channel has a signing secret. See docs/notifications.md.

Examples:
  keyturn notify test
  keyturn notify test ops --json
  keyturn notify ls`,
    );

  common(notify.command('test [channel]'))
    .description('Send a test notification to every channel (or one) now; exit 1 when any is not delivered')
    .addHelpText(
      'after',
      `
One try per channel, straight to it (no outbox, no retry). References in the channel resolve in
this process: an \${env:VAR} must be set in this shell.

Examples:
  keyturn notify test
  keyturn notify test ops
  keyturn notify test --json | jq '.[] | {channel, status, error}'`,
    )
    .action(async (channel: string | undefined, opts: CommonOptions) => {
      await localOnly(app, opts, 'test');
      const { testChannels } = await import('../../notify/test-send.js');
      const results = await app.withKeyturn(opts, (kt) => testChannels(kt, channel));
      emit(app.io, !!opts.json, results, () =>
        table(
          ['CHANNEL', 'FORMAT', 'URL', 'RESULT', 'STATUS', 'MS', 'ERROR'],
          results.map((r) => [r.channel, r.format, r.url, r.ok ? 'delivered' : 'failed', r.status, r.ms, r.error ? `${r.error.code}: ${r.error.message}` : null]),
        ),
      );
      if (results.some((r) => !r.ok)) app.exitCode = EXIT_FAILURE;
    });

  common(notify.command('ls'))
    .description('List the applied channels and the latest notifications with their delivery status')
    .option('--limit <n>', 'how many notifications, 0 to 1000', intOption('--limit', { min: 0, max: 1000 }), 20)
    .addHelpText(
      'after',
      `
A notification is pending (queued, or waiting for its next try), delivered, failed (tries used up,
or an answer not worth retrying) or dropped (its channel was removed). Delivered and failed ones
are kept 30 days.

Examples:
  keyturn notify ls
  keyturn notify ls --json | jq '.deliveries[] | select(.status == "failed")'`,
    )
    .action(async (opts: CommonOptions & { limit: number }) => {
      await localOnly(app, opts, 'ls');
      const { notifyListing } = await import('../../notify/listing.js');
      const listing = await app.withKeyturn(opts, (kt) => notifyListing(kt.state, opts.limit));
      emit(app.io, !!opts.json, listing, () => {
        if (listing.channels.length === 0 && listing.deliveries.length === 0) return 'No notification channels are applied (notifications.channels in keyturn.yaml).';
        const channels = table(
          ['CHANNEL', 'FORMAT', 'URL', 'SIGNED', 'EVENTS', 'PATHS', 'PENDING'],
          listing.channels.map((c) => [c.name, c.format, c.url, c.signed ? 'yes' : 'no', c.events.join(','), c.paths?.join(',') ?? 'all', c.pending]),
        );
        const deliveries =
          listing.deliveries.length === 0
            ? 'No notifications yet.'
            : table(
                ['DELIVERY', 'CHANNEL', 'EVENT', 'SECRET', 'STATUS', 'TRIES', 'LAST', 'CREATED'],
                listing.deliveries.map((d) => [d.id, d.channel, d.event, d.path, d.status, d.attempts, d.lastError ?? (d.lastStatus === null ? null : `HTTP ${d.lastStatus}`), isoTime(d.createdAt)]),
              );
        return `${channels}\n${deliveries}`;
      });
    });

  common(notify.command('deliver'))
    .description('Queue and send the due notifications once (for a home without keyturn server: run it from cron)')
    .addHelpText(
      'after',
      `
keyturn server does this every KEYTURN_NOTIFY_INTERVAL_MS; run this only where no server runs.
A retry waits for its backoff: a notification not due yet is sent by a later run.

Examples:
  keyturn notify deliver
  keyturn notify deliver --json | jq .sent`,
    )
    .action(async (opts: CommonOptions) => {
      await localOnly(app, opts, 'deliver');
      const { notifyPass } = await import('../../notify/pass.js');
      const report = await app.withKeyturn(opts, (kt) => notifyPass(kt));
      emit(app.io, !!opts.json, report, () => {
        const q = report.queued;
        const s = report.sent;
        return `Queued ${q.events} for rotation outcomes, ${q.escalations} escalations, ${q.expiryWarnings} expiry warnings; sent: ${s.delivered} delivered, ${s.retrying} to retry, ${s.failed} failed, ${s.dropped} dropped.`;
      });
    });
}
