/**
 * Keeps the admin's PostgreSQL connection open between calls, so a rotation costs one statement
 * and one login test rather than an extra SCRAM handshake and backend start (the engine's
 * overhead goal is measured against a bare ALTER ROLE + login loop). One idle connection per
 * admin credential: a rotated admin password opens a new one; a connection found dead (server
 * restart, idle kill) is replaced once and the call retried (every `set` is idempotent); an
 * aborted or failed call's connection is destroyed. The idle socket does not keep the process
 * alive; `close()` ends it.
 *
 * @example
 * ```ts
 * const admins = new AdminSessions(config);
 * await admins.use(ctx.admin!, ctx.signal, 'set the password of "app"', (client, run) => run(sql, [], 'app', 'set ...'));
 * await admins.close();
 * ```
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { isKeyturnError } from '../../core/errors.js';
import { abortable } from '../abortable.js';
import type { Credential } from '../target.js';
import type { PostgresTargetConfig } from './config.js';
import { abortError, openPgSession, type PgRun, type PgSession } from './session.js';

function keyOf(admin: Credential): string {
  return createHash('sha256').update(admin.username).update('\0').update(admin.password).digest('hex');
}

/** How many idle admin connections are kept: enough for the engine's usual concurrency. */
const MAX_IDLE = 8;

export class AdminSessions {
  private idle: Array<{ key: string; session: PgSession }> = [];

  constructor(private readonly config: PostgresTargetConfig) {}

  async use<T>(admin: Credential, signal: AbortSignal, action: string, fn: (client: pg.Client, run: PgRun) => Promise<T>): Promise<T> {
    const key = keyOf(admin);
    const reused = this.take(key);
    const session = reused ?? (await openPgSession(this.config, admin, signal, action));
    try {
      const result = await abortable(
        signal,
        session.destroy,
        () => abortError(this.config, admin.username, action),
        () => fn(session.client, session.run),
      );
      this.park(key, session);
      return result;
    } catch (e) {
      session.destroy();
      if (reused && !signal.aborted && isKeyturnError(e, 'KT_TARGET_UNAVAILABLE')) return this.use(admin, signal, action, fn);
      throw e;
    }
  }

  async close(): Promise<void> {
    const idle = this.idle;
    this.idle = [];
    // Held again while they close: with nothing else pending, an unref'd socket would let the
    // process exit in the middle of this await.
    await Promise.all(
      idle.map(async ({ session }) => {
        session.ref();
        await session.close();
      }),
    );
  }

  /** An idle session of this admin, if one is alive; sessions of another (older) admin credential are closed. */
  private take(key: string): PgSession | null {
    while (this.idle.length > 0) {
      const { key: k, session } = this.idle.pop()!;
      if (k !== key || session.dead) {
        void session.close();
        continue;
      }
      session.ref();
      return session;
    }
    return null;
  }

  private park(key: string, session: PgSession): void {
    if (this.idle.length >= MAX_IDLE || session.dead) {
      void session.close();
      return;
    }
    session.unref();
    this.idle.push({ key, session });
  }
}
