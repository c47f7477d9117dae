/**
 * Path policies and API tokens in the state database, with their audit events (each write and its
 * event commit together).
 *
 * A token is `kt_` and 256 random bits (base64url), shown once when created and stored only as
 * its SHA-256: the database never holds a token. It carries policy names, may expire, can be
 * revoked, and records when it was last used (to the minute). `authenticate` finds a token by its hash and
 * compares the hashes in constant time; an unknown, malformed, expired or revoked token is the
 * same `KT_TOKEN_INVALID` (the caller learns nothing about which).
 *
 * @example
 * ```ts
 * const access = new AccessRepo(state, clock, audit);
 * await access.putPolicy('app', 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n');
 * const { token } = await access.createToken({ policies: ['app'], ttlMs: 86_400_000 });
 * const who = await access.authenticate(token); // { id, policies: [Policy app] }
 * ```
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';
import type { StateDb } from '../state/db.js';
import type { Transaction } from 'kysely';
import type { Schema, TokensTable } from '../state/schema.js';
import { transact } from '../state/tx.js';
import { ADMIN_POLICY, adminPolicy, assertPolicyName, parsePolicy, type Policy } from './policy.js';

/** Where access events go: the audit log's `appendWithin`, so they commit with the write. */
export interface AccessAudit {
  /** `path` names what the event is about: the policy's name, the token's id (never a token). */
  record(
    event: { action: 'access.policy.put' | 'access.policy.delete' | 'access.token.create' | 'access.token.revoke' | 'access.token.delete'; path: string },
    trx: Transaction<Schema>,
  ): Promise<void>;
}

export interface TokenInfo {
  id: string;
  policies: string[];
  description: string | null;
  /** Who the token stands for: its subject, or `token:<id>` when it was made without one. */
  subject: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface Identity {
  /** The token's id (never the token). */
  tokenId: string;
  /** Who the token stands for (its subject, else `token:<id>`): one person or workload, however many tokens it holds. */
  subject: string;
  policies: Policy[];
}

const TOKEN = /^kt_[A-Za-z0-9_-]{43}$/;
const SUBJECT = /^[A-Za-z0-9._:@/-]{1,256}$/;
/** How precisely a token's last use is kept. */
const LAST_USE_GRAIN_MS = 60_000;
/**
 * How long an authenticated token is trusted without reading the database again. A change made
 * through this process (a revocation, a policy put) takes effect at once; one made by another
 * instance on a shared database, within this time.
 */
export const AUTH_CACHE_MS = 1000;

/** The stored form of a token: SHA-256, hex. */
export function tokenHash(token: string): string {
  // One-shot: every request hashes its token to find it (createHash sets up a context each call).
  return hash('sha256', token, 'hex');
}

function info(row: TokensTable): TokenInfo {
  return {
    id: row.id,
    policies: JSON.parse(row.policies) as string[],
    description: row.description,
    subject: row.subject ?? `token:${row.id}`,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

interface CachedIdentity {
  who: Identity;
  at: number;
  expiresAt: number | null;
  lastUsedAt: number;
}

/** Per state database: every repository over it in this process (one per request, for its audit context) shares what it trusts and forgets it on any change. */
const AUTHENTICATED = new WeakMap<StateDb, Map<string, CachedIdentity>>();

export class AccessRepo {
  /** Identities by token hash, as of `at`, while nothing changed through this process (AUTH_CACHE_MS). */
  get #authenticated(): Map<string, CachedIdentity> {
    let cache = AUTHENTICATED.get(this.state);
    if (!cache) AUTHENTICATED.set(this.state, (cache = new Map()));
    return cache;
  }

  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    private readonly audit?: AccessAudit,
  ) {}

  // ── policies ────────────────────────────────────────────────────────────

  /** Stores (or replaces) a policy after checking its document; returns it parsed. */
  async putPolicy(name: string, document: string): Promise<Policy> {
    assertPolicyName(name);
    if (name === ADMIN_POLICY) throw new KeyturnError('KT_ACCESS_POLICY_RESERVED', `the policy ${ADMIN_POLICY} is built in and cannot be replaced`);
    const policy = parsePolicy(name, document);
    const now = this.clock.now();
    await transact(this.state.db, async (trx) => {
      await trx
        .insertInto('access_policies')
        .values({ name, document, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ document, updated_at: now }))
        .execute();
      await this.audit?.record({ action: 'access.policy.put', path: name }, trx);
    });
    this.#authenticated.clear();
    return policy;
  }

  /**
   * Deletes a policy (recorded); KT_ACCESS_POLICY_NOT_FOUND when there is none, KT_ACCESS_POLICY_RESERVED
   * for `admin`. Tokens keep its name, which then grants nothing.
   */
  async deletePolicy(name: string): Promise<void> {
    if (name === ADMIN_POLICY) throw new KeyturnError('KT_ACCESS_POLICY_RESERVED', `the policy ${ADMIN_POLICY} is built in and cannot be deleted`);
    await transact(this.state.db, async (trx) => {
      const r = await trx.deleteFrom('access_policies').where('name', '=', name).executeTakeFirst();
      if (Number(r.numDeletedRows) !== 1) throw new KeyturnError('KT_ACCESS_POLICY_NOT_FOUND', `no access policy ${/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name) ? name : 'with that name'}`);
      await this.audit?.record({ action: 'access.policy.delete', path: name }, trx);
    });
    this.parsedPolicies.delete(name);
    this.#authenticated.clear();
  }

  /** A policy by name (the built-in `admin` too); KT_ACCESS_POLICY_NOT_FOUND when there is none. */
  async policy(name: string): Promise<Policy & { document: string | null }> {
    if (name === ADMIN_POLICY) return { ...adminPolicy, document: null };
    const row = await this.state.db.selectFrom('access_policies').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new KeyturnError('KT_ACCESS_POLICY_NOT_FOUND', `no access policy ${name}`);
    return { ...this.parsed(name, row.document), document: row.document };
  }

  /** Policies as parsed, by name: parsed again only when the stored document changed (every request authenticates). */
  private readonly parsedPolicies = new Map<string, { document: string; policy: Policy }>();

  private parsed(name: string, document: string): Policy {
    const hit = this.parsedPolicies.get(name);
    if (hit?.document === document) return hit.policy;
    const policy = parsePolicy(name, document);
    this.parsedPolicies.set(name, { document, policy });
    return policy;
  }

  /** Every policy's name, description and rule count, by name; `admin` first. */
  async policies(): Promise<Array<{ name: string; description: string | null; rules: number; builtIn: boolean }>> {
    const rows = await this.state.db.selectFrom('access_policies').selectAll().orderBy('name').execute();
    return [
      { name: ADMIN_POLICY, description: adminPolicy.description, rules: adminPolicy.rules.length, builtIn: true },
      ...rows.map((r) => {
        const p = this.parsed(r.name, r.document);
        return { name: r.name, description: p.description, rules: p.rules.length, builtIn: false };
      }),
    ];
  }

  // ── tokens ──────────────────────────────────────────────────────────────

  /** Creates a token bound to existing policies; the token is in the result only, never stored. */
  async createToken(input: { policies: readonly string[]; ttlMs?: number; description?: string; subject?: string }): Promise<{ token: string; info: TokenInfo }> {
    const names = [...new Set(input.policies)];
    if (names.length === 0) throw new KeyturnError('KT_USAGE', 'a token needs at least one policy (--policy NAME)');
    if (input.ttlMs !== undefined && !(Number.isSafeInteger(input.ttlMs) && input.ttlMs > 0)) throw new KeyturnError('KT_USAGE', 'a token lifetime must be a positive duration');
    if (input.description !== undefined && input.description.length > 256) throw new KeyturnError('KT_USAGE', 'a token description is at most 256 characters');
    if (input.subject !== undefined && !SUBJECT.test(input.subject)) throw new KeyturnError('KT_USAGE', 'a token subject is 1 to 256 characters of letters, digits and . _ : @ / -');
    for (const name of names) await this.policy(name);
    const token = `kt_${randomBytes(32).toString('base64url')}`;
    const now = this.clock.now();
    const row: TokensTable = {
      id: `tok_${randomBytes(8).toString('hex')}`,
      hash: tokenHash(token),
      policies: JSON.stringify(names),
      description: input.description ?? null,
      subject: input.subject ?? null,
      created_at: now,
      expires_at: input.ttlMs === undefined ? null : now + input.ttlMs,
      revoked_at: null,
      last_used_at: null,
    };
    await transact(this.state.db, async (trx) => {
      await trx.insertInto('tokens').values(row).execute();
      await this.audit?.record({ action: 'access.token.create', path: row.id }, trx);
    });
    return { token, info: info(row) };
  }

  async tokens(): Promise<TokenInfo[]> {
    return (await this.state.db.selectFrom('tokens').selectAll().orderBy('created_at', 'desc').execute()).map(info);
  }

  /** Revokes a token at once (idempotent); KT_TOKEN_NOT_FOUND for an unknown id. */
  async revokeToken(id: string): Promise<TokenInfo> {
    const now = this.clock.now();
    const revoked = await transact(this.state.db, async (trx) => {
      const row = await trx.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new KeyturnError('KT_TOKEN_NOT_FOUND', `no token ${/^[A-Za-z0-9_]{1,64}$/.test(id) ? id : 'with that id'}`);
      if (row.revoked_at === null) {
        await trx.updateTable('tokens').set({ revoked_at: now }).where('id', '=', id).execute();
        await this.audit?.record({ action: 'access.token.revoke', path: id }, trx);
      }
      return info({ ...row, revoked_at: row.revoked_at ?? now });
    });
    // After the commit: an authentication between a clear and the commit would trust the token again.
    this.#authenticated.clear();
    return revoked;
  }

  /**
   * Revokes every live token whose subject starts with `prefix` (each revocation audited), in one
   * transaction with `first` (the change that makes them void: an OIDC issuer's removal); returns
   * how many. Either all of it commits or none.
   */
  async revokeSubjects(prefix: string, first: (trx: Transaction<Schema>) => Promise<void>): Promise<number> {
    const now = this.clock.now();
    const count = await transact(this.state.db, async (trx) => {
      await first(trx);
      const live = (await trx.selectFrom('tokens').select(['id', 'subject', 'expires_at']).where('revoked_at', 'is', null).execute()).filter(
        (t) => t.subject !== null && t.subject.startsWith(prefix) && (t.expires_at === null || Number(t.expires_at) > now),
      );
      for (const t of live) {
        await trx.updateTable('tokens').set({ revoked_at: now }).where('id', '=', t.id).execute();
        await this.audit?.record({ action: 'access.token.revoke', path: t.id }, trx);
      }
      return live.length;
    });
    this.#authenticated.clear();
    return count;
  }

  /** Deletes the records of tokens that expired before `before` (each deletion audited); returns how many. */
  async deleteExpiredTokens(before: number): Promise<number> {
    return transact(this.state.db, async (trx) => {
      const gone = await trx.selectFrom('tokens').select('id').where('expires_at', '<', before).execute();
      if (gone.length === 0) return 0;
      await trx.deleteFrom('tokens').where('expires_at', '<', before).execute();
      for (const { id } of gone) await this.audit?.record({ action: 'access.token.delete', path: id }, trx);
      return gone.length;
    });
  }

  /** The identity a token stands for, recording its use; KT_TOKEN_INVALID for any token that is not current. */
  async authenticate(token: string): Promise<Identity> {
    const invalid = () => new KeyturnError('KT_TOKEN_INVALID', 'the token is not valid (unknown, malformed, expired or revoked)');
    if (!TOKEN.test(token)) throw invalid();
    const hash = tokenHash(token);
    const now = this.clock.now();
    // Trusted again without a read for a moment; never past the token's expiry, and its last use is still kept to the minute.
    const hit = this.#authenticated.get(hash);
    if (hit && now >= hit.at && now - hit.at < AUTH_CACHE_MS && (hit.expiresAt === null || hit.expiresAt > now) && now - hit.lastUsedAt < LAST_USE_GRAIN_MS) return hit.who;
    const row = await this.state.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'))) throw invalid();
    if (row.revoked_at !== null || (row.expires_at !== null && Number(row.expires_at) <= now)) throw invalid();
    // Last use to the minute: one write per token and minute, not one per request.
    if (row.last_used_at === null || now - Number(row.last_used_at) >= LAST_USE_GRAIN_MS) await this.state.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
    const policies: Policy[] = [];
    // A policy deleted since the token was made grants nothing: the token keeps the others.
    for (const name of JSON.parse(row.policies) as string[]) {
      try {
        policies.push(await this.policy(name));
      } catch (e) {
        if (!(e instanceof KeyturnError && e.code === 'KT_ACCESS_POLICY_NOT_FOUND')) throw e;
      }
    }
    const who: Identity = { tokenId: row.id, subject: row.subject ?? `token:${row.id}`, policies };
    if (this.#authenticated.size >= 10_000) this.#authenticated.clear();
    const lastUsedAt = row.last_used_at === null || now - Number(row.last_used_at) >= LAST_USE_GRAIN_MS ? now : Number(row.last_used_at);
    this.#authenticated.set(hash, { who, at: now, expiresAt: row.expires_at === null ? null : Number(row.expires_at), lastUsedAt });
    return who;
  }
}
