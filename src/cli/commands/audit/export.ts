/**
 * `keyturn audit export`: events, checkpoints and the proof material, in one file anyone can verify
 * offline. Through a server (KEYTURN_ADDR) the server writes it (`GET /v1/audit/export`, a token
 * with audit on **) and this command saves it.
 */
import type { Command } from 'commander';
import type { AuditExportRange } from '../../../client/client.js';
import { KeyturnError } from '../../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';
import { numberOption, timeOption } from '../../options.js';
import { readFileArg } from './format.js';

interface ExportOptions extends CommonOptions {
  hours?: number;
  /** Milliseconds since 1970. */
  since?: number;
  fromCheckpoint?: string;
  all?: boolean;
  output: string;
}

export function registerExport(audit: Command, app: CliApp): void {
  common(audit.command('export'))
    .description('Write audit events with their checkpoints and proof material to one file (JSON Lines), for offline verification')
    .option('--hours <n>', 'the events of the last N hours (a fraction is fine: 0.5)', numberOption('--hours', { min: 0 }))
    .option('--since <time>', 'the events since an RFC 3339 time, e.g. 2025-01-02T00:00:00Z', timeOption('--since'))
    .option('--from-checkpoint <file>', 'the events after a checkpoint you trust, so verify --trusted can check the log extends it')
    .option('--all', 'the whole log')
    .requiredOption('--output <file>', 'where to write the export (mode 0600)')
    .addHelpText(
      'after',
      `
The file: a header line (origin, verifier key, first seq, and the Merkle compact range of the
events before it), one line per event with its exact leaf text, then every checkpoint covering
them (one is signed now if the log grew since the last). docs/audit.md describes the format.

Examples:
  keyturn audit export --hours 24 --output audit-today.jsonl
  keyturn audit verify --file audit-today.jsonl --pubkey "$(keyturn audit pubkey)"
  keyturn audit export --since 2025-01-02T00:00:00Z --output audit-since.jsonl
  keyturn audit export --from-checkpoint last.checkpoint --output audit-new.jsonl`,
    )
    .action(async (opts: ExportOptions) => {
      const chosen = [opts.hours, opts.since, opts.fromCheckpoint, opts.all ? true : undefined].filter((v) => v !== undefined).length;
      if (chosen !== 1) throw new KeyturnError('KT_USAGE', 'give exactly one of --hours N, --since TIME, --from-checkpoint FILE or --all');
      const { readCheckpointUnverified } = await import('../../../audit/checkpoint.js');
      const range: AuditExportRange =
        opts.fromCheckpoint !== undefined
          ? { from: readCheckpointUnverified(readFileArg(opts.fromCheckpoint, 'the checkpoint')).size }
          : opts.since !== undefined
            ? { since: opts.since }
            : opts.hours !== undefined
              ? { hours: opts.hours }
              : { all: true };
      const summary = await app.withClient(opts, (client) => client.audit.export(range, opts.output));
      emit(
        app.io,
        !!opts.json,
        summary,
        () => `Exported ${summary.events} events (from #${summary.first}) and ${summary.checkpoints} checkpoints to ${summary.file}; covered by the checkpoint at size ${summary.checkpointSize}.`,
      );
    });
}
