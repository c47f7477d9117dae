/**
 * The database drivers, each imported on first use: a command that never touches PostgreSQL,
 * MariaDB, Redis, LDAP, RabbitMQ or SSH never loads pg, mysql2, ioredis, ldapts, amqplib or ssh2 (they stay outside the CLI bundle too, see
 * scripts/bundle-cli.js). After the first load, `loaded*()` hands the module out synchronously,
 * for code such as error mapping that runs where no `await` fits.
 *
 * @example
 * ```ts
 * const pg = await loadPg();
 * const client = new pg.Client({ host, port });
 * ```
 */
import type pg from 'pg';
import type mysql from 'mysql2';
import type { Redis } from 'ioredis';
import type * as Ldapts from 'ldapts';
import type amqp from 'amqplib';
import type * as Ssh2 from 'ssh2';

let pgModule: typeof pg | undefined;
let mysqlModule: typeof mysql | undefined;
let redisClass: typeof Redis | undefined;
let ldapModule: typeof Ldapts | undefined;
let amqpModule: typeof amqp | undefined;
let ssh2Module: typeof Ssh2 | undefined;

/** node-postgres, for the state database on PostgreSQL and the postgres target. */
export async function loadPg(): Promise<typeof pg> {
  return (pgModule ??= (await import('pg')).default);
}

/** node-postgres if it was loaded already (any pg error means it was). */
export function loadedPg(): typeof pg | undefined {
  return pgModule;
}

/** mysql2, for the mysql target (MySQL and MariaDB). */
export async function loadMysql(): Promise<typeof mysql> {
  return (mysqlModule ??= (await import('mysql2')).default);
}

/** ioredis's client class, for the redis target. */
export async function loadRedis(): Promise<typeof Redis> {
  return (redisClass ??= (await import('ioredis')).Redis);
}

/** ldapts, for the ldap target. */
export async function loadLdap(): Promise<typeof Ldapts> {
  return (ldapModule ??= await import('ldapts'));
}

/** ldapts if it was loaded already (any ldapts error means it was). */
export function loadedLdap(): typeof Ldapts | undefined {
  return ldapModule;
}

/** amqplib's promise API, for the rabbitmq target's logins. */
export async function loadAmqp(): Promise<typeof amqp> {
  return (amqpModule ??= (await import('amqplib')).default);
}

/** ssh2 (client and key parser), for the ssh target. */
export async function loadSsh2(): Promise<typeof Ssh2> {
  if (ssh2Module) return ssh2Module;
  // CommonJS: the named exports may only be on `default`.
  const m = (await import('ssh2')) as typeof Ssh2 & { default?: typeof Ssh2 };
  return (ssh2Module = m.default ?? m);
}
