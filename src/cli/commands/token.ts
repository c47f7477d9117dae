/** `keyturn token create --policy NAME`, `token ls`, `token revoke ID`: API tokens, shown once, stored only as hashes. */
import type { Command } from 'commander';
import type { TokenInfo } from '../../access/access-repo.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, emitData, isoTime, table } from '../io.js';
import { durationOption } from '../options.js';
import { accessOf } from './access-view.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerToken(program: Command, app: CliApp): void {
  const token = program
    .command('token')
    .description('Create, list and revoke API tokens')
    .addHelpText(
      'after',
      `
A token is kt_ and 256 random bits. It is printed once, when created; the state database keeps
only its SHA-256, so a lost token cannot be shown again: revoke it and create another. A token
grants what its path policies grant (keyturn policy ls); the built-in policy admin grants all.

Examples:
  keyturn token create --policy admin --description "first admin"
  keyturn token create --policy app-read --ttl 24h --json | jq -r .token
  keyturn token ls
  keyturn token revoke tok_3f9a0c1d2e4b5a6c`,
    );

  common(token.command('create'))
    .description('Create a token bound to path policies; prints it once')
    .requiredOption('--policy <name>', 'a policy it carries (repeat for several)', collect)
    .option('--ttl <duration>', 'how long it is valid: 90s, 20m, 24h, 30d (default: until revoked)', durationOption('--ttl'))
    .option('--description <text>', 'what it is for (at most 256 characters; never put a secret here)')
    .option('--subject <name>', 'who it stands for (alice, ci:deploy): tokens of one subject are one identity where two distinct ones are required')
    .addHelpText(
      'after',
      `
Only the token goes to stdout (with --json: {"token": ..., "id": ..., ...}); keep it in a secret
store or a file only its user reads.

Examples:
  keyturn token create --policy admin
  keyturn token create --policy app-read --policy audit-read --ttl 30d --description ci
  keyturn token create --policy ops --subject alice
  TOKEN="$(keyturn token create --policy app-read --ttl 1h -q)"`,
    )
    .action(async (opts: CommonOptions & { policy: string[]; ttl?: number; description?: string; subject?: string }) => {
      const created = await app.withKeyturn(opts, async (kt) =>
        (await accessOf(kt)).createToken({
          policies: opts.policy,
          ...(opts.ttl === undefined ? {} : { ttlMs: opts.ttl }),
          ...(opts.description === undefined ? {} : { description: opts.description }),
          ...(opts.subject === undefined ? {} : { subject: opts.subject }),
        }),
      );
      emitData(app.io, !!opts.json, { token: created.token, ...tokenJson(created.info) }, () => created.token);
    });

  common(token.command('ls'))
    .description('List tokens (ids, policies, expiry, last use; never the tokens)')
    .addHelpText(
      'after',
      `
Examples:
  keyturn token ls
  keyturn token ls --json | jq -r '.[] | select(.revokedAt == null) | .id'`,
    )
    .action(async (opts: CommonOptions) => {
      const list = await app.withKeyturn(opts, async (kt) => (await accessOf(kt)).tokens());
      emit(app.io, !!opts.json, list.map(tokenJson), () =>
        list.length === 0
          ? 'No tokens. Create one with: keyturn token create --policy NAME'
          : table(
              ['ID', 'SUBJECT', 'POLICIES', 'STATE', 'EXPIRES', 'LAST USED', 'DESCRIPTION'],
              list.map((t) => [
                t.id,
                t.subject,
                t.policies.join(','),
                t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'active',
                isoTime(t.expiresAt),
                isoTime(t.lastUsedAt),
                t.description,
              ]),
            ),
      );
    });

  common(token.command('revoke <id>'))
    .description('Revoke a token at once (running it again changes nothing)')
    .addHelpText(
      'after',
      `
Examples:
  keyturn token revoke tok_3f9a0c1d2e4b5a6c`,
    )
    .action(async (id: string, opts: CommonOptions) => {
      const info = await app.withKeyturn(opts, async (kt) => (await accessOf(kt)).revokeToken(id));
      emit(app.io, !!opts.json, tokenJson(info), () => `Token ${info.id} revoked (${isoTime(info.revokedAt)}).`);
    });
}

function tokenJson(t: TokenInfo): Record<string, unknown> {
  return {
    id: t.id,
    subject: t.subject,
    policies: t.policies,
    description: t.description,
    createdAt: isoTime(t.createdAt),
    expiresAt: t.expiresAt === null ? null : isoTime(t.expiresAt),
    revokedAt: t.revokedAt === null ? null : isoTime(t.revokedAt),
    lastUsedAt: t.lastUsedAt === null ? null : isoTime(t.lastUsedAt),
  };
}
