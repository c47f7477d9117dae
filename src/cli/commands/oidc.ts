/** `keyturn oidc put NAME -f FILE`, `oidc ls`, `oidc show NAME`, `oidc rm NAME`: issuers whose JWTs log in to the API. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { OidcIssuer } from '../../access/oidc-issuer.js';
import type { OidcRepo } from '../../access/oidc-repo.js';
import { KeyturnError } from '../../core/errors.js';
import type { Keyturn } from '../../runtime/keyturn.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, isoTime, readAll, table, workingDir } from '../io.js';
import { accessOf } from './access-view.js';

/** Larger than any sensible issuer document; refused before parsing. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

async function oidcOf(kt: Keyturn): Promise<OidcRepo> {
  const [{ OidcRepo }, { oidcAuditHook }, access] = await Promise.all([import('../../access/oidc-repo.js'), import('../../audit/hooks.js'), accessOf(kt)]);
  return new OidcRepo(kt.state, kt.clock, access, oidcAuditHook(kt.audit, kt.audit.context));
}

export function registerOidc(program: Command, app: CliApp): void {
  const oidc = program
    .command('oidc')
    .description('Store, list, show and remove OIDC issuers (JWT login to the API)')
    .addHelpText(
      'after',
      `
An OIDC issuer lets a workload trade a JWT it already holds (a Kubernetes service-account token,
a CI OIDC token) for a short-lived API token: POST /v1/auth/oidc/login. The document names the
exact iss, the JWKS URL (https; http only on loopback), the audiences accepted, and rules: the
claims that must match (exact values or * globs) and the path policies they grant. A JWT that
matches no rule is refused. See docs/access.md.

  issuer: https://token.actions.githubusercontent.com
  jwksUrl: https://token.actions.githubusercontent.com/.well-known/jwks
  audiences: [keyturn]
  rules:
    - claims: { repository: org/app, ref: refs/heads/main }
      policies: [app-deploy]

Examples:
  keyturn oidc put github -f github.yaml
  keyturn oidc ls
  keyturn oidc show github --json
  keyturn oidc rm github`,
    );

  common(oidc.command('put <name>'))
    .description('Store or replace an issuer from a YAML file (checked first: nothing is stored if it is not valid)')
    .requiredOption('-f, --file <file>', 'the issuer document, or - for stdin')
    .addHelpText(
      'after',
      `
Examples:
  keyturn oidc put k8s-prod -f k8s-prod.yaml
  keyturn oidc put github -f - < github.yaml`,
    )
    .action(async (name: string, opts: CommonOptions & { file: string }) => {
      const document = await readDocument(app, opts.file);
      const stored = await app.withKeyturn(opts, async (kt) => (await oidcOf(kt)).put(name, document));
      emit(app.io, !!opts.json, issuerJson(stored), () => `OIDC issuer ${stored.name} stored (${stored.issuer}, ${stored.rules.length} rule${stored.rules.length === 1 ? '' : 's'}).`);
    });

  common(oidc.command('ls'))
    .description('List issuers: name, iss, audiences, rules')
    .addHelpText(
      'after',
      `
Examples:
  keyturn oidc ls
  keyturn oidc ls --json | jq -r '.[].name'`,
    )
    .action(async (opts: CommonOptions) => {
      const list = await app.withKeyturn(opts, async (kt) => (await oidcOf(kt)).list());
      emit(
        app.io,
        !!opts.json,
        list.map((i) => ({ ...i, updatedAt: isoTime(i.updatedAt) })),
        () =>
          list.length === 0
            ? 'No OIDC issuers. Store one with: keyturn oidc put NAME -f FILE'
            : table(
                ['NAME', 'ISSUER', 'AUDIENCES', 'RULES', 'DESCRIPTION'],
                list.map((i) => [i.name, i.issuer, i.audiences.join(','), i.rules, i.description]),
              ),
      );
    });

  common(oidc.command('show <name>'))
    .description('Show an issuer: its settings and rules, and the document as stored')
    .addHelpText(
      'after',
      `
Examples:
  keyturn oidc show k8s-prod
  keyturn oidc show github --json`,
    )
    .action(async (name: string, opts: CommonOptions) => {
      const i = await app.withKeyturn(opts, async (kt) => (await oidcOf(kt)).get(name));
      emit(app.io, !!opts.json, { ...issuerJson(i), document: i.document }, () =>
        [
          `OIDC issuer ${i.name}${i.description ? `: ${i.description}` : ''}`,
          `  iss:             ${i.issuer}`,
          `  JWKS:            ${i.jwksUrl}`,
          `  audiences:       ${i.audiences.join(', ')}`,
          `  algorithms:      ${i.algorithms.join(', ')}`,
          `  session:         at most ${i.maxSessionTtlMs / 1000} s; clock tolerance ${i.clockToleranceMs / 1000} s`,
          `  subject:         oidc:${i.name}:<${i.subjectClaim}>`,
          table(
            ['CLAIMS', 'POLICIES'],
            i.rules.map((r) => [r.claims.map((c) => `${c.claim}=${c.patterns.join('|')}`).join(' '), r.policies.join(', ')]),
          ),
        ].join('\n'),
      );
    });

  common(oidc.command('rm <name>'))
    .description('Remove an issuer: no more logins through it, and its live sessions are revoked')
    .addHelpText(
      'after',
      `
Examples:
  keyturn oidc rm github`,
    )
    .action(async (name: string, opts: CommonOptions) => {
      const r = await app.withKeyturn(opts, async (kt) => (await oidcOf(kt)).remove(name));
      emit(app.io, !!opts.json, r, () => `OIDC issuer ${r.name} removed; ${r.revokedSessions} live session${r.revokedSessions === 1 ? '' : 's'} revoked.`);
    });
}

function issuerJson(i: OidcIssuer): Record<string, unknown> {
  return {
    name: i.name,
    description: i.description,
    issuer: i.issuer,
    jwksUrl: i.jwksUrl,
    audiences: i.audiences,
    algorithms: i.algorithms,
    maxSessionTtlSeconds: i.maxSessionTtlMs / 1000,
    clockToleranceSeconds: i.clockToleranceMs / 1000,
    subjectClaim: i.subjectClaim,
    rules: i.rules.map((r) => ({ claims: Object.fromEntries(r.claims.map((c) => [c.claim, c.patterns.length === 1 ? c.patterns[0] : c.patterns])), policies: r.policies })),
  };
}

async function readDocument(app: CliApp, file: string): Promise<string> {
  let text: string;
  if (file === '-') text = await readAll(app.io.stdin);
  else {
    try {
      text = readFileSync(resolve(workingDir(app.io), file), 'utf8');
    } catch (e) {
      throw new KeyturnError('KT_USAGE', `cannot read the issuer file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) throw new KeyturnError('KT_OIDC_ISSUER_INVALID', `the issuer document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
  return text;
}
