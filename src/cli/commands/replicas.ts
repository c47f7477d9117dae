/**
 * `keyturn replicas status [--json]` and `keyturn replicas sync [--json]`: how far behind each
 * replica store is, per secret, and catching them up now (docs/replicas.md). Both work on the
 * local home (the state database holds the replicas' status).
 *
 * @example
 * ```sh
 * keyturn replicas status
 * keyturn replicas status --json | jq '.replicas[] | select(.lagSeconds > 300)'
 * keyturn replicas sync
 * ```
 */
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { common, EXIT_FAILURE, type CliApp, type CommonOptions } from '../app.js';
import { emit } from '../io.js';
import type { ReplicaRow } from '../../replicas/repo.js';

/** One replica of one secret, as printed. */
export interface ReplicaView {
  path: string;
  replica: string;
  /** The primary's current version number, which the replica should hold. */
  wants: number;
  /** The version number the replica holds (null: none yet). */
  holds: number | null;
  inSync: boolean;
  /** When it got the version it holds (ISO), or null. */
  syncedAt: string | null;
  lagSeconds: number;
  attempts: number;
  error: { code: string; message: string } | null;
  nextAttemptAt: string | null;
}

function view(row: ReplicaRow, now: number, lag: (r: ReplicaRow, now: number) => number): ReplicaView {
  const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
  const inSync = row.version_id === row.wanted_version_id;
  return {
    path: row.path,
    replica: row.replica,
    wants: row.wanted_number,
    holds: row.version_number,
    inSync,
    syncedAt: iso(row.synced_at),
    lagSeconds: lag(row, now),
    attempts: row.attempts,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    nextAttemptAt: inSync ? null : iso(row.next_attempt_at),
  };
}

function table(rows: readonly ReplicaView[]): string {
  if (rows.length === 0) return "No secret has replicas (name stores under stores: and list them in a secret's replicas:).";
  const lines = rows.map((r) =>
    [r.path, r.replica, `v${r.wants}`, r.holds === null ? '-' : `v${r.holds}`, r.inSync ? 'in sync' : `behind ${r.lagSeconds}s`, r.error ? `${r.error.code} (attempt ${r.attempts})` : ''].join('\t'),
  );
  return ['PATH\tREPLICA\tWANTS\tHOLDS\tSTATE\tLAST ERROR', ...lines].join('\n');
}

export function registerReplicas(program: Command, app: CliApp): void {
  const replicas = program
    .command('replicas')
    .description('Replica stores: how far behind each one is, and catching them up')
    .addHelpText(
      'after',
      `
A secret's replicas: (stores named under stores: in keyturn.yaml) get each new current value in
the propagate step; one that fails stays behind and is retried by keyturn server and keyturn
worker until it catches up (docs/replicas.md).

Examples:
  keyturn replicas status
  keyturn replicas sync`,
    );
  common(replicas.command('status'))
    .description('Per secret and replica: the version it should hold, the one it holds, its lag in seconds and its last error')
    .addHelpText(
      'after',
      `
A replica holds a secret's current value in another store (stores: and a secret's replicas: in
keyturn.yaml). Its lag is 0 while it holds the primary's current version, else the seconds since
that version became current. The status is read from the state database after noting each
replicated secret's current version (no value is read). keyturn server and keyturn worker retry
a replica behind by themselves; keyturn replicas sync retries them now.

Examples:
  keyturn replicas status
  keyturn replicas status --json`,
    )
    .action(async (opts: CommonOptions) => {
      if (await app.isRemote(opts))
        throw new KeyturnError('KT_REMOTE_UNSUPPORTED', 'replicas status works on a local home: run it where the state database is (or read keyturn_replica_lag_seconds from /metrics)');
      const rows = await app.withKeyturn(opts, async (kt) => {
        const sync = await kt.replicasFor(await app.auditContext());
        await sync.note();
        const { lagSeconds } = await import('../../replicas/repo.js');
        const now = kt.clock.now();
        return (await sync.repo.all()).map((r) => view(r, now, lagSeconds));
      });
      emit(app.io, !!opts.json, { replicas: rows }, () => table(rows));
    });
  common(replicas.command('sync'))
    .description('Copy the current value now to every replica that is behind (back-off or not); exit 1 when one still fails')
    .addHelpText(
      'after',
      `
Examples:
  keyturn replicas sync
  keyturn replicas sync --json`,
    )
    .action(async (opts: CommonOptions) => {
      if (await app.isRemote(opts)) throw new KeyturnError('KT_REMOTE_UNSUPPORTED', 'replicas sync works on a local home: run it where the state database is');
      const report = await app.withKeyturn(opts, async (kt) => (await kt.replicasFor(await app.auditContext())).catchUp({ all: true }));
      emit(
        app.io,
        !!opts.json,
        report,
        () => `${report.checked} replicated secret${report.checked === 1 ? '' : 's'}: ${report.copied} cop${report.copied === 1 ? 'y' : 'ies'} made, ${report.failed} failed`,
      );
      if (report.failed > 0) app.exitCode = EXIT_FAILURE;
    });
}
