/** The state database: migrations on both dialects, a too-new database, concurrent writers on one SQLite file. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { openState } from '../src/state/db.js';
import { BIN, runCli, SPAWN_MS } from './helpers/cli.js';
import { postgresState, tempDir } from './helpers/state.js';

describe('state database', () => {
  it('migrates SQLite and PostgreSQL to the same tables', async () => {
    const tmp = tempDir();
    const sqlite = await openState({ sqliteFile: join(tmp.dir, 's.db') });
    const pg = await postgresState();
    try {
      // On PostgreSQL, only the test's own schema: other schemas of the database (other tests) have their tables too.
      const tables = async (s: typeof sqlite, schema?: string) =>
        (await s.db.introspection.getTables())
          .filter((t) => schema === undefined || t.schema === schema)
          .map((t) => t.name)
          .filter((n) => !n.startsWith('kysely_'))
          .sort();
      expect(await tables(sqlite)).toEqual(
        expect.arrayContaining(['data_keys', 'kt_settings', 'secret_stages', 'secret_versions', 'secrets', 'runs', 'run_steps', 'run_consumers', 'leases', 'targets', 'secret_policies']),
      );
      expect(await tables(pg.state, pg.schema)).toEqual(await tables(sqlite));
    } finally {
      await sqlite.close();
      await pg.close();
      tmp.remove();
    }
  });

  it("a PostgreSQL schema migrates even when another schema of the database holds Kysely's tables (another Keyturn)", async () => {
    const other = await postgresState();
    try {
      // `other` holds kysely_migration and kysely_migration_lock in its own schema; a new schema must get its own.
      const mine = await postgresState();
      try {
        expect((await mine.state.db.selectFrom('runs').select('id').execute()).length).toBe(0);
      } finally {
        await mine.close();
      }
    } finally {
      await other.close();
    }
  });

  it('refuses a database migrated by a newer Keyturn, changing nothing', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 's.db');
    await (await openState({ sqliteFile: file })).close();
    const raw = new DatabaseSync(file);
    raw.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('9999_from_the_future', new Date().toISOString());
    raw.close();
    let caught: unknown;
    try {
      await openState({ sqliteFile: file });
    } catch (e) {
      caught = e;
    }
    expect(isKeyturnError(caught, 'KT_DATABASE_TOO_NEW')).toBe(true);
    tmp.remove();
  });

  it('an unreachable PostgreSQL is KT_DATABASE_UNAVAILABLE', async () => {
    const tmp = tempDir();
    const r = await runCli(['status'], { env: { KEYTURN_HOME: tmp.dir, KEYTURN_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KT_DATABASE_UNAVAILABLE');
    tmp.remove();
  });

  // Each writer starts ten processes one after another: a budget of ten start-ups, not a speed goal.
  it('four processes writing one SQLite file at once all succeed', { timeout: 10 * SPAWN_MS }, async () => {
    const tmp = tempDir();
    const env = { KEYTURN_HOME: tmp.dir };
    expect((await runCli(['init'], { env })).code).toBe(0);
    const writer = (i: number) =>
      new Promise<number>((resolve) => {
        // Each process runs 10 puts in sequence; the four processes interleave on the file lock.
        const script = `for n in $(seq 1 10); do "${process.execPath}" "${BIN}" secret put shared/counter --value "w${i}-$n" || exit 1; done`;
        const child = spawn('bash', ['-c', script], { env: { ...process.env, ...env }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([0, 1, 2, 3].map(writer))).toEqual([0, 0, 0, 0]);
    const history = JSON.parse((await runCli(['secret', 'history', 'shared/counter', '--json'], { env })).stdout);
    expect(history.history).toHaveLength(40);
    expect(history.history.map((v: { version: number }) => v.version)).toEqual(Array.from({ length: 40 }, (_, i) => 40 - i));
    tmp.remove();
  });
});
