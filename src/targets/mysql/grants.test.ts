import { describe, expect, it } from 'vitest';
import { GrantParseError, grantSyncStatements, parseGrants } from './grants.js';

// Lines as MariaDB 10.11 prints them (SHOW GRANTS FOR `p1`@`%`).
const PRIMARY = [
  'GRANT `kt_r1` TO `p1`@`%` WITH ADMIN OPTION',
  "GRANT PROCESS ON *.* TO `p1`@`%` IDENTIFIED BY PASSWORD '*5146DE71291F8D7B46874C14DD351748E9B8A304' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 10",
  'GRANT SELECT, INSERT ON `kt_probe`.* TO `p1`@`%` WITH GRANT OPTION',
  'GRANT ALL PRIVILEGES ON `kt\\_p%`.* TO `p1`@`%`',
  'GRANT SELECT (`a`, `b`), UPDATE (`a`) ON `kt_probe`.`t` TO `p1`@`%`',
  'SET DEFAULT ROLE `kt_r1` FOR `p1`@`%`',
];
const CLONE = "'p1_clone'@'%'";

describe('mysql grants', () => {
  it('parses privileges per object, column privileges, GRANT OPTION, roles and the default role', () => {
    const g = parseGrants(PRIMARY);
    expect(Object.fromEntries([...g.privileges].map(([o, a]) => [o, [...a]]))).toEqual({
      '*.*': ['PROCESS'],
      '`kt_probe`.*': ['SELECT', 'INSERT'],
      '`kt\\_p%`.*': ['ALL PRIVILEGES'],
      '`kt_probe`.`t`': ['SELECT (`a`)', 'SELECT (`b`)', 'UPDATE (`a`)'],
    });
    expect([...g.grantOption]).toEqual(['`kt_probe`.*']);
    expect([...g.roles]).toEqual([['`kt_r1`', true]]);
    expect(g.defaultRole).toBe('`kt_r1`');
  });

  it('replays everything on an empty clone, never the grantee or the password hash', () => {
    const statements = grantSyncStatements(parseGrants(PRIMARY), parseGrants(['GRANT USAGE ON *.* TO `p1_clone`@`%`']), CLONE);
    expect(statements).toEqual([
      `GRANT \`kt_r1\` TO ${CLONE} WITH ADMIN OPTION`,
      `GRANT PROCESS ON *.* TO ${CLONE}`,
      `GRANT SELECT, INSERT ON \`kt_probe\`.* TO ${CLONE} WITH GRANT OPTION`,
      `GRANT ALL PRIVILEGES ON \`kt\\_p%\`.* TO ${CLONE}`,
      `GRANT SELECT (\`a\`, \`b\`), UPDATE (\`a\`) ON \`kt_probe\`.\`t\` TO ${CLONE}`,
      `SET DEFAULT ROLE \`kt_r1\` FOR ${CLONE}`,
    ]);
    expect(statements.join('\n')).not.toMatch(/IDENTIFIED|5146DE71|`p1`/);
  });

  it('revokes the extra before granting the missing, and nothing when equal', () => {
    const clone = parseGrants([
      'GRANT `kt_r2` TO `p1_clone`@`%` WITH ADMIN OPTION',
      'GRANT ALL PRIVILEGES ON `kt_probe`.* TO `p1_clone`@`%` WITH GRANT OPTION',
      'GRANT SELECT (`a`, `c`) ON `kt_probe`.`t` TO `p1_clone`@`%`',
      'SET DEFAULT ROLE `kt_r2` FOR `p1_clone`@`%`',
    ]);
    const primary = parseGrants(['GRANT `kt_r2` TO `p1`@`%`', 'GRANT SELECT ON `kt_probe`.* TO `p1`@`%`', 'GRANT SELECT (`a`) ON `kt_probe`.`t` TO `p1`@`%`']);
    expect(grantSyncStatements(primary, clone, CLONE)).toEqual([
      `REVOKE ALL PRIVILEGES ON \`kt_probe\`.* FROM ${CLONE}`,
      `REVOKE SELECT (\`c\`) ON \`kt_probe\`.\`t\` FROM ${CLONE}`,
      `REVOKE GRANT OPTION ON \`kt_probe\`.* FROM ${CLONE}`,
      `REVOKE ADMIN OPTION FOR \`kt_r2\` FROM ${CLONE}`,
      `GRANT SELECT ON \`kt_probe\`.* TO ${CLONE}`,
      `SET DEFAULT ROLE NONE FOR ${CLONE}`,
    ]);
    expect(grantSyncStatements(primary, primary, CLONE)).toEqual([]);
  });

  it('grants GRANT OPTION alone with USAGE', () => {
    const primary = parseGrants(['GRANT SELECT ON `d`.* TO `p`@`%` WITH GRANT OPTION']);
    const clone = parseGrants(['GRANT SELECT ON `d`.* TO `c`@`%`']);
    expect(grantSyncStatements(primary, clone, CLONE)).toEqual([`GRANT USAGE ON \`d\`.* TO ${CLONE} WITH GRANT OPTION`]);
  });

  it('keeps backtick-quoted names whole, even ones holding keywords, commas or quotes', () => {
    const g = parseGrants(['GRANT SELECT (`to`, `a,b`) ON `on db`.`it``s` TO `p`@`%`']);
    expect([...g.privileges.get('`on db`.`it``s`')!]).toEqual(['SELECT (`to`)', 'SELECT (`a,b`)']);
  });

  it('refuses a line it cannot read, naming only its number', () => {
    const e = (() => {
      try {
        parseGrants(['GRANT USAGE ON *.* TO `p`@`%`', "GRANT 'select' ON `d`.* TO `p`@`%` IDENTIFIED BY PASSWORD 'hash'"]);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(GrantParseError);
    expect((e as Error).message).toBe('SHOW GRANTS line 2 is not understood');
    expect(() => parseGrants(['REVOKE SELECT ON *.* FROM `p`@`%`'])).toThrow(GrantParseError);
    expect(() => parseGrants(["GRANT PROXY ON 'unterminated TO `p`@`%`"])).toThrow(GrantParseError);
  });
});
