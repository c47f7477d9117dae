/**
 * The mysql target against the machine's MariaDB (127.0.0.1:3306, root without a password as
 * admin; other accounts need their password over TCP): the Target contract, then what is
 * particular to MySQL grants (column privileges, GRANT OPTION, ALL PRIVILEGES, roles, default
 * role), the locked-clone resume path and the account host part.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneUsername, type Credential } from '../src/targets/target.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { mysqlFixture, type MysqlFixture } from './fixtures/targets/mysql.js';
import { uniqueName } from '../src/contracts/names.js';

runTargetContract({ name: 'mysql (MariaDB on 3306)', strategies: ['single-user', 'alternating-users'], make: () => mysqlFixture() });

describe('mysql target: grants and accounts', () => {
  let fx: MysqlFixture;
  const users: string[] = [];
  const roles: string[] = [];
  const databases: string[] = [];
  const ctx = (primaryUsername: string) => fx.context('alternating-users', primaryUsername);
  const user = async (f = fx): Promise<Credential> => {
    const cred = { username: uniqueName(), password: `Pw-${uniqueName()}` };
    users.push(cred.username, cloneUsername(cred.username));
    await f.createUser(cred.username, cred.password);
    return cred;
  };
  const rotate = async (primary: Credential, f = fx): Promise<Credential> => {
    const clone = { username: cloneUsername(primary.username), password: `Pw-${uniqueName()}` };
    await f.target.set(ctx(primary.username), clone, primary);
    await f.target.test(ctx(primary.username), clone);
    return clone;
  };

  beforeAll(async () => {
    fx = await mysqlFixture();
  });
  afterAll(async () => {
    for (const u of users) await fx.dropUser(u);
    for (const r of roles) await fx.sql(`DROP ROLE IF EXISTS ${r}`);
    for (const d of databases) await fx.sql(`DROP DATABASE IF EXISTS \`${d}\``);
    await fx.close();
  });

  it('copies column privileges, GRANT OPTION, global privileges and ALL PRIVILEGES, and takes back the extra', async () => {
    const p = await user();
    const acct = fx.accountOf(p.username);
    const db = uniqueName('kt_db');
    databases.push(db);
    await fx.sql(`CREATE DATABASE \`${db}\``);
    await fx.sql(`CREATE TABLE \`${db}\`.\`t\` (a INT, b INT)`);
    await fx.sql(`GRANT SELECT (\`a\`, \`b\`), UPDATE (\`a\`) ON \`${db}\`.\`t\` TO ${acct}`);
    await fx.sql(`GRANT SELECT, INSERT ON \`${db}\`.* TO ${acct} WITH GRANT OPTION`);
    await fx.sql(`GRANT PROCESS ON *.* TO ${acct}`);
    await fx.sql(`GRANT ALL PRIVILEGES ON \`${db}_all\`.* TO ${acct}`);
    const clone = await rotate(p);
    const want = await fx.memberships(p.username);
    expect(want.join('\n')).toContain('SELECT (`a`, `b`), UPDATE (`a`)');
    expect(await fx.memberships(clone.username)).toEqual(want);

    // The primary narrows; the clone gained more on its own: the next rotation follows the primary.
    await fx.sql(`REVOKE GRANT OPTION ON \`${db}\`.* FROM ${acct}`);
    await fx.sql(`REVOKE UPDATE (\`a\`) ON \`${db}\`.\`t\` FROM ${acct}`);
    await fx.sql(`REVOKE ALL PRIVILEGES ON \`${db}_all\`.* FROM ${acct}`);
    await fx.sql(`GRANT SELECT ON \`${db}_all\`.* TO ${acct}`);
    await fx.sql(`GRANT DELETE ON \`${db}\`.* TO ${fx.accountOf(clone.username)}`);
    await fx.sql(`GRANT RELOAD ON *.* TO ${fx.accountOf(clone.username)}`);
    await rotate(p);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
  });

  it('copies roles with ADMIN OPTION and the default role, and revokes roles the primary lacks', async () => {
    const [r1, r2] = [uniqueName('kt_role'), uniqueName('kt_role')];
    roles.push(r1, r2);
    await fx.sql(`CREATE ROLE ${r1}`);
    await fx.sql(`CREATE ROLE ${r2}`);
    const p = await user();
    const acct = fx.accountOf(p.username);
    await fx.sql(`GRANT ${r1} TO ${acct} WITH ADMIN OPTION`);
    await fx.sql(`SET DEFAULT ROLE ${r1} FOR ${acct}`);
    const clone = await rotate(p);
    const want = await fx.memberships(p.username);
    expect(want).toContain(`SET DEFAULT ROLE \`${r1}\` FOR USER`);
    expect(await fx.memberships(clone.username)).toEqual(want);

    await fx.sql(`SET DEFAULT ROLE NONE FOR ${acct}`);
    await fx.sql(`REVOKE ${r1} FROM ${acct}`);
    await fx.sql(`GRANT ${r2} TO ${acct}`);
    await rotate(p);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
  });

  it("never gives the clone the primary's password", async () => {
    const p = await user();
    const clone = await rotate(p);
    await expect(fx.target.test(ctx(p.username), { username: clone.username, password: p.password })).rejects.toMatchObject({ code: 'KT_TARGET_AUTH_FAILED' });
  });

  it('finishes a clone left locked by an interrupted first rotation', async () => {
    const p = await user();
    const cloneName = cloneUsername(p.username);
    await fx.sql(`CREATE USER ${fx.accountOf(cloneName)} IDENTIFIED BY 'half-done' ACCOUNT LOCK`);
    await expect(fx.target.test(ctx(p.username), { username: cloneName, password: 'half-done' })).rejects.toMatchObject({ code: 'KT_TARGET_AUTH_FAILED' });
    await rotate(p);
    expect(await fx.memberships(cloneName)).toEqual(await fx.memberships(p.username));
  });

  it('creates the clone with the configured host part', async () => {
    const local = await mysqlFixture('127.0.0.1');
    try {
      const p = await user(local);
      const clone = await rotate(p, local);
      const rows = (await local.sql('SELECT Host AS host FROM mysql.user WHERE User = ?', [clone.username])) as { host: string }[];
      expect(rows.map((r) => r.host)).toEqual(['127.0.0.1']);
      for (const u of [p.username, clone.username]) await local.dropUser(u);
    } finally {
      await local.close();
    }
  });
});
