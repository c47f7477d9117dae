/**
 * Bad input and bad conditions through the CLI, each refused with a code and a fix, exit non-zero,
 * and nothing lost or half-written: a full database (SQLITE_FULL through `PRAGMA max_page_count`),
 * a partly invalid keyturn.yaml for `apply` (dry run and real; a strategy its target does not
 * rotate with among them), a YAML alias bomb, an oversized
 * config file, and a `secret put --file` that is not UTF-8.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useCliHome } from './helpers/cli-home.js';
import { runCli } from './helpers/cli.js';

const home = useCliHome();

interface CliError {
  code: string;
  message: string;
  fix: string;
  status: number;
}

function jsonError(stderr: string): CliError {
  return (JSON.parse(stderr.slice(stderr.indexOf('{'))) as { error: CliError }).error;
}

afterEach(() => vi.restoreAllMocks());

/**
 * Every connection this process opens on the home's file from now on cannot grow it: SQLite
 * answers SQLITE_FULL, as on a full disk. (`PRAGMA max_page_count` holds per connection, so it is
 * set on the CLI's own connection, as it opens, rather than on one of the test's.)
 */
function capDatabaseSize(): void {
  const file = join(home.dir, 'keyturn.db');
  const exec = DatabaseSync.prototype.exec;
  vi.spyOn(DatabaseSync.prototype, 'exec').mockImplementation(function (this: DatabaseSync, sql: string) {
    exec.call(this, sql);
    if (/journal_mode/i.test(sql) && this.location() === file) {
      const { page_count } = this.prepare('PRAGMA page_count').get() as { page_count: number };
      exec.call(this, `PRAGMA max_page_count = ${page_count}`);
    }
  });
}

/** Rows in the audit log's tables (which the state dump leaves out). */
function auditRows(): Record<string, number> {
  const db = new DatabaseSync(join(home.dir, 'keyturn.db'));
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'audit\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>;
    return Object.fromEntries(tables.map((t) => [t.name, (db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

describe('a full state database', () => {
  it('secret put of a big value is KT_DATABASE_FULL (exit 1, free disk space), and the store is unchanged and still opens', async () => {
    expect((await home.kt(['secret', 'put', 'app/small', '--value', 'v1'])).code).toBe(0);
    const before = home.dump();
    capDatabaseSize();
    const r = await home.kt(['secret', 'put', 'app/big', '--value', 'x'.repeat(60_000), '--json']);
    expect(r.code, r.stderr).toBe(1);
    const error = jsonError(r.stderr);
    expect(error.code).toBe('KT_DATABASE_FULL');
    expect(error.status).toBe(507);
    expect(error.message).toContain('full');
    expect(error.message).toContain('nothing was written');
    expect(error.message).not.toContain('cannot rollback');
    expect(error.fix).toMatch(/[Ff]ree disk space/);
    expect(r.stderr).not.toContain('x'.repeat(100));
    vi.restoreAllMocks();
    expect(home.dump()).toEqual(before);
    const get = await home.kt(['secret', 'get', 'app/small']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe('v1');
    expect((await home.kt(['secret', 'get', 'app/big'])).code).toBe(3);
  });
});

describe('keyturn.yaml limits', () => {
  const BOMB = `version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
secrets: {}
`;

  it('an alias bomb ("billion laughs") is KT_CONFIG_FILE_INVALID (exit 2), from a file and from stdin, and changes nothing', async () => {
    const file = join(home.dir, 'bomb.yaml');
    writeFileSync(file, BOMB);
    const before = home.dump();
    for (const [argv, stdin] of [
      [['apply', '-f', file, '--json'], undefined],
      [['apply', '-f', '-', '--json'], BOMB],
    ] as const) {
      const r = await home.kt([...argv], stdin);
      expect(r.code, r.stderr).toBe(2);
      const error = jsonError(r.stderr);
      expect(error.code).toBe('KT_CONFIG_FILE_INVALID');
      expect(error.message).toMatch(/alias bomb/);
      expect(error.message).toContain('100');
    }
    expect(home.dump()).toEqual(before);
  });

  it('a file over 1 MiB is KT_CONFIG_FILE_INVALID naming its size and the limit, from a file and from stdin', async () => {
    const big = `version: 1\nsecrets: {}\n${'# padding padding padding padding padding padding padding padding\n'.repeat(17_000)}`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
    const file = join(home.dir, 'big.yaml');
    writeFileSync(file, big);
    const before = home.dump();
    const fromFile = await home.kt(['apply', '-f', file, '--json']);
    expect(fromFile.code, fromFile.stderr).toBe(2);
    const error = jsonError(fromFile.stderr);
    expect(error.code).toBe('KT_CONFIG_FILE_INVALID');
    expect(error.message).toBe(`${file} is ${Buffer.byteLength(big)} bytes; the limit for a configuration file is 1048576 bytes (1 MiB)`);
    const fromStdin = await home.kt(['apply', '-f', '-', '--json'], big);
    expect(fromStdin.code, fromStdin.stderr).toBe(2);
    expect(jsonError(fromStdin.stderr).code).toBe('KT_CONFIG_FILE_INVALID');
    expect(jsonError(fromStdin.stderr).message).toMatch(/^stdin is more than \d+ bytes; the limit for a configuration file is 1048576 bytes/);
    expect(home.dump()).toEqual(before);
    // Just under the limit is fine.
    const fits = `version: 1\nsecrets: {}\n${'#'.repeat(1024 * 1024 - 40)}\n`;
    expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(1024 * 1024);
    expect((await home.kt(['apply', '-f', '-'], fits)).code).toBe(0);
  });
});

describe('apply checks the whole file before writing anything', () => {
  const TWO = `version: 1
secrets:
  a/first:
    type: app-secret
    initial: "first value"
  b/second:
    type: app-secret
    initial:
      ok: fine
      bad field: x
`;

  async function refused(argv: string[], stdin: string, env: Record<string, string> = {}, code = 'KT_CONFIG_FILE_INVALID'): Promise<CliError> {
    const r = await runWith(argv, stdin, env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const error = jsonError(r.stderr);
    expect(error.code).toBe(code);
    return error;
  }
  const runWith = (argv: string[], stdin: string, env: Record<string, string>) => runCli(argv, { env: { ...home.env, ...env }, stdin });

  it('a field name the store refuses: the dry run and the real apply both say where (dot-path and line), and nothing is stored or audited', async () => {
    const before = home.dump();
    const audit = auditRows();
    for (const argv of [
      ['apply', '-f', '-', '--dry-run', '--json'],
      ['apply', '-f', '-', '--json'],
    ]) {
      const error = await refused(argv, TWO);
      expect(error.message).toBe('stdin:10: secrets.b/second.initial.bad field: field name "bad field" must match [A-Za-z0-9._-]+ (KT_VALUE_FIELD_INVALID)');
      expect(error.fix).toContain('keyturn apply');
    }
    expect(home.dump()).toEqual(before);
    expect(auditRows()).toEqual(audit);
    expect((await home.kt(['secret', 'get', 'a/first'])).code).toBe(3);
  });

  it('every problem at once: sizes against KEYTURN_MAX_VALUE_BYTES, empty values and fields, no fields, tags the store refuses', async () => {
    const yaml = `version: 1
secrets:
  a/big:
    type: app-secret
    initial: "${'x'.repeat(200)}"
  a/empty:
    type: app-secret
    initial: ""
  a/nofields:
    type: app-secret
    initial: {}
  a/emptyfield:
    type: database-credential
    initial: { username: app, password: "" }
  a/tagged:
    type: app-secret
    tags: { "bad key": v }
`;
    const before = home.dump();
    for (const argv of [
      ['apply', '-f', '-', '--dry-run', '--json'],
      ['apply', '-f', '-', '--json'],
    ]) {
      const error = await refused(argv, yaml, { KEYTURN_MAX_VALUE_BYTES: '100' });
      expect(error.message).toContain('stdin:17: secrets.a/tagged.tags.bad key: a tag key is 1 to 128 characters of [A-Za-z0-9._/-]');
      expect(error.message).not.toContain('x'.repeat(50));
    }
    // The tag is a schema error, reported first; with it fixed the value checks all come at once.
    const values = await refused(['apply', '-f', '-', '--dry-run', '--json'], yaml.replace('"bad key"', 'team'), { KEYTURN_MAX_VALUE_BYTES: '100' });
    expect(values.message.split('; ')).toEqual([
      'stdin:5: secrets.a/big.initial: the value is 200 bytes, over the limit of 100 bytes (KEYTURN_MAX_VALUE_BYTES) (KT_VALUE_TOO_LARGE)',
      'stdin:8: secrets.a/empty.initial: the initial value is empty (KT_VALUE_EMPTY)',
      'stdin:11: secrets.a/nofields.initial: the initial value has no fields (KT_VALUE_EMPTY)',
    ]);
    // An empty field written in the file is deliberate (an admin without a password): accepted.
    expect(values.message).not.toContain('a/emptyfield');
    expect(home.dump()).toEqual(before);
  });

  it('a strategy the target does not rotate with: the dry run and the real apply both refuse it at once, at secrets.PATH.strategy, and nothing is stored or audited', async () => {
    const yaml = `version: 1
targets:
  main-pg: { type: postgres, host: 127.0.0.1, port: 5432, database: app }
  none: { type: generic }
secrets:
  app/ok:
    type: app-secret
    target: none
    strategy: simple
    initial: "kept out"
  app/on-pg:
    type: app-secret
    target: main-pg
    strategy: simple
  db/on-generic:
    type: database-credential
    target: none
    initial: { username: app, password: "not stored" }
`;
    const before = home.dump();
    const audit = auditRows();
    for (const argv of [
      ['apply', '-f', '-', '--dry-run', '--json'],
      ['apply', '-f', '-', '--json'],
    ]) {
      const error = await refused(argv, yaml, {}, 'KT_TARGET_STRATEGY_UNSUPPORTED');
      expect(error.message.split('; ')).toEqual([
        'stdin:14: secrets.app/on-pg.strategy: the postgres target "main-pg" rotates with single-user or alternating-users, not "simple"',
        'stdin:16: secrets.db/on-generic.strategy: the generic target "none" rotates with simple, not the default "single-user" (strategy: is not set)',
      ]);
      expect(error.fix).toContain('secrets.<path>.strategy');
    }
    expect(home.dump()).toEqual(before);
    expect(auditRows()).toEqual(audit);
    expect((await home.kt(['secret', 'get', 'app/ok'])).code).toBe(3);
  });

  it('a failure midway (the database fills up on the second value) leaves nothing behind: no first value, policy or audit event', async () => {
    const yaml = `version: 1
secrets:
  a/first:
    type: app-secret
    initial: "small"
  b/second:
    type: app-secret
    initial: "${'y'.repeat(60_000)}"
`;
    const before = home.dump();
    capDatabaseSize();
    const r = await runWith(['apply', '-f', '-', '--json'], yaml, {});
    expect(r.code, r.stderr).toBe(1);
    expect(jsonError(r.stderr).code).toBe('KT_DATABASE_FULL');
    vi.restoreAllMocks();
    expect(home.dump()).toEqual(before);
    expect((await home.kt(['secret', 'get', 'a/first'])).code).toBe(3);
    // With room again, the same file applies in full.
    const ok = await runWith(['apply', '-f', '-'], yaml, {});
    expect(ok.code, ok.stderr).toBe(0);
    expect((await home.kt(['secret', 'get', 'a/first'])).stdout).toBe('small');
  });
});

describe('secret put --file that is not UTF-8', () => {
  it('is refused with KT_VALUE_NOT_UTF8 (exit 2, base64 in the fix), storing nothing; valid UTF-8 (with a BOM too) is stored as it is', async () => {
    const file = join(home.dir, 'latin1.txt');
    writeFileSync(file, Buffer.from([0x70, 0x61, 0x73, 0x73, 0xe9, 0x21])); // "pass" é "!" in Latin-1
    const before = home.dump();
    const r = await home.kt(['secret', 'put', 'app/bin', '--file', file, '--json']);
    expect(r.code, r.stderr).toBe(2);
    const error = jsonError(r.stderr);
    expect(error.code).toBe('KT_VALUE_NOT_UTF8');
    expect(error.message).toBe(`the file ${file} is not valid UTF-8 text (the first invalid byte is near byte 5 of 6); nothing was done`);
    expect(error.fix).toContain('base64');
    expect(r.stderr).not.toContain('pass');
    expect(home.dump()).toEqual(before);
    const cut = join(home.dir, 'cut.txt');
    writeFileSync(cut, Buffer.from([0x61, 0xe2, 0x82])); // a three-byte sequence cut short
    expect(jsonError((await home.kt(['secret', 'put', 'app/bin', '--file', cut, '--json'])).stderr).code).toBe('KT_VALUE_NOT_UTF8');

    const good = join(home.dir, 'utf8.txt');
    writeFileSync(good, Buffer.from('\ufeffpassé✓', 'utf8'));
    expect((await home.kt(['secret', 'put', 'app/text', '--file', good])).code).toBe(0);
    expect((await home.kt(['secret', 'get', 'app/text'])).stdout).toBe('\ufeffpassé✓');
  });
});
