/**
 * Independent login checks for tests: plain driver connections, not the target implementations,
 * so a bug in a target's own `test()` cannot make a broken rotation look fine.
 */
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';

export interface LoginTarget {
  kind: 'postgres' | 'mysql' | 'redis';
  host: string;
  port: number;
  database?: string;
}

/** True when the credential logs in and a trivial query answers; false when refused. Other errors throw. */
export async function logsIn(t: LoginTarget, cred: { username: string; password: string }): Promise<boolean> {
  try {
    if (t.kind === 'postgres') {
      const c = new pg.Client({ host: t.host, port: t.port, user: cred.username, password: cred.password, database: t.database ?? 'postgres', connectionTimeoutMillis: 5000 });
      await c.connect();
      try {
        await c.query('SELECT 1');
      } finally {
        await c.end();
      }
    } else if (t.kind === 'mysql') {
      const c = await mysql.createConnection({ host: t.host, port: t.port, user: cred.username, password: cred.password, connectTimeout: 5000 });
      try {
        await c.query('SELECT 1');
      } finally {
        await c.end();
      }
    } else {
      // Connect first, then AUTH as a command: a refused AUTH is then a plain WRONGPASS reply.
      const r = new Redis({ host: t.host, port: t.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        await r.call('AUTH', cred.username, cred.password);
        if ((await r.ping()) !== 'PONG') return false;
      } finally {
        r.disconnect();
      }
    }
    return true;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === '28P01' || err.code === '28000' || err.code === 'ER_ACCESS_DENIED_ERROR' || /WRONGPASS|NOAUTH|invalid username-password/i.test(err.message ?? '')) return false;
    throw e;
  }
}
