/**
 * `keyturn cert watch HOST:PORT ...`: warns before the certificates that endpoints serve expire,
 * whoever issued them. Each endpoint gets one TLS handshake (src/certs/probe.ts) that goes on
 * whatever the certificate is; the command prints its names, issuer, serial, dates, days left,
 * fingerprint, whether it is trusted and for the name, and a status (ok, warning, critical,
 * expired, error), as a table or `--json`. Exit 0 when all is fine, 1 when any certificate needs
 * attention, 4 when an endpoint could not be checked. Only this file loads with `--help`: the
 * TLS code is imported when the command runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { formatDuration } from '../../core/duration.js';
import { KeyturnError } from '../../core/errors.js';
import { common, EXIT_FAILURE, EXIT_UNREACHABLE, type CliApp, type CommonOptions } from '../app.js';
import { emit, table, workingDir } from '../io.js';
import { durationOption } from '../options.js';
import type { WatchResult } from '../../certs/watch.js';

interface WatchCliOptions extends CommonOptions {
  warn: number;
  critical: number;
  timeout: number;
  servername?: string;
  caFile?: string;
}

const DAY = 86_400_000;

/** A duration of at most `maxMs` (a day count for --warn, a limit on waiting for --timeout). */
function boundedDuration(name: string, maxMs: number): (value: string) => number {
  const parse = durationOption(name);
  return (value) => {
    const ms = parse(value);
    if (ms > maxMs) throw new InvalidArgumentError(`${name} takes a duration up to ${formatDuration(maxMs)}.`);
    return ms;
  };
}

function yesNo(r: WatchResult): string {
  if (r.trusted === null) return '-';
  return r.trusted ? 'yes' : `no (${r.trustError ?? 'unknown'})`;
}

function render(results: readonly WatchResult[]): string {
  const rows = results.map((r) => [
    r.endpoint,
    r.status,
    r.daysLeft,
    r.certificate?.notAfter,
    r.certificate?.subjectCN,
    yesNo(r),
    r.nameMatches === null ? '-' : r.nameMatches ? 'yes' : `no (${r.name})`,
    r.error ? `${r.error.code}: ${r.error.message}` : '',
  ]);
  const blocks = results
    .filter((r) => r.certificate)
    .map((r) => {
      const c = r.certificate!;
      return [
        `${r.endpoint} (${r.servername ?? 'no SNI'}, ${r.protocol ?? 'TLS'})`,
        `  subject       ${c.subject || '-'}`,
        `  names         ${c.subjectAltNames.join(', ') || '-'}`,
        `  issuer        ${c.issuer || '-'}`,
        `  serial        ${c.serialNumber}`,
        `  not before    ${c.notBefore}`,
        `  not after     ${c.notAfter} (${r.status === 'expired' ? 'expired' : `${r.daysLeft} days left`})`,
        `  sha-256       ${c.fingerprint256}`,
        ...r.problems.map((p) => `  ! ${p}`),
      ].join('\n');
    });
  // A blank line after the table and between the blocks.
  return [table(['ENDPOINT', 'STATUS', 'DAYS LEFT', 'NOT AFTER', 'SUBJECT CN', 'TRUSTED', 'NAME OK', 'ERROR'], rows), ...blocks.map((b) => `${b}\n`)].join('\n');
}

export function registerCert(program: Command, app: CliApp): void {
  const cert = program
    .command('cert')
    .description('TLS certificates: watch the ones endpoints serve and warn before they expire')
    .addHelpText(
      'after',
      `
watch checks any endpoint's certificate, whoever issued it; keyturn ca is Keyturn's internal CA.

Examples:
  keyturn cert watch example.com:443 db.internal:5433
  keyturn cert watch 10.0.0.5:8443 --servername api.internal --ca-file internal-ca.pem`,
    );
  common(cert.command('watch'))
    .argument('<endpoint...>', 'HOST:PORT of a TLS endpoint ([::1]:443 for an IPv6 address)')
    .description('Check the certificates endpoints serve: days left, trust and name; exit 1 when any needs attention')
    .option('--warn <duration>', 'status warning when the certificate ends within this time', boundedDuration('--warn', 3650 * DAY), 30 * DAY)
    .option('--critical <duration>', 'status critical when it ends within this time (not longer than --warn)', boundedDuration('--critical', 3650 * DAY), 7 * DAY)
    .option('--servername <name>', 'the name to send (SNI) and check the certificate for (default: the host, when it is a name)')
    .option('--ca-file <file>', 'PEM file of the CA certificates to trust instead of the system ones')
    .option('--timeout <duration>', 'limit on connecting and the TLS handshake, per endpoint', boundedDuration('--timeout', 600_000), 10_000)
    .addHelpText(
      'after',
      `
Durations are a whole number and s, m, h or d: --warn 30d (the default), --critical 7d (the default),
--timeout 10s (the default). The handshake goes on whatever the certificate is, so an expired,
untrusted or misnamed certificate is reported, not refused. Up to 8 endpoints are checked at once.

Status, from the leaf certificate's notAfter: ok; warning (within --warn); critical (within
--critical); expired; error (no connection or no TLS handshake: KT_ENDPOINT_UNREACHABLE or
KT_TLS_HANDSHAKE_FAILED). Trusted: the chain verifies against the system CAs, or only those of
--ca-file when given (else no, with OpenSSL's reason). Name ok: the certificate is for
--servername, else for the host (tls.checkServerIdentity).

Exit status: 0 when every certificate is ok, trusted and for its name; 1 when any is not
(warning, critical, expired, untrusted or for another name: this wins); 4 when an endpoint
could not be checked and every certificate read is fine; 2 for a usage error.

Examples:
  keyturn cert watch example.com:443 mail.example.com:993
  keyturn cert watch 127.0.0.1:8443 --servername api.internal --ca-file /etc/keyturn/ca.pem
  keyturn cert watch example.com:443 --warn 21d --critical 3d --timeout 5s
  keyturn cert watch example.com:443 --json | jq -r '.[] | select(.status != "ok") | .endpoint'`,
    )
    .action(async (texts: string[], opts: WatchCliOptions) => {
      if (opts.critical > opts.warn) {
        throw new KeyturnError('KT_USAGE', `--critical (${formatDuration(opts.critical)}) is longer than --warn (${formatDuration(opts.warn)}): give a --critical that is not`);
      }
      const { parseEndpoint } = await import('../../certs/endpoint.js');
      const endpoints = texts.map(parseEndpoint);
      const ca = opts.caFile === undefined ? undefined : await (await import('../../certs/ca-file.js')).readCaFile(opts.caFile, workingDir(app.io));
      const { watchEndpoints, watchOutcome } = await import('../../certs/watch.js');
      const results = await watchEndpoints(endpoints, {
        warnMs: opts.warn,
        criticalMs: opts.critical,
        timeoutMs: opts.timeout,
        now: Date.now,
        ...(opts.servername === undefined ? {} : { servername: opts.servername }),
        ...(ca === undefined ? {} : { ca }),
      });
      emit(app.io, !!opts.json, results, () => render(results));
      const outcome = watchOutcome(results);
      if (outcome === 'attention') app.exitCode = EXIT_FAILURE;
      else if (outcome === 'unreachable') app.exitCode = EXIT_UNREACHABLE;
    });
}
