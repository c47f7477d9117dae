/**
 * OIDC issuers in the state database, with their audit events (each write and its event commit
 * together): store or replace one from its document (checked first, its policies must exist, its
 * `iss` must not be another issuer's), list, show, find by `iss`, and remove (which also revokes
 * the sessions it gave that are still live).
 *
 * @example
 * ```ts
 * const oidc = new OidcRepo(state, clock, access, oidcAuditHook(audit));
 * await oidc.put('k8s', document);
 * const issuer = await oidc.byIss('https://kubernetes.default.svc'); // OidcIssuer | null
 * ```
 */
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';
import { transact } from '../state/tx.js';
import type { AccessRepo } from './access-repo.js';
import { assertIssuerName, parseIssuer, type OidcIssuer } from './oidc-issuer.js';

/** Where OIDC issuer events go: the audit log's `appendWithin`, so they commit with the write. */
export interface OidcAudit {
  /** `path` is the issuer's name. */
  record(event: { action: 'access.oidc.put' | 'access.oidc.remove'; path: string }, trx: Transaction<Schema>): Promise<void>;
}

export interface IssuerSummary {
  name: string;
  issuer: string;
  description: string | null;
  audiences: readonly string[];
  rules: number;
  updatedAt: number;
}

export class OidcRepo {
  /** Issuers as parsed, by name: parsed again only when the stored document changed. */
  private readonly parsed = new Map<string, { document: string; issuer: OidcIssuer }>();

  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    private readonly access: AccessRepo,
    private readonly audit?: OidcAudit,
  ) {}

  /** Stores (or replaces) an issuer after checking its document and that its policies exist; returns it parsed. */
  async put(name: string, document: string): Promise<OidcIssuer> {
    const issuer = parseIssuer(name, document);
    for (const rule of issuer.rules) for (const policy of rule.policies) await this.access.policy(policy);
    const now = this.clock.now();
    await transact(this.state.db, async (trx) => {
      const other = await trx.selectFrom('oidc_issuers').select('name').where('issuer', '=', issuer.issuer).where('name', '<>', name).executeTakeFirst();
      if (other) throw new KeyturnError('KT_OIDC_ISSUER_INVALID', `OIDC issuer ${name} is not valid: issuer: ${issuer.issuer} is already the issuer ${other.name} (one configuration per iss)`);
      await trx
        .insertInto('oidc_issuers')
        .values({ name, issuer: issuer.issuer, document, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ issuer: issuer.issuer, document, updated_at: now }))
        .execute();
      await this.audit?.record({ action: 'access.oidc.put', path: name }, trx);
    });
    return issuer;
  }

  /** An issuer by name, with its document as stored; KT_OIDC_ISSUER_NOT_FOUND when there is none. */
  async get(name: string): Promise<OidcIssuer & { document: string }> {
    const row = await this.state.db.selectFrom('oidc_issuers').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound(name);
    return { ...this.parse(row.name, row.document), document: row.document };
  }

  /** An issuer by name, or null (for a login: the caller learns nothing about which issuers exist). */
  async find(name: string): Promise<OidcIssuer | null> {
    const row = await this.state.db.selectFrom('oidc_issuers').select(['name', 'document']).where('name', '=', name).executeTakeFirst();
    return row ? this.parse(row.name, row.document) : null;
  }

  /** The issuer whose `issuer` is exactly `iss`, or null. */
  async byIss(iss: string): Promise<OidcIssuer | null> {
    const row = await this.state.db.selectFrom('oidc_issuers').select(['name', 'document']).where('issuer', '=', iss).executeTakeFirst();
    return row ? this.parse(row.name, row.document) : null;
  }

  /** Every issuer, by name. */
  async list(): Promise<IssuerSummary[]> {
    const rows = await this.state.db.selectFrom('oidc_issuers').selectAll().orderBy('name').execute();
    return rows.map((r) => {
      const i = this.parse(r.name, r.document);
      return { name: i.name, issuer: i.issuer, description: i.description, audiences: i.audiences, rules: i.rules.length, updatedAt: Number(r.updated_at) };
    });
  }

  /**
   * Removes an issuer: no login through it from now on, and the live sessions it gave (tokens of
   * subject `oidc:NAME:...`) are revoked. Returns how many were revoked.
   */
  async remove(name: string): Promise<{ name: string; revokedSessions: number }> {
    assertIssuerName(name);
    // The issuer and its live sessions go together: a crash between them cannot leave sessions of a removed issuer.
    const revokedSessions = await this.access.revokeSubjects(`oidc:${name}:`, async (trx) => {
      const gone = await trx.deleteFrom('oidc_issuers').where('name', '=', name).executeTakeFirst();
      if (Number(gone.numDeletedRows) === 0) throw notFound(name);
      await this.audit?.record({ action: 'access.oidc.remove', path: name }, trx);
    });
    return { name, revokedSessions };
  }

  private parse(name: string, document: string): OidcIssuer {
    const hit = this.parsed.get(name);
    if (hit?.document === document) return hit.issuer;
    const issuer = parseIssuer(name, document);
    this.parsed.set(name, { document, issuer });
    return issuer;
  }
}

function notFound(name: string): KeyturnError {
  return new KeyturnError('KT_OIDC_ISSUER_NOT_FOUND', `no OIDC issuer ${/^[a-z0-9._-]{1,64}$/.test(name) ? name : 'with that name'}`);
}
