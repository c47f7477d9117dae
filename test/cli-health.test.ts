/**
 * `keyturn health` on a real SQLite home, and on a PostgreSQL state database in its own schema: a
 * fresh home is healthy (exit 0); an audit tail changed behind the log's back fails the audit
 * check; a target on a closed port, or one that never answers (bounded by --timeout), is degraded;
 * a failed run, a retry long past its time and a run left running with no lease are listed by
 * path; an old checkpoint is degraded (a clock moved forward); an unreachable state database
 * fails; no value or password ever appears in the output.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { checkHealth, type HealthReport } from '../src/runtime/health.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';
import { dropSchema, PG_URL, tempDir } from './helpers/state.js';

const home = useCliHome();
const PASSWORD = 'pw-health-never-printed-7f3a';
/** The CLI on the test's home, without the engine's warnings on stderr. */
const kt = (argv: string[], stdin?: string) => runCli(argv, { env: { ...home.env, KEYTURN_LOG_LEVEL: 'silent' }, ...(stdin === undefined ? {} : { stdin }) });

/** A postgres target on a port nothing listens on, with one secret rotating on it (one attempt: a failure fails the run). */
const DEAD_TARGET = `version: 1
targets:
  dead-pg: { type: postgres, host: 127.0.0.1, port: 1, database: app }
  none: { type: generic }
secrets:
  db/dead:
    type: database-credential
    target: dead-pg
    rotation: { attempts: ATTEMPTS }
    initial: { username: app, password: "${PASSWORD}" }
`;

async function health(args: string[] = []): Promise<{ code: number; report: HealthReport; stdout: string; stderr: string }> {
  const r = await kt(['health', '--json', ...args]);
  return { code: r.code, report: JSON.parse(r.stdout) as HealthReport, stdout: r.stdout, stderr: r.stderr };
}

function check(report: HealthReport, name: string) {
  return report.checks.find((c) => c.name === name)!;
}

function withDb(fn: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(join(home.dir, 'keyturn.db'));
  try {
    fn(db);
  } finally {
    db.close();
  }
}

async function applyDeadTarget(attempts: number): Promise<void> {
  const applied = await kt(['apply', '-f', '-', '-q'], DEAD_TARGET.replace('ATTEMPTS', String(attempts)));
  expect(applied.code, applied.stderr).toBe(0);
}

describe('keyturn health', () => {
  it('a fresh home is healthy: exit 0, every check ok, in JSON and as a table', async () => {
    const { code, report, stderr } = await health();
    expect(code, stderr).toBe(0);
    expect(report.status).toBe('ok');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['state', 'ok'],
      ['audit', 'ok'],
      ['targets', 'ok'],
      ['runs', 'ok'],
    ]);
    const human = await kt(['health']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL\n/);
    expect(human.stdout).toMatch(/\nHealth: ok\n$/);
  });

  it('writes nothing: the audit log has as many events after a health check as before', async () => {
    const count = () => {
      let n = 0;
      withDb((db) => (n = (db.prepare('SELECT count(*) AS n FROM audit_leaves').get() as { n: number }).n));
      return n;
    };
    const before = count();
    expect((await health()).code).toBe(0);
    expect(count()).toBe(before);
  });

  it('an audit event changed after the last checkpoint fails the audit check (exit 1), naming the code', async () => {
    expect((await kt(['secret', 'put', 'app/token', '--value', 'tok-1'])).code).toBe(0);
    withDb((db) => {
      const last = db.prepare('SELECT seq, leaf FROM audit_leaves ORDER BY seq DESC LIMIT 1').get() as { seq: number; leaf: string };
      db.prepare('UPDATE audit_leaves SET leaf = ? WHERE seq = ?').run(last.leaf.replace('"outcome":"success"', '"outcome":"failure"'), last.seq);
    });
    const { code, report } = await health();
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(check(report, 'audit')).toMatchObject({ status: 'failed', detail: expect.stringContaining('KT_AUDIT_LEAF_CHANGED') });
    expect(check(report, 'state').status).toBe('ok');
  });

  it('a target on a closed port is degraded, named with its code; a generic target is ok; the password is never printed', async () => {
    await applyDeadTarget(5);
    const { code, report, stdout } = await health(['--timeout', '3000']);
    expect(code).toBe(1);
    expect(report.status).toBe('degraded');
    const targets = check(report, 'targets');
    expect(targets.status).toBe('degraded');
    expect(targets.items).toEqual([
      { name: 'dead-pg', status: 'degraded', detail: expect.stringContaining('KT_TARGET_UNAVAILABLE') },
      { name: 'none', status: 'ok', detail: expect.any(String) },
    ]);
    expect(check(report, 'runs').status).toBe('ok');
    const human = await kt(['health', '--timeout', '3000']);
    for (const text of [stdout, human.stdout, human.stderr]) expect(text).not.toContain(PASSWORD);
    expect(human.stdout).toMatch(/^ {2}dead-pg\s+degraded\s+KT_TARGET_UNAVAILABLE/m);
  });

  it('a target that takes the current credential is ok (the trust-auth PostgreSQL on 5432), and the home stays healthy', async () => {
    const yaml = `version: 1
targets:
  pg: { type: postgres, host: 127.0.0.1, port: 5432, database: postgres }
secrets:
  db/pg: { type: database-credential, target: pg, initial: { username: postgres, password: "${PASSWORD}" } }
`;
    expect((await kt(['apply', '-f', '-', '-q'], yaml)).code).toBe(0);
    const { code, report } = await health();
    expect(code).toBe(0);
    expect(check(report, 'targets').items).toEqual([{ name: 'pg', status: 'ok', detail: 'postgres: db/pg logs in' }]);
  });

  it('a target that accepts the connection and never answers is degraded once --timeout has passed', async () => {
    const held: Socket[] = [];
    const server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const yaml = DEAD_TARGET.replace('ATTEMPTS', '5').replace('port: 1,', `port: ${port},`);
      expect((await kt(['apply', '-f', '-', '-q'], yaml)).code).toBe(0);
      const { code, report } = await health(['--timeout', '300']);
      expect(code).toBe(1);
      expect(check(report, 'targets').items?.[0]).toMatchObject({ name: 'dead-pg', status: 'degraded', detail: expect.stringMatching(/^KT_TARGET_/) });
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a failed run is reported by its secret path', async () => {
    await applyDeadTarget(1);
    expect((await kt(['rotate', 'db/dead', '-q'])).code).toBe(1);
    const { code, report } = await health();
    expect(code).toBe(1);
    const runs = check(report, 'runs');
    expect(runs.status).toBe('degraded');
    expect(runs.detail).toContain('db/dead');
    expect(runs.items).toEqual([{ name: 'db/dead', status: 'degraded', detail: expect.stringMatching(/^run run_\S+ failed at set \(KT_TARGET_UNAVAILABLE\)$/) }]);
  });

  it('a retry long past its time, and a run marked running with no live lease, are listed by path', async () => {
    await applyDeadTarget(5);
    expect((await kt(['rotate', 'db/dead', '-q'])).code).toBe(1);
    // The retry's time came an hour ago and nothing picked it up.
    withDb((db) => db.prepare("UPDATE runs SET next_attempt_at = ? WHERE status = 'retrying'").run(Date.now() - 3_600_000));
    let runs = check((await health()).report, 'runs');
    expect(runs.items).toEqual([{ name: 'db/dead', status: 'degraded', detail: expect.stringMatching(/past its retry time: run keyturn rotate --due$/) }]);
    // A worker killed mid-run: the run still says running, its lease has expired.
    withDb((db) => {
      db.prepare("UPDATE runs SET status = 'running', next_attempt_at = NULL WHERE status = 'retrying'").run();
      db.prepare("UPDATE leases SET expires_at = 0 WHERE name = 'secret:db/dead'").run();
    });
    runs = check((await health()).report, 'runs');
    expect(runs.items).toEqual([{ name: 'db/dead', status: 'degraded', detail: expect.stringContaining('running with no live lease') }]);
  });

  it('a retry not yet due is not reported', async () => {
    await applyDeadTarget(5);
    expect((await kt(['rotate', 'db/dead', '-q'])).code).toBe(1);
    expect(check((await health()).report, 'runs').status).toBe('ok');
  });

  it('the last checkpoint older than twice KEYTURN_AUDIT_CHECKPOINT_SECONDS is degraded', async () => {
    const clock = manualClock(Date.now());
    const kt = await openKeyturn(loadSettings({ ...home.env, KEYTURN_AUDIT_CHECKPOINT_SECONDS: '60', KEYTURN_LOG_LEVEL: 'silent' }), { clock });
    try {
      expect(check(await checkHealth(kt, { timeoutMs: 1000 }), 'audit').status).toBe('ok');
      clock.advance(121_000);
      const audit = check(await checkHealth(kt, { timeoutMs: 1000 }), 'audit');
      expect(audit).toMatchObject({ status: 'degraded', detail: expect.stringContaining('keyturn audit tick') });
    } finally {
      await kt.close();
    }
  });

  it('a state database that cannot be reached fails the state check, the others are failed as not run; its password is not printed', async () => {
    const r = await runCli(['health', '--json'], { env: { ...home.env, KEYTURN_DATABASE_URL: 'postgres://postgres:db-secret-9c1@127.0.0.1:1/postgres', KEYTURN_LOG_LEVEL: 'silent' } });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as HealthReport;
    expect(report.status).toBe('failed');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['state', 'failed'],
      ['audit', 'failed'],
      ['targets', 'failed'],
      ['runs', 'failed'],
    ]);
    expect(check(report, 'state').detail).toContain('KT_DATABASE_UNAVAILABLE');
    expect(r.stdout + r.stderr).not.toContain('db-secret-9c1');
  });

  it('--timeout takes a whole number of milliseconds (else a usage error, exit 2)', async () => {
    expect((await kt(['health', '--timeout', 'soon'])).code).toBe(2);
  });
});

describe('keyturn health on a PostgreSQL state database', () => {
  it('a fresh home in its own schema is healthy, and a changed audit event after the last checkpoint fails it', async () => {
    const schema = `kt_health_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const tmp = tempDir();
    try {
      const url = new URL(PG_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_DATABASE_URL: url.toString(), KEYTURN_LOG_LEVEL: 'silent' };
      expect((await runCli(['init'], { env })).code).toBe(0);
      const fresh = await runCli(['health', '--json'], { env });
      expect(fresh.code, fresh.stdout).toBe(0);
      const report = JSON.parse(fresh.stdout) as HealthReport;
      expect(report.status).toBe('ok');
      expect(check(report, 'state').detail).toContain('(postgres)');
      expect((await runCli(['secret', 'put', 'app/token', '--value', 'tok-1'], { env })).code).toBe(0);
      await admin.query(`UPDATE ${schema}.audit_leaves SET leaf = replace(leaf, '"outcome":"success"', '"outcome":"failure"') WHERE seq = (SELECT max(seq) FROM ${schema}.audit_leaves)`);
      const tampered = await runCli(['health', '--json'], { env });
      expect(tampered.code).toBe(1);
      expect(check(JSON.parse(tampered.stdout) as HealthReport, 'audit')).toMatchObject({ status: 'failed', detail: expect.stringContaining('KT_AUDIT_LEAF_CHANGED') });
    } finally {
      await admin.end();
      await dropSchema(schema);
      tmp.remove();
    }
  });
});
