/**
 * Leases with fencing tokens in the state database: one holder per name at a time, for a
 * bounded time. Every acquisition bumps the token, so a holder that was presumed dead and comes
 * back finds its token stale and stops.
 *
 * A lease whose holder is a process on this host that no longer exists (killed with SIGKILL) is
 * taken over at once instead of waiting for it to expire.
 *
 * A lease held for a long piece of work is kept alive in the background (`keepAlive`): renewed
 * every third of its TTL, so no step, however slow, outlives it; if it is lost anyway, its signal
 * aborts and `assertHeld()` throws KT_LEASE_LOST.
 *
 * @example
 * ```ts
 * const acquired = await leases.acquire('secret:prod/db/app', 60_000);
 * if (!acquired) throw new KeyturnError('KT_RUN_LOCKED', 'prod/db/app is being rotated');
 * const lease = leases.keepAlive(acquired, 60_000, log);
 * try {
 *   await work(lease.signal);
 *   lease.assertHeld();
 * } finally {
 *   lease.stop();
 *   await leases.release(lease);
 * }
 * ```
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { sql } from 'kysely';
import type { StateDb } from '../state/db.js';
import { prepared } from '../state/prepared.js';

export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly token: number;
  /** When its expiry was last extended (writes extend it once a third of the TTL has passed). */
  renewedAt: number;
  /** Set once a run's last commit freed it (RunsRepo.advance with `releaseLease`): nothing is left to release or renew. */
  released?: boolean;
}

/** A lease kept alive in the background while its holder works (see `Leases.keepAlive`). */
export interface HeldLease extends Lease {
  /** Aborts when the lease is lost (another worker took it over): stop what you are doing. */
  readonly signal: AbortSignal;
  /** Throws KT_LEASE_LOST once the lease is known lost. */
  assertHeld(): void;
  /** Stops renewing (before release). */
  stop(): void;
}

const HOST = hostname();

/**
 * Creates the lease, or takes it when it is expired or already this holder's, bumping the token;
 * returns the token, or no row when someone else holds it (params: `name`, `holder`,
 * `expires_at`, `now`). Every rotation runs it: compiled once (../state/prepared.ts).
 */
const takeLease = prepared((db, p) =>
  db
    .insertInto('leases')
    .values({ name: p('name'), holder: p('holder'), token: 1, expires_at: p('expires_at') })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder: p('holder'), token: sql<number>`leases.token + 1`, expires_at: p('expires_at') })
        .where((eb) => eb.or([eb('leases.expires_at', '<=', p('now')), eb('leases.holder', '=', p('holder'))])),
    )
    .returning('token'),
);

/** This process's holder id: host, pid and a random part. */
export function holderId(): string {
  return `${HOST}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** True when the holder is a process on this host that is gone. */
export function holderIsDeadHere(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== HOST || !pid || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class Leases {
  constructor(
    private readonly state: StateDb,
    private readonly clock: Clock,
    readonly holder: string = holderId(),
  ) {}

  /** Takes the lease if free, expired, ours, or held by a dead local process; else null. */
  async acquire(name: string, ttlMs: number): Promise<Lease | null> {
    const now = this.clock.now();
    // Fast path, one statement: create the lease, or take it when it is expired or already ours.
    const taken = await takeLease.first(this.state, this.state.db, { name, holder: this.holder, expires_at: now + ttlMs, now });
    if (taken) return { name, holder: this.holder, token: Number(taken.token), renewedAt: now };
    // Held by someone else: take it over only when that holder is a dead process on this host.
    return this.state.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row || !holderIsDeadHere(row.holder)) return null;
      const token = Number(row.token) + 1;
      const res = await trx
        .updateTable('leases')
        .set({ holder: this.holder, token, expires_at: now + ttlMs })
        .where('name', '=', name)
        .where('token', '=', Number(row.token))
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1 ? { name, holder: this.holder, token, renewedAt: now } : null;
    });
  }

  /** Extends the lease; throws KT_LEASE_LOST when another holder took it. A released lease (expiry 0) is not extended again. */
  async renew(lease: Lease, ttlMs: number): Promise<void> {
    if (lease.released) return;
    const res = await this.state.db
      .updateTable('leases')
      .set({ expires_at: this.clock.now() + ttlMs })
      .where('name', '=', lease.name)
      .where('token', '=', lease.token)
      .where('holder', '=', lease.holder)
      .where('expires_at', '>', 0)
      .executeTakeFirst();
    if (lease.released) return;
    if (Number(res.numUpdatedRows) !== 1) throw new KeyturnError('KT_LEASE_LOST', `the lease on ${lease.name} was taken over by another worker`);
  }

  /**
   * Renews `lease` every third of `ttlMs` until `stop()`, so it outlives any single step. A renewal
   * that finds the lease taken over aborts `signal`; one that fails for another reason (the
   * database briefly away) is logged and retried at the next tick.
   */
  keepAlive(lease: Lease, ttlMs: number, log: Logger): HeldLease {
    const lost = new AbortController();
    const lostError = () => new KeyturnError('KT_LEASE_LOST', `the lease on ${lease.name} was taken over by another worker`);
    let renewing = false;
    const timer = setInterval(
      () => {
        if (renewing || lost.signal.aborted) return;
        renewing = true;
        this.renew(lease, ttlMs)
          .then(() => {
            lease.renewedAt = this.clock.now();
          })
          .catch((e: unknown) => {
            if (isKeyturnError(e, 'KT_LEASE_LOST')) lost.abort(e);
            else log.warn({ lease: lease.name, code: isKeyturnError(e) ? e.code : 'KT_INTERNAL' }, 'lease renewal failed; retrying');
          })
          .finally(() => {
            renewing = false;
          });
      },
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return Object.assign(lease, {
      signal: lost.signal,
      assertHeld: () => {
        if (lost.signal.aborted) throw lostError();
      },
      stop: () => clearInterval(timer),
    });
  }

  /** Frees the lease; the row stays so the next holder's token keeps increasing. */
  async release(lease: Lease): Promise<void> {
    if (lease.released) return;
    await this.state.db.updateTable('leases').set({ expires_at: 0 }).where('name', '=', lease.name).where('token', '=', lease.token).where('holder', '=', lease.holder).execute();
  }

  /** Who holds a lease now, if anyone (for error messages). */
  async holderOf(name: string): Promise<{ holder: string; expiresAt: number } | null> {
    const row = await this.state.db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
    return row ? { holder: row.holder, expiresAt: Number(row.expires_at) } : null;
  }
}
