/**
 * Test helper: the password-auth PostgreSQL cluster on 127.0.0.1:55432 (scram-sha-256 over TCP,
 * peer on the local socket; `.ci/run` creates it) and its admin role `keyturn_admin`.
 *
 * The 5432 cluster trusts every loopback login, so it cannot prove that a password works or
 * that an old one is refused; this one can. Over TCP nobody can log in before a role has a
 * password, so the admin is bootstrapped through the local socket as the OS user postgres
 * (`runuser -u postgres -- psql`, tests run as root): (re)created with CREATEROLE (enough in
 * PostgreSQL 15 to create roles, change non-superuser passwords and grant memberships) and
 * NOSUPERUSER, so the targets are tested with the least right they need.
 *
 * The admin password is random, made once per machine and kept in a 0600 file under the temp
 * folder: test files run in parallel processes, and a fresh password per call would lock the
 * other processes' admin connections out. The SQL goes to psql on stdin, never on its command line.
 *
 * @example
 * ```ts
 * const { host, port, database, admin } = await pgAuthCluster();
 * const target = createTarget({ type: 'postgres', host, port, database });
 * ```
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Credential } from '../../src/targets/target.js';

export const PG_AUTH_HOST = '127.0.0.1';
export const PG_AUTH_PORT = 55432;
export const PG_AUTH_ADMIN = 'keyturn_admin';

const PASSWORD_FILE = join(tmpdir(), 'keyturn-test-pg-auth-admin.password');

export interface PgAuthCluster {
  host: string;
  port: number;
  database: string;
  admin: Credential;
}

/** Runs SQL as the postgres superuser over the cluster's local socket. */
export function psqlAsPostgres(sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'runuser',
      ['-u', 'postgres', '--', 'psql', '-p', String(PG_AUTH_PORT), '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`psql on port ${PG_AUTH_PORT} failed (is the keyturn cluster up? see .ci/run): ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(sql);
  });
}

/** The machine's admin password: read, or made once (exclusive create, so parallel files agree). */
async function adminPassword(): Promise<string> {
  try {
    await writeFile(PASSWORD_FILE, randomBytes(24).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const password = (await readFile(PASSWORD_FILE, 'utf8')).trim();
  if (!/^[0-9a-f]{48}$/.test(password)) throw new Error(`${PASSWORD_FILE} is malformed: delete it and run again`);
  return password;
}

/** Ensures `keyturn_admin` exists with CREATEROLE and the machine's password; returns where to reach it. */
export async function pgAuthCluster(): Promise<PgAuthCluster> {
  const password = await adminPassword();
  const sql = `
    SELECT 'CREATE ROLE ${PG_AUTH_ADMIN}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_AUTH_ADMIN}') \\gexec
    ALTER ROLE ${PG_AUTH_ADMIN} WITH LOGIN CREATEROLE NOSUPERUSER PASSWORD '${password}';
  `;
  try {
    await psqlAsPostgres(sql);
  } catch {
    // Another test process may have created the role between the check and CREATE ROLE.
    await psqlAsPostgres(sql);
  }
  return { host: PG_AUTH_HOST, port: PG_AUTH_PORT, database: 'postgres', admin: { username: PG_AUTH_ADMIN, password } };
}
