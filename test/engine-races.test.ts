/**
 * One run per secret, under any race (issue #8, item 4), and leases that outlive long steps
 * (item 5):
 *
 * - the state database itself refuses a second unfinished run of a secret (a partial unique
 *   index, SQLite and PostgreSQL), and the upgrade that adds it cancels duplicates left by older
 *   versions;
 * - two `keyturn rotate` processes started together on one SQLite home, and two workers in one
 *   process on a PostgreSQL state database: every rotation that reports success is its own run,
 *   finished once, journaled once, delivered once; the refused one leaves nothing behind;
 * - a worker with a stale copy of a run cannot advance it once another worker finished it;
 * - a consumer that runs longer than the lease's TTL keeps the lease: a second worker is refused
 *   and the hook runs once.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Migrator } from 'kysely/migration';
import { loadSettings } from '../src/config/settings.js';
import { Engine } from '../src/engine/engine.js';
import { newRunRow, RunsRepo } from '../src/engine/runs-repo.js';
import { openState } from '../src/state/db.js';
import { MIGRATIONS } from '../src/state/migrations/index.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { systemClock } from '../src/core/clock.js';
import { expectCode } from '../src/contracts/store-contract.js';
import { SPAWN_MS, startCli } from './helpers/cli.js';
import { applyYaml, dropSchema, PG_URL, tempDir } from './helpers/state.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An app secret whose exec consumer appends each delivered value, one per line, to `log`. */
function appYaml(log: string, extra = ''): string {
  return `version: 1
secrets:
  app/token:
    type: app-secret
    password: { length: 24 }
    rotation: { attempts: 1, timeoutMs: 60000 }
    consumers:
      - type: exec
        argv: ["sh", "-c", 'printf "%s\\n" "$KEYTURN_VALUE" >> "$0"${extra}', "${log}"]
`;
}

/**
 * A fresh home; with `postgres`, its state database is a new schema of the 5432 cluster's
 * database, named in the URL's search_path (a schema, not a database: DROP DATABASE waits for a
 * checkpoint, which on a busy machine can outlast any hook's time limit).
 */
async function home(dialect: 'sqlite' | 'postgres'): Promise<{ env: Record<string, string>; dir: string; open(): Promise<Keyturn> }> {
  const tmp = tempDir('keyturn-race-');
  const env: Record<string, string> = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
  if (dialect === 'postgres') {
    const name = `kt_race_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${name}`);
    await admin.end();
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${name}`);
    env.KEYTURN_DATABASE_URL = url.toString();
    cleanups.push(() => dropSchema(name));
  }
  cleanups.push(() => tmp.remove());
  await initHome(loadSettings(env));
  return {
    env,
    dir: tmp.dir,
    open: async () => {
      const kt = await openKeyturn(loadSettings(env));
      cleanups.push(() => kt.close());
      return kt;
    },
  };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/** Every rotation reported as done is a distinct run, finished, journaled and delivered once; nothing is left unfinished. */
async function expectEachRunOnce(kt: Keyturn, log: string, reportedDone: string[]): Promise<void> {
  const engine = await kt.engine();
  expect(new Set(reportedDone).size).toBe(reportedDone.length);
  expect(await engine.runs.active('app/token')).toBeNull();
  const runs = await engine.runs.list({ path: 'app/token', limit: 1000 });
  const done = runs.filter((r) => r.status === 'done');
  expect(runs.map((r) => r.status).filter((s) => s !== 'done')).toEqual([]);
  expect(done.map((r) => r.id).sort()).toEqual([...reportedDone].sort());
  for (const r of done) {
    const steps = (await engine.runs.steps(r.id)).map((s) => s.step);
    expect(steps.filter((s) => s === 'propagate')).toEqual(['propagate']);
    expect(steps.filter((s) => s === 'finish')).toEqual(['finish']);
  }
  // Delivered once per finished run, each time the value that run made current.
  const delivered = lines(log);
  expect(delivered.length).toBe(done.length);
  const values = await Promise.all(done.map(async (r) => (await kt.store.get('app/token', { versionId: r.pendingVersionId! }))!.value));
  expect([...delivered].sort()).toEqual([...values].sort());
}

describe.each(['sqlite', 'postgres'] as const)('one unfinished run per secret, enforced by the %s state database', (dialect) => {
  it('a second unfinished run of a secret is refused with KT_RUN_LOCKED; once the first is done, a new one may start', async () => {
    const h = await home(dialect);
    const kt = await h.open();
    const runs = new RunsRepo(kt.state, kt.clock);
    // A run is written by its first advance (its first commit): that is where the database refuses a second one.
    const journal = { step: 'prepare' as const, attempt: 1, outcome: 'ok' as const, startedAt: 0 };
    const first = await runs.advance(await runs.create({ path: 'app/x', strategy: 'simple' }), { step: 'create' }, journal);
    const rival = await runs.create({ path: 'app/x', strategy: 'simple' });
    await expectCode(() => runs.advance(rival, { step: 'create' }, journal), 'KT_RUN_LOCKED');
    expect(await runs.find(rival.id)).toBeNull();
    // Another secret is not affected.
    await runs.advance(await runs.create({ path: 'app/y', strategy: 'simple' }), { step: 'create' }, journal);
    await runs.advance(first, { status: 'done', step: 'done' });
    const second = await runs.advance(await runs.create({ path: 'app/x', strategy: 'simple' }), { step: 'create' }, journal);
    expect(second.id).not.toBe(first.id);
    expect((await runs.get(second.id)).status).toBe('running');
  });

  it("a run's last commit frees its lease: another worker takes the secret at once, and a late renewal does not take it back", async () => {
    const h = await home(dialect);
    const kt = await h.open();
    await applyYaml(kt, `version: 1\nsecrets:\n  app/token:\n    type: app-secret\n    strategy: simple\n`);
    const first = new Engine({ state: kt.state, store: kt.store, applied: kt.applied, clock: kt.clock, log: kt.log });
    expect((await first.rotate('app/token')).status).toBe('done');
    const lease = async () => kt.state.db.selectFrom('leases').selectAll().where('name', '=', 'secret:app/token').executeTakeFirstOrThrow();
    const row = await lease();
    expect(Number(row.expires_at)).toBe(0);
    // A renewal by the old holder (one that was under way when the run finished) is refused and changes nothing.
    await expectCode(() => first.leases.renew({ name: row.name, holder: row.holder, token: Number(row.token), renewedAt: 0 }, 60_000), 'KT_LEASE_LOST');
    expect(Number((await lease()).expires_at)).toBe(0);
    // Another worker (another holder) rotates at once.
    expect((await (await kt.engine()).rotate('app/token')).status).toBe('done');
    expect((await lease()).holder).not.toBe(row.holder);
  });

  it('a worker holding a stale copy of a run cannot advance it after another worker finished it (KT_RUN_CHANGED)', async () => {
    const h = await home(dialect);
    const kt = await h.open();
    const runs = new RunsRepo(kt.state, kt.clock);
    const run = await runs.create({ path: 'app/x', strategy: 'simple' });
    await runs.advance(run, { status: 'done', step: 'done' }, { step: 'propagate', attempt: 1, outcome: 'ok', startedAt: 0 });
    await expectCode(() => runs.advance(run, { step: 'propagate' }, { step: 'finish', attempt: 1, outcome: 'ok', startedAt: 0 }), 'KT_RUN_CHANGED');
    expect((await runs.steps(run.id)).map((s) => s.step)).toEqual(['propagate']);
    expect((await runs.get(run.id)).status).toBe('done');
  });
});

describe('rotations racing for one secret', () => {
  it('two `keyturn rotate` processes started together on a SQLite home, 4 rounds: each success is its own run, delivered once; the loser leaves nothing', { timeout: 8 * SPAWN_MS }, async () => {
    const h = await home('sqlite');
    const log = join(h.dir, 'delivered.log');
    const kt = await h.open();
    await applyYaml(kt, appYaml(log));
    const reported: string[] = [];
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([startCli(['rotate', 'app/token', '--json'], { env: h.env }), startCli(['rotate', 'app/token', '--json'], { env: h.env })]);
      for (const r of results) {
        if (r.code === 0) reported.push((JSON.parse(r.stdout) as { id: string }).id);
        else expect(r.stderr).toContain('KT_RUN_LOCKED');
      }
    }
    expect(reported.length).toBeGreaterThanOrEqual(4);
    await expectEachRunOnce(kt, log, reported);
  });

  it('two workers in one process on a PostgreSQL state database, 15 rounds: each success is its own run, delivered once; the loser leaves nothing', async () => {
    const h = await home('postgres');
    const log = join(h.dir, 'delivered.log');
    const a = await h.open();
    const b = await h.open();
    await applyYaml(a, appYaml(log));
    const engines = [await a.engine(), await b.engine()];
    const reported: string[] = [];
    for (let round = 0; round < 15; round++) {
      const results = await Promise.allSettled(engines.map((e) => e.rotate('app/token')));
      for (const r of results) {
        if (r.status === 'fulfilled') {
          expect(r.value.status).toBe('done');
          reported.push(r.value.id);
        } else expect((r.reason as { code?: string }).code).toBe('KT_RUN_LOCKED');
      }
    }
    expect(reported.length).toBeGreaterThanOrEqual(15);
    await expectEachRunOnce(a, log, reported);
  });
});

describe('leases outlive long steps', () => {
  it('a consumer running past the lease TTL keeps the lease: a second worker is refused (KT_RUN_LOCKED) and the hook runs once', { timeout: 60_000 }, async () => {
    const h = await home('sqlite');
    const log = join(h.dir, 'delivered.log');
    const started = join(h.dir, 'started');
    const go = join(h.dir, 'go');
    const kt = await h.open();
    // The hook says it started, then waits for the test to let it finish: a step as long as the test wants.
    await applyYaml(kt, appYaml(log, `; touch ${started}; while [ ! -e ${go} ]; do sleep 0.05; done`));
    const ttl = 600;
    const first = new Engine({ state: kt.state, store: kt.store, applied: kt.applied, clock: kt.clock, log: kt.log, leaseTtlMs: ttl });
    const other = await h.open();
    const second = new Engine({ state: other.state, store: other.store, applied: other.applied, clock: systemClock, log: other.log, leaseTtlMs: ttl });
    const running = first.rotate('app/token');
    await expect.poll(() => existsSync(started), { timeout: 30_000 }).toBe(true);
    const acquiredAt = Date.now();
    // Wait until the lease as first taken has long expired, and has been renewed past that.
    const expiresAt = async () => Number((await kt.state.db.selectFrom('leases').select('expires_at').where('name', '=', 'secret:app/token').executeTakeFirstOrThrow()).expires_at);
    await expect.poll(async () => Date.now() > acquiredAt + 3 * ttl && (await expiresAt()) > Date.now(), { timeout: 30_000, interval: 50 }).toBe(true);
    await expectCode(() => second.rotate('app/token'), 'KT_RUN_LOCKED');
    writeFileSync(go, '');
    const run = await running;
    expect(run.status).toBe('done');
    expect(lines(log)).toHaveLength(1);
    await expectEachRunOnce(kt, log, [run.id]);
  });
});

describe('upgrading a database that holds duplicate unfinished runs (migration 0006)', () => {
  it('keeps the most recently updated unfinished run of each secret and cancels the others, stages untouched', async () => {
    const tmp = tempDir('keyturn-mig-');
    cleanups.push(() => tmp.remove());
    const file = join(tmp.dir, 'state.db');
    const state = await openState({ sqliteFile: file, migrate: false });
    const migrator = new Migrator({ db: state.db, provider: { getMigrations: async () => ({ ...MIGRATIONS }) } });
    expect((await migrator.migrateTo('0005_audit_macs')).error).toBeUndefined();
    const row = (id: string, path: string, updated: number, status = 'running') => ({ ...newRunRow({ path, strategy: 'simple' }, 1), id, status, step: 'set', updated_at: updated });
    await state.db
      .insertInto('runs')
      .values([row('r1', 'a', 10), row('r2', 'a', 20, 'retrying'), row('r3', 'b', 5), row('r4', 'a', 30, 'done')])
      .execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const statuses = Object.fromEntries(
      (await state.db.selectFrom('runs').select(['id', 'status', 'error_code']).execute()).map((r) => [r.id, `${r.status}${r.error_code ? `:${r.error_code}` : ''}`]),
    );
    expect(statuses).toEqual({ r1: 'cancelled:KT_RUN_SUPERSEDED', r2: 'retrying', r3: 'running', r4: 'done' });
    await state.close();
  });
});
