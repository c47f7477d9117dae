/**
 * Fixtures for rotation tests against the real servers: a fresh Keyturn home with a target and
 * one managed credential applied (PostgreSQL on the password-auth cluster, MariaDB, Redis), the
 * user created on the server with its first password, and teardown that drops both users of an
 * alternating pair.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { Strategy } from '../../src/targets/target.js';
import type { LoginTarget } from './logins.js';
import { pgAuthCluster, psqlAsPostgres } from './pg-auth.js';
import { runCli } from './cli.js';
import { tempDir } from './state.js';

export type Kind = 'postgres' | 'mysql' | 'redis';

export interface RotationFixture {
  kind: Kind;
  strategy: Strategy;
  home: string;
  env: Record<string, string>;
  path: string;
  username: string;
  login: LoginTarget;
  /** Extra files (consumer outputs) live here. */
  dir: string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Extra YAML under the secret (consumers, rotation), indented by 4 spaces. */
  secretExtra?: string;
  /** Override the target's port (e.g. a proxy in front of the server). */
  port?: number;
}

const password = () => `Kt-${randomBytes(12).toString('base64url')}`;

async function createUser(kind: Kind, username: string, pw: string): Promise<{ drop(): Promise<void>; admin: { username: string; password: string } | null; port: number; extra: string }> {
  if (kind === 'postgres') {
    const cluster = await pgAuthCluster();
    await psqlAsPostgres(`CREATE ROLE ${username} LOGIN PASSWORD '${pw}';`);
    return {
      admin: cluster.admin,
      port: cluster.port,
      extra: 'database: postgres',
      drop: async () => void (await psqlAsPostgres(`DROP ROLE IF EXISTS ${username}; DROP ROLE IF EXISTS ${username}_clone;`)),
    };
  }
  if (kind === 'mysql') {
    const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
    await root.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [username, pw]);
    await root.query(`GRANT SELECT ON mysql.user TO ?@'%'`, [username]);
    await root.end();
    return {
      admin: { username: 'root', password: '' },
      port: 3306,
      extra: '',
      drop: async () => {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
        await c.query(`DROP USER IF EXISTS ?@'%'`, [username]);
        await c.query(`DROP USER IF EXISTS ?@'%'`, [`${username}_clone`]);
        await c.end();
      },
    };
  }
  const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await r.connect();
  await r.call('ACL', 'SETUSER', username, 'on', `>${pw}`, '+ping', '+get', `~${username}:*`);
  r.disconnect();
  return {
    admin: null,
    port: 6379,
    extra: '',
    drop: async () => {
      const c = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
      await c.connect();
      await c.call('ACL', 'DELUSER', username, `${username}_clone`);
      c.disconnect();
    },
  };
}

/** A home with `target: db` and the secret `app/db` managing a fresh user on the real server. */
export async function rotationFixture(kind: Kind, strategy: Strategy, options: FixtureOptions = {}): Promise<RotationFixture> {
  const tmp = tempDir();
  const home = join(tmp.dir, 'home');
  const username = `kt_${kind.slice(0, 2)}_${randomBytes(4).toString('hex')}`;
  const pw = password();
  const user = await createUser(kind, username, pw);
  const env: Record<string, string> = { KEYTURN_HOME: home, APP_PASSWORD: pw, ADMIN_PASSWORD: user.admin?.password ?? '' };
  const port = options.port ?? user.port;
  const adminSecret = user.admin ? `  admin/db:\n    type: database-credential\n    initial: { username: ${user.admin.username}, password: "\${env:ADMIN_PASSWORD}" }\n` : '';
  const yaml = `version: 1
targets:
  db:
    type: ${kind}
    host: 127.0.0.1
    port: ${port}
${user.extra ? `    ${user.extra}\n` : ''}${user.admin ? '    admin: admin/db\n' : ''}secrets:
${adminSecret}  app/db:
    type: database-credential
    target: db
    strategy: ${strategy}
    initial: { username: ${username}, password: "\${env:APP_PASSWORD}" }
${options.secretExtra ?? ''}`;
  const file = join(tmp.dir, 'keyturn.yaml');
  writeFileSync(file, yaml);
  for (const argv of [['init'], ['apply', '-f', file]]) {
    const r = await runCli(argv, { env });
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  }
  return {
    kind,
    strategy,
    home,
    env: { KEYTURN_HOME: home },
    path: 'app/db',
    username,
    login: { kind, host: '127.0.0.1', port: user.port, ...(kind === 'postgres' ? { database: 'postgres' } : {}) },
    dir: tmp.dir,
    close: async () => {
      await user.drop();
      tmp.remove();
    },
  };
}
