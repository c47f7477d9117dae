/**
 * A secret's lifecycle status, and the check every value read through the client makes:
 *
 * - `revoked`: marked by `keyturn secret revoke PATH` (the value must no longer be used);
 * - `deprecated`: marked by `keyturn secret deprecate PATH` (being retired);
 * - `expired`: the current value is older than its schedule's `maxAge` (computed, never stored;
 *   a schedule without `maxAge` never expires a secret, it only makes it overdue);
 * - `active`: none of these.
 *
 * The first that holds wins, in that order. A mark is a row of `secret_status` (migration 0012),
 * by path, recorded with a `secret.deprecate` / `secret.revoke` / `secret.activate` audit event
 * in the same transaction; a mark older than the secret's creation (the path was purged and
 * created again) does not count. Reads refused for a status other than active are recorded as a
 * `secret.read` event with outcome `denied` and KT_SECRET_INACTIVE. The rotation engine reads
 * through its own store view and is never refused: a secret of any status can be rotated.
 * A process that found a path active with no maxAge does not check it again for 1 s
 * (READABLE_CACHE_MS): a mark it makes itself counts at once, a mark made by another process
 * (a local CLI beside a running server) within that second.
 *
 * @example
 * ```ts
 * const s = await secretStatus(kt, kt.store, 'prod/api/token', kt.clock.now());
 * s.status; // 'active' | 'deprecated' | 'expired' | 'revoked'
 * ```
 */
import type { AuditContext } from '../audit/context.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Keyturn } from '../runtime/keyturn.js';
import { parseDuration } from '../core/duration.js';
import { sql } from 'kysely';
import { prepared } from '../state/prepared.js';
import { transact } from '../state/tx.js';
import type { SecretStore } from '../stores/store.js';

export const LIFECYCLE_STATUSES = ['active', 'deprecated', 'expired', 'revoked'] as const;
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number];
/** What a command can set: a mark, or `active` (the mark removed). */
export type MarkedStatus = 'active' | 'deprecated' | 'revoked';

export interface StatusView {
  path: string;
  status: LifecycleStatus;
  /** When it took this status (ISO-8601): the mark's time, or when the value passed maxAge; null for active. */
  since: string | null;
  /** Who marked it (deprecated, revoked); null otherwise. */
  by: string | null;
  /** When the current value passes its maxAge (ISO-8601); null without maxAge. */
  expiresAt: string | null;
}

/** What the read check needs of a secret (params: `path`): its creation, deletion, mark and policy text. */
const readable = prepared((db, p) =>
  db
    .selectFrom('secrets as s')
    .leftJoin('secret_status as st', 'st.path', 's.path')
    .leftJoin('secret_policies as sp', 'sp.path', 's.path')
    .select(['s.created_at', 's.deleted_at', 'st.status', 'st.changed_at'])
    // Whether the stored policy (compact JSON written by apply) may give the secret a maxAge: a
    // match only means the full status is computed, so a false match costs time, never a wrong answer.
    .select(sql<boolean | number | null>`(sp.config like ${'%"maxAge":"%'})`.as('may_expire'))
    .where('s.path', '=', p('path')),
);

/** How long a path found active (no mark, no maxAge) is not checked again by this process. */
export const READABLE_CACHE_MS = 1000;
/** Per state database (so per home): path -> until when (performance.now()) it counts as readable. */
const READABLE = new WeakMap<object, Map<string, number>>();
function readableSeen(kt: Keyturn): Map<string, number> {
  let m = READABLE.get(kt.state);
  if (m === undefined) READABLE.set(kt.state, (m = new Map()));
  return m;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** When the current value of `path` expires (epoch ms), from its applied schedule's maxAge; null without one. */
export async function expiresAt(kt: Keyturn, store: SecretStore, path: string, createdAt: number): Promise<number | null> {
  let maxAge: string | null;
  try {
    maxAge = (await kt.applied.policy(path)).effectiveSchedule.maxAge;
  } catch (e) {
    if (isKeyturnError(e, 'KT_POLICY_NOT_FOUND')) return null;
    throw e;
  }
  if (maxAge === null) return null;
  const current = (await store.versions(path)).find((v) => v.stages.includes('current'));
  return (current?.createdAt ?? createdAt) + parseDuration(maxAge)!;
}

/** The status of a live or deleted secret at `now`; KT_SECRET_NOT_FOUND when there is none. */
export async function secretStatus(kt: Keyturn, store: SecretStore, path: string, now: number): Promise<StatusView> {
  const info = await store.describe(path);
  if (!info) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
  const mark = await kt.state.db.selectFrom('secret_status').selectAll().where('path', '=', path).executeTakeFirst();
  const expires = info.deletedAt === null ? await expiresAt(kt, store, path, info.createdAt) : null;
  if (mark && Number(mark.changed_at) >= info.createdAt) {
    return { path, status: mark.status as LifecycleStatus, since: iso(Number(mark.changed_at)), by: mark.actor, expiresAt: iso(expires) };
  }
  if (expires !== null && now >= expires) return { path, status: 'expired', since: iso(expires), by: null, expiresAt: iso(expires) };
  return { path, status: 'active', since: null, by: null, expiresAt: iso(expires) };
}

/**
 * Throws KT_SECRET_INACTIVE, after recording the refused read (`secret.read`, outcome `denied`),
 * unless `path` is active. A missing or deleted secret passes: the read itself says so.
 */
export async function assertReadable(kt: Keyturn, store: SecretStore, path: string, ctx: AuditContext | undefined): Promise<void> {
  // The hot path of every API read: a path found active with no maxAge is not asked again for
  // READABLE_CACHE_MS (a mark made by this process clears it at once; by another, it counts
  // within that time, as a revoked token does: ../access/access-repo.ts).
  const seen = readableSeen(kt);
  const until = seen.get(path);
  if (until !== undefined && performance.now() < until) return;
  // One prepared query (the secret, its mark, whether its policy may set a maxAge). Only a valid
  // mark or a possible maxAge needs the full status.
  const row = await readable.first(kt.state, kt.state.db, { path });
  if (row === undefined || row.deleted_at !== null) return;
  const marked = row.status !== null && Number(row.changed_at) >= Number(row.created_at);
  if (!marked && !row.may_expire) {
    if (seen.size >= 10_000) seen.clear();
    seen.set(path, performance.now() + READABLE_CACHE_MS);
    return;
  }
  const s = await secretStatus(kt, store, path, kt.clock.now());
  if (s.status === 'active') return;
  await kt.audit.append({ ...(ctx ?? {}), action: 'secret.read', path, outcome: 'denied', errorCode: 'KT_SECRET_INACTIVE' });
  throw new KeyturnError(
    'KT_SECRET_INACTIVE',
    `${path} is ${s.status}${s.since ? ` since ${s.since}` : ''}: its value is not read unless asked for explicitly (--allow-inactive, allowInactive=true)`,
    {
      details: { path, status: s.status, since: s.since },
    },
  );
}

/**
 * Marks `path` deprecated or revoked, or back to active (the mark removed), with its audit event
 * (`secret.deprecate`, `secret.revoke`, `secret.activate`) in the same transaction. The secret must
 * exist and not be deleted. Setting the status it already has changes nothing and records nothing.
 */
export async function markStatus(kt: Keyturn, store: SecretStore, path: string, status: MarkedStatus, ctx: AuditContext | undefined): Promise<StatusView> {
  readableSeen(kt).delete(path);
  const info = await store.describe(path);
  if (!info) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
  if (info.deletedAt !== null) throw new KeyturnError('KT_SECRET_DELETED', `${path} is deleted; restore it first`, { details: { path } });
  const now = kt.clock.now();
  const before = await kt.state.db.selectFrom('secret_status').selectAll().where('path', '=', path).executeTakeFirst();
  const had: MarkedStatus = before && Number(before.changed_at) >= info.createdAt ? (before.status as MarkedStatus) : 'active';
  if (had !== status) {
    const actor = ctx?.actor ?? kt.audit.context.actor;
    await transact(kt.state.db, async (trx) => {
      await trx.deleteFrom('secret_status').where('path', '=', path).execute();
      if (status !== 'active') await trx.insertInto('secret_status').values({ path, status, changed_at: now, actor }).execute();
      await kt.audit.append({ ...(ctx ?? {}), action: `secret.${status === 'active' ? 'activate' : status === 'deprecated' ? 'deprecate' : 'revoke'}`, path, outcome: 'success' }, trx);
    });
  }
  return secretStatus(kt, store, path, now);
}

/** Forgets the mark of a purged secret. */
export async function forgetStatus(kt: Keyturn, path: string): Promise<void> {
  readableSeen(kt).delete(path);
  await kt.state.db.deleteFrom('secret_status').where('path', '=', path).execute();
}
