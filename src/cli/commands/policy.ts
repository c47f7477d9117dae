/** `keyturn policy put NAME -f FILE`, `policy ls`, `policy show NAME`, `policy rm NAME`: path policies for tokens (access control, not rotation). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Policy } from '../../access/policy.js';
import { KeyturnError } from '../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, readAll, table, workingDir } from '../io.js';
import { accessOf } from './access-view.js';

/** Larger than any sensible policy; refused before parsing. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

export function registerPolicy(program: Command, app: CliApp): void {
  const policy = program
    .command('policy')
    .description('Store, list and show path policies (what tokens may do)')
    .addHelpText(
      'after',
      `
A path policy is a YAML document of rules: a path glob and the capabilities it grants (read, list,
write, rotate, delete, admin, audit, approve), or deny; breakGlass: true on a rule gates its reads. Access is denied by default; a deny on a matching
rule wins over every grant. Globs: * within a segment (prod/db/*), ** for whole segments
(prod/** is everything under prod/). The built-in policy admin grants everything. Rotation
policies are something else: they live in keyturn.yaml (keyturn apply). See docs/access.md.

  description: the app team reads its secrets
  rules:
    - path: prod/app/*
      capabilities: [read, list]
    - path: prod/app/root
      capabilities: [deny]

Examples:
  keyturn policy put app-read -f app-read.yaml
  keyturn policy ls
  keyturn policy show app-read --json
  keyturn policy rm app-read`,
    );

  common(policy.command('put <name>'))
    .description('Store or replace a policy from a YAML file (checked first: nothing is stored if it is not valid)')
    .requiredOption('-f, --file <file>', 'the policy document, or - for stdin')
    .addHelpText(
      'after',
      `
Examples:
  keyturn policy put app-read -f app-read.yaml
  printf 'rules:\\n  - path: "prod/**"\\n    capabilities: [read, list]\\n' | keyturn policy put prod-read -f -`,
    )
    .action(async (name: string, opts: CommonOptions & { file: string }) => {
      const document = await readDocument(app, opts.file);
      const stored = await app.withKeyturn(opts, async (kt) => (await accessOf(kt)).putPolicy(name, document));
      emit(app.io, !!opts.json, policyJson(stored), () => `Policy ${stored.name} stored (${stored.rules.length} rule${stored.rules.length === 1 ? '' : 's'}).`);
    });

  common(policy.command('ls'))
    .description('List policies: name, rules, description')
    .addHelpText(
      'after',
      `
Examples:
  keyturn policy ls
  keyturn policy ls --json | jq -r '.[].name'`,
    )
    .action(async (opts: CommonOptions) => {
      const list = await app.withKeyturn(opts, async (kt) => (await accessOf(kt)).policies());
      emit(app.io, !!opts.json, list, () =>
        table(
          ['NAME', 'RULES', 'DESCRIPTION'],
          list.map((p) => [p.name + (p.builtIn ? ' (built in)' : ''), p.rules, p.description]),
        ),
      );
    });

  common(policy.command('rm <name>'))
    .description('Delete a policy; tokens keep its name, which then grants nothing (recorded in the audit log)')
    .addHelpText(
      'after',
      `
Examples:
  keyturn policy rm app-read`,
    )
    .action(async (name: string, opts: CommonOptions) => {
      await app.withKeyturn(opts, async (kt) => (await accessOf(kt)).deletePolicy(name));
      emit(app.io, !!opts.json, { name, deleted: true }, () => `Policy ${name} deleted; tokens that carry it no longer get anything from it.`);
    });

  common(policy.command('show <name>'))
    .description('Show a policy: its rules, and the document as stored')
    .addHelpText(
      'after',
      `
Examples:
  keyturn policy show app-read
  keyturn policy show admin --json`,
    )
    .action(async (name: string, opts: CommonOptions) => {
      const p = await app.withKeyturn(opts, async (kt) => (await accessOf(kt)).policy(name));
      emit(app.io, !!opts.json, { ...policyJson(p), document: p.document }, () =>
        [
          `Policy ${p.name}${p.description ? `: ${p.description}` : ''}`,
          table(
            ['PATH', 'CAPABILITIES', 'BREAK-GLASS'],
            p.rules.map((r) => [r.path, r.deny ? 'deny' : [...r.grants].join(', '), r.breakGlass === null ? null : `yes (at most ${r.breakGlass.maxTtlMs / 60_000}m)`]),
          ),
        ].join('\n'),
      );
    });
}

function policyJson(p: Pick<Policy, 'name' | 'description' | 'rules'>): Record<string, unknown> {
  return {
    name: p.name,
    description: p.description,
    rules: p.rules.map((r) => ({ path: r.path, capabilities: r.deny ? ['deny'] : [...r.grants], ...(r.breakGlass === null ? {} : { breakGlass: { maxTtlSeconds: r.breakGlass.maxTtlMs / 1000 } }) })),
  };
}

async function readDocument(app: CliApp, file: string): Promise<string> {
  const text = file === '-' ? await readAll(app.io.stdin) : readFileOrThrow(resolve(workingDir(app.io), file), file);
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) throw new KeyturnError('KT_ACCESS_POLICY_INVALID', `the policy document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
  return text;
}

function readFileOrThrow(path: string, given: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_USAGE', `cannot read the policy file ${given}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}
