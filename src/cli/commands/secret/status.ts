/**
 * `keyturn secret events | status | deprecate | revoke | activate PATH`: a secret's lifecycle
 * events (from the audit log), its status, and the marks that make its value refused to readers
 * (docs/compliance.md).
 *
 * @example
 * ```sh
 * keyturn secret events prod/api/token --limit 20
 * keyturn secret revoke prod/api/token
 * ```
 */
import type { Command } from 'commander';
import type { MarkedStatus, StatusView } from '../../../lifecycle/status.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit, table } from '../../io.js';
import { intOption } from '../../options.js';

function statusText(s: StatusView): string {
  const lines = [`${s.path}: ${s.status}${s.since ? ` since ${s.since}` : ''}${s.by ? ` (by ${s.by})` : ''}`];
  if (s.expiresAt) lines.push(`the current value ${s.status === 'expired' ? 'expired' : 'expires'} at ${s.expiresAt} (maxAge)`);
  return lines.join('\n');
}

export function registerStatus(secret: Command, app: CliApp): void {
  common(secret.command('events <path>'))
    .description("List a secret's lifecycle events: created, activated, rotated, deprecated, expired, revoked, deleted, restored, purged")
    .option('--limit <n>', 'the latest N events (default 100)', intOption('--limit', { min: 1, max: 10_000 }))
    .addHelpText(
      'after',
      `
The events come from the audit log (AUDIT names the event: its seq and id, for keyturn audit
prove). Through a server (KEYTURN_ADDR) the token needs list on the path.

Examples:
  keyturn secret events prod/api/token
  keyturn secret events prod/api/token --json | jq -r '.[] | select(.kind == "rotated") | .runId'`,
    )
    .action(async (path: string, opts: CommonOptions & { limit?: number }) => {
      const events = await app.withClient(opts, (client) => client.secrets.events(path, { limit: opts.limit ?? 100 }));
      emit(app.io, !!opts.json, events, () =>
        table(
          ['TIME', 'KIND', 'VERSION', 'ACTOR', 'RUN', 'AUDIT'],
          events.map((e) => [e.time, e.kind, e.version ?? e.versionId, e.actor, e.runId, e.auditSeq === null ? null : `${e.auditSeq} ${e.auditId}`]),
        ),
      );
    });

  common(secret.command('status <path>'))
    .description("Show a secret's lifecycle status: active, deprecated, expired or revoked")
    .addHelpText(
      'after',
      `
A secret that is not active has its value refused to readers (KT_SECRET_INACTIVE) unless they
ask explicitly: keyturn secret get PATH --allow-inactive. See docs/compliance.md.

Examples:
  keyturn secret status prod/api/token
  keyturn secret status prod/api/token --json | jq -r .status`,
    )
    .action(async (path: string, opts: CommonOptions) => {
      const s = await app.withClient(opts, (client) => client.secrets.status(path));
      emit(app.io, !!opts.json, s, () => statusText(s));
    });

  const mark = (name: string, status: MarkedStatus, description: string, more: string) =>
    common(secret.command(`${name} <path>`))
      .description(description)
      .addHelpText('after', `\n${more}\n\nExamples:\n  keyturn secret ${name} prod/api/token\n  keyturn secret ${name} prod/api/token --json`)
      .action(async (path: string, opts: CommonOptions) => {
        const s = await app.withClient(opts, (client) => client.secrets.setStatus(path, status));
        emit(app.io, !!opts.json, s, () => statusText(s));
      });
  mark(
    'deprecate',
    'deprecated',
    'Mark a secret deprecated: its value is refused to readers unless they ask explicitly',
    'Rotation still works. Undo with keyturn secret activate PATH. Through a server the token needs write.',
  );
  mark(
    'revoke',
    'revoked',
    'Mark a secret revoked: its value must no longer be used, and is refused to readers unless they ask explicitly',
    'Rotation still works (the mark stays until keyturn secret activate PATH). Through a server the token needs write.',
  );
  mark(
    'activate',
    'active',
    'Remove a deprecated or revoked mark: the secret is active again (unless expired)',
    'An expired secret becomes active again by rotating it. Through a server the token needs write.',
  );
}
