/**
 * Break-glass requests in the state database, with the rules that decide them: a request to read
 * a break-glass path (the token's policies must grant `read` there and a rule of them must say
 * `breakGlass`), approvals by two distinct subjects other than the requester (each with `approve`
 * on the path; a subject counts once), the read window the second approval opens, and the gate a
 * read passes through ({@link BreakGlassRepo.assertRead}). Every change and its audit event commit
 * together; a refused approval or read is recorded too (outcome `denied`).
 *
 * Closing windows and rotating after them is ./sweep.ts.
 *
 * @example
 * ```ts
 * const bg = new BreakGlassRepo(kt.state, kt.clock, kt.audit);
 * const r = await bg.request(alice, 'prod/db/root', { reason: 'INC-42: restore' }, ctx);
 * await bg.approve(r.id, bob, ctx);
 * await bg.approve(r.id, carol, ctx);           // the window opens: alice may read for 1 h
 * await bg.assertRead(alice, 'prod/db/root', ctx);
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AuditContext } from '../../audit/context.js';
import { contextFields } from '../../audit/hooks.js';
import type { AuditInput, AuditLog } from '../../audit/log.js';
import type { Clock } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { assertValidPath } from '../../core/paths.js';
import type { StateDb } from '../../state/db.js';
import type { BreakglassRequestsTable, Schema } from '../../state/schema.js';
import { transact } from '../../state/tx.js';
import type { Identity } from '../access-repo.js';
import { BREAKGLASS_DEFAULT_TTL_MS, breakGlassOf, decide } from '../policy.js';

/** Approvals a request needs, from distinct subjects other than the requester. */
export const APPROVALS_NEEDED = 2;
/** How long a request may wait for its approvals before it lapses. */
export const PENDING_MS = 86_400_000;

const REASON_MAX = 512;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const ID = /^bg_[0-9a-f]{16}$/;

export type RequestState = 'pending' | 'approved' | 'denied' | 'lapsed' | 'closed';
export type RotationState = 'running' | 'rotated' | 'failed' | 'unconfigured';

/**
 * What `breakglass ls` shows: pending, approved (window open), expired (window over, rotation
 * not started yet), rotating, rotated, rotation-failed, rotation-unconfigured, denied, lapsed.
 */
export type RequestStatus = 'pending' | 'approved' | 'expired' | 'rotating' | 'rotated' | 'rotation-failed' | 'rotation-unconfigured' | 'denied' | 'lapsed';

export interface BreakGlassRequest {
  id: string;
  path: string;
  reason: string;
  requester: string;
  requesterToken: string;
  ttlMs: number;
  state: RequestState;
  status: RequestStatus;
  createdAt: number;
  approvedAt: number | null;
  endsAt: number | null;
  closedAt: number | null;
  approvals: Array<{ subject: string; tokenId: string; at: number }>;
  rotation: RotationState | null;
  rotationRunId: string | null;
  rotationError: string | null;
  rotationAt: number | null;
}

function statusOf(row: BreakglassRequestsTable, now: number): RequestStatus {
  switch (row.state) {
    case 'pending':
      return now - Number(row.created_at) >= PENDING_MS ? 'lapsed' : 'pending';
    case 'approved':
      return row.ends_at !== null && now >= Number(row.ends_at) ? 'expired' : 'approved';
    case 'closed':
      if (row.rotation === 'running' || row.rotation === null) return 'rotating';
      return row.rotation === 'rotated' ? 'rotated' : row.rotation === 'failed' ? 'rotation-failed' : 'rotation-unconfigured';
    default:
      return row.state as RequestStatus;
  }
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export class BreakGlassRepo {
  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Asks to read `path` for `ttlMs` (default 1 h, or the rules' `maxTtl` when shorter). The token
   * must be allowed to read the path and the path must be break-glass for it (else
   * KT_ACCESS_DENIED, KT_BREAKGLASS_NOT_NEEDED); a window longer than the rules allow is KT_USAGE.
   */
  async request(who: Identity, path: string, input: { reason: string; ttlMs?: number }, ctx: AuditContext): Promise<BreakGlassRequest> {
    assertValidPath(path);
    const reason = input.reason.trim();
    if (reason.length === 0 || reason.length > REASON_MAX || CONTROL.test(reason))
      throw new KeyturnError('KT_USAGE', `a break-glass reason is 1 to ${REASON_MAX} characters on one line (say why: an incident id, what is broken)`);
    const read = decide(who.policies, path, 'read');
    if (!read.allowed)
      throw new KeyturnError('KT_ACCESS_DENIED', `token ${who.tokenId} may not read ${path}: ${read.reason}; break-glass never widens access`, { details: { capability: 'read', path } });
    const gate = breakGlassOf(who.policies, path);
    if (gate === null) throw new KeyturnError('KT_BREAKGLASS_NOT_NEEDED', `${path} is not break-glass for token ${who.tokenId}: read it directly`);
    const ttlMs = input.ttlMs ?? Math.min(BREAKGLASS_DEFAULT_TTL_MS, gate.maxTtlMs);
    if (!(Number.isSafeInteger(ttlMs) && ttlMs > 0)) throw new KeyturnError('KT_USAGE', 'a break-glass window must be a positive duration');
    if (ttlMs > gate.maxTtlMs) throw new KeyturnError('KT_USAGE', `a break-glass window on ${path} is at most ${gate.maxTtlMs / 60_000} minutes (the rules' maxTtl)`);
    const now = this.clock.now();
    const row: BreakglassRequestsTable = {
      id: `bg_${randomBytes(8).toString('hex')}`,
      path,
      reason,
      requester: who.subject,
      requester_token: who.tokenId,
      ttl_ms: ttlMs,
      state: 'pending',
      created_at: now,
      approved_at: null,
      ends_at: null,
      closed_at: null,
      rotation: null,
      rotation_run_id: null,
      rotation_error: null,
      rotation_at: null,
    };
    await transact(this.state.db, async (trx) => {
      await trx.insertInto('breakglass_requests').values(row).execute();
      await this.record(trx, ctx, { action: 'breakglass.request', path, outcome: 'success', runId: row.id });
    });
    return this.get(row.id);
  }

  /**
   * Approves a pending request as `who`. Refused: KT_BREAKGLASS_NOT_FOUND, KT_ACCESS_DENIED (no
   * `approve` on the path), KT_BREAKGLASS_SELF_APPROVAL (the requester's own subject: recorded as
   * denied), KT_BREAKGLASS_NOT_PENDING. A subject that already approved changes nothing. The
   * approval that makes {@link APPROVALS_NEEDED} opens the window: now until now + the request's ttl.
   */
  async approve(id: string, who: Identity, ctx: AuditContext): Promise<BreakGlassRequest> {
    const row = await this.row(id);
    const may = decide(who.policies, row.path, 'approve');
    if (!may.allowed)
      throw new KeyturnError('KT_ACCESS_DENIED', `token ${who.tokenId} may not approve break-glass on ${row.path}: ${may.reason}`, { details: { capability: 'approve', path: row.path } });
    if (who.subject === row.requester) {
      await this.audit.append({ ...contextFields(ctx), action: 'breakglass.approve', path: row.path, outcome: 'denied', errorCode: 'KT_BREAKGLASS_SELF_APPROVAL', runId: row.id });
      throw new KeyturnError('KT_BREAKGLASS_SELF_APPROVAL', `${who.subject} made request ${row.id}: it needs ${APPROVALS_NEEDED} approvals from other subjects`);
    }
    const now = this.clock.now();
    await transact(this.state.db, async (trx) => {
      // The update locks the row (PostgreSQL) so two approvals never both miss the other.
      const pending = await trx
        .updateTable('breakglass_requests')
        .set({ state: 'pending' })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where('created_at', '>', now - PENDING_MS)
        .executeTakeFirst();
      if (Number(pending.numUpdatedRows) !== 1) throw new KeyturnError('KT_BREAKGLASS_NOT_PENDING', `request ${id} is ${statusOf(row, now)}: it can no longer be approved`);
      const already = await trx.selectFrom('breakglass_approvals').select('subject').where('request_id', '=', id).where('subject', '=', who.subject).executeTakeFirst();
      if (already) return;
      await trx.insertInto('breakglass_approvals').values({ request_id: id, subject: who.subject, token_id: who.tokenId, created_at: now }).execute();
      await this.record(trx, ctx, { action: 'breakglass.approve', path: row.path, outcome: 'success', runId: id });
      const count = await trx
        .selectFrom('breakglass_approvals')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('request_id', '=', id)
        .executeTakeFirstOrThrow();
      if (Number(count.n) < APPROVALS_NEEDED) return;
      await trx
        .updateTable('breakglass_requests')
        .set({ state: 'approved', approved_at: now, ends_at: now + Number(row.ttl_ms) })
        .where('id', '=', id)
        .execute();
      await this.record(trx, ctx, { action: 'breakglass.grant', path: row.path, outcome: 'success', runId: id });
    });
    return this.get(id);
  }

  /** Denies a pending request (an approver), or withdraws it (its requester); recorded. KT_BREAKGLASS_NOT_PENDING otherwise. */
  async deny(id: string, who: Identity, ctx: AuditContext): Promise<BreakGlassRequest> {
    const row = await this.row(id);
    const own = who.subject === row.requester;
    const may = decide(who.policies, row.path, 'approve');
    if (!own && !may.allowed)
      throw new KeyturnError('KT_ACCESS_DENIED', `token ${who.tokenId} may not deny break-glass on ${row.path}: ${may.reason}`, { details: { capability: 'approve', path: row.path } });
    const now = this.clock.now();
    await transact(this.state.db, async (trx) => {
      const r = await trx.updateTable('breakglass_requests').set({ state: 'denied', closed_at: now }).where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new KeyturnError('KT_BREAKGLASS_NOT_PENDING', `request ${id} is ${statusOf(row, now)}: it can no longer be denied`);
      await this.record(trx, ctx, { action: own ? 'breakglass.withdraw' : 'breakglass.deny', path: row.path, outcome: 'success', runId: id });
    });
    return this.get(id);
  }

  /**
   * The gate of a value read: nothing when `path` is not break-glass for `who`; else the open
   * grant of `who`'s subject on the path, or KT_BREAKGLASS_REQUIRED (recorded as a denied
   * `secret.read`). Call it after the `read` capability check.
   */
  async assertRead(who: Identity, path: string, ctx: AuditContext): Promise<void> {
    if (breakGlassOf(who.policies, path) === null) return;
    const now = this.clock.now();
    const grant = await this.state.db
      .selectFrom('breakglass_requests')
      .select('id')
      .where('path', '=', path)
      .where('requester', '=', who.subject)
      .where('state', '=', 'approved')
      .where('ends_at', '>', now)
      .executeTakeFirst();
    if (grant) return;
    await this.audit.append({ ...contextFields(ctx), action: 'secret.read', path, outcome: 'denied', errorCode: 'KT_BREAKGLASS_REQUIRED' });
    throw new KeyturnError('KT_BREAKGLASS_REQUIRED', `${path} is break-glass: reading it needs an approved request (keyturn breakglass request ${path} --reason TEXT)`, { details: { path } });
  }

  /** One request with its approvals; KT_BREAKGLASS_NOT_FOUND when there is none. */
  async get(id: string): Promise<BreakGlassRequest> {
    const row = await this.row(id);
    return (await this.withApprovals([row]))[0]!;
  }

  /** Every request, newest first. */
  async list(): Promise<BreakGlassRequest[]> {
    const rows = await this.state.db.selectFrom('breakglass_requests').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
    return this.withApprovals(rows);
  }

  private async row(id: string): Promise<BreakglassRequestsTable> {
    const row = ID.test(id) ? await this.state.db.selectFrom('breakglass_requests').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new KeyturnError('KT_BREAKGLASS_NOT_FOUND', `no break-glass request ${ID.test(id) ? id : 'with that id'}`);
    return row;
  }

  private async withApprovals(rows: BreakglassRequestsTable[]): Promise<BreakGlassRequest[]> {
    if (rows.length === 0) return [];
    const approvals = await this.state.db
      .selectFrom('breakglass_approvals')
      .selectAll()
      .where(
        'request_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('created_at')
      .execute();
    const now = this.clock.now();
    return rows.map((r) => ({
      id: r.id,
      path: r.path,
      reason: r.reason,
      requester: r.requester,
      requesterToken: r.requester_token,
      ttlMs: Number(r.ttl_ms),
      state: r.state as RequestState,
      status: statusOf(r, now),
      createdAt: Number(r.created_at),
      approvedAt: num(r.approved_at),
      endsAt: num(r.ends_at),
      closedAt: num(r.closed_at),
      approvals: approvals.filter((a) => a.request_id === r.id).map((a) => ({ subject: a.subject, tokenId: a.token_id, at: Number(a.created_at) })),
      rotation: r.rotation as RotationState | null,
      rotationRunId: r.rotation_run_id,
      rotationError: r.rotation_error,
      rotationAt: num(r.rotation_at),
    }));
  }

  /** Records an event with the caller's context, committed with `trx`. */
  async record(trx: Transaction<Schema>, ctx: AuditContext, input: AuditInput): Promise<void> {
    await this.audit.appendWithin({ ...contextFields(ctx), ...input }, trx);
  }
}
