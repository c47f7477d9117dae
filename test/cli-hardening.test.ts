/**
 * Bad input and bad conditions through the CLI, each refused with a code and a fix, exit non-zero,
 * and nothing lost or half-written: a full database (SQLITE_FULL through `PRAGMA max_page_count`),
 * a partly invalid keyturn.yaml for `apply` (dry run and real), a YAML alias bomb, an oversized
 * config file, and a `secret put --file` that is not UTF-8.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useCliHome } from './helpers/cli-home.js';

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

describe('a full state database', () => {
  /** Every connection this process opens on the home's file stops growing it: SQLite answers SQLITE_FULL. */
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
    expect(get.stdout).toBe('v1\n');
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
    for (const [argv, stdin] of [[['apply', '-f', file, '--json'], undefined], [['apply', '-f', '-', '--json'], BOMB]] as const) {
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
