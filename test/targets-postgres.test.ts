/**
 * The postgres target against the password-auth cluster on 55432 (scram-sha-256): the Target
 * contract, then what is particular to PostgreSQL (ADMIN OPTION sync, non-ASCII passwords,
 * verifiers instead of passwords, over-long names).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { createTarget } from '../src/targets/registry.js';
import { cloneUsername, type Credential, type Strategy, type TargetContext } from '../src/targets/target.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { postgresFixture, type PostgresFixture } from './fixtures/targets/postgres.js';
import { uniqueName } from '../src/contracts/names.js';
import { psqlAsPostgres } from './helpers/pg-auth.js';

runTargetContract({ name: 'postgres (scram-sha-256 on 55432)', strategies: ['single-user', 'alternating-users'], make: postgresFixture });

describe('postgres target: PostgreSQL specifics', () => {
  let fx: PostgresFixture;
  const users: string[] = [];
  const ctx = (strategy: Strategy, primaryUsername: string) => fx.context(strategy, primaryUsername);
  const user = async (password: string): Promise<Credential> => {
    const username = uniqueName();
    users.push(username, cloneUsername(username));
    await fx.createUser(username, password);
    return { username, password };
  };

  beforeAll(async () => {
    fx = await postgresFixture();
  });
  afterAll(async () => {
    for (const u of users) await fx.dropUser(u);
    await fx.close();
  });

  it('syncs ADMIN OPTION both ways', async () => {
    const primary = await user('Primary-pass-1');
    const group = await fx.newMembership();
    await fx.sql(`GRANT ${pg.escapeIdentifier(group)} TO ${pg.escapeIdentifier(primary.username)} WITH ADMIN OPTION`);
    const clone = { username: cloneUsername(primary.username), password: 'Clone-pass-1' };
    await fx.target.set(ctx('alternating-users', primary.username), clone, primary);
    expect(await fx.memberships(clone.username)).toContain(`${group} (admin)`);

    await fx.sql(`REVOKE ADMIN OPTION FOR ${pg.escapeIdentifier(group)} FROM ${pg.escapeIdentifier(primary.username)}`);
    await fx.target.set(ctx('alternating-users', primary.username), clone, primary);
    expect(await fx.memberships(clone.username)).toContain(group);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(primary.username));
  });

  it('stores a SCRAM verifier for ASCII passwords and lets the server hash any other', async () => {
    const cred = await user('Start-pass-1');
    const ascii = { username: cred.username, password: "Ascii 'quoted' \\ pass" };
    await fx.target.set(ctx('single-user', cred.username), ascii, cred);
    await fx.target.test(ctx('single-user', cred.username), ascii);
    const stored = await psqlAsPostgres(`SELECT rolpassword FROM pg_authid WHERE rolname = '${cred.username}';`);
    expect(stored.trim()).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);

    const unicode = { username: cred.username, password: 'pässwörd-ünïcode-€-1' };
    await fx.target.set(ctx('single-user', cred.username), unicode, ascii);
    await fx.target.test(ctx('single-user', cred.username), unicode);
    await expect(fx.target.test(ctx('single-user', cred.username), ascii)).rejects.toMatchObject({ code: 'KT_TARGET_AUTH_FAILED' });
  });

  it('refuses a clone name over 63 bytes instead of letting the server truncate it', async () => {
    const primary = { username: `kt_${'x'.repeat(58)}`, password: 'Long-name-1' };
    const clone = { username: cloneUsername(primary.username), password: 'Long-name-2' };
    const e = await fx.target.set(ctx('alternating-users', primary.username), clone, primary).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_USERNAME_INVALID')).toBe(true);
  });

  it('keeps the admin connection between calls and replaces it once the server has closed it', async () => {
    const adminName = uniqueName('kt_adm');
    const admin = { username: adminName, password: `Adm-${uniqueName()}` };
    users.push(adminName);
    await fx.sql(`CREATE ROLE ${pg.escapeIdentifier(adminName)} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(admin.password)}`);
    const target = createTarget({ type: 'postgres', host: fx.cluster.host, port: fx.cluster.port, database: fx.cluster.database });
    const c = (u: string): TargetContext => ({ ...ctx('single-user', u), admin });
    const backends = async () => Number((await psqlAsPostgres(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${adminName}';`)).trim());
    try {
      const cred = await user('First-pass-1');
      const second = { username: cred.username, password: 'Second-pass-2' };
      await target.set(c(cred.username), second, cred);
      expect(await backends()).toBe(1);
      await target.set(c(cred.username), second, cred);
      expect(await backends()).toBe(1);

      await psqlAsPostgres(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${adminName}';`);
      const third = { username: cred.username, password: 'Third-pass-3' };
      await target.set(c(cred.username), third, second);
      await target.test(c(cred.username), third);
    } finally {
      await target.close?.();
    }
    expect(await backends()).toBe(0);
  });

  it('maps a missing database to KT_TARGET_CONFIG_INVALID', async () => {
    const target = createTarget({ type: 'postgres', host: fx.cluster.host, port: fx.cluster.port, database: 'kt_no_such_db' });
    const e = await target.test(ctx('single-user', fx.cluster.admin.username), fx.cluster.admin).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_CONFIG_INVALID')).toBe(true);
  });
});
