/**
 * A password or token in a URL from the settings (KEYTURN_DATABASE_URL, KEYTURN_AUDIT_HTTP_URL)
 * is never shown or stored: not by init, status (text and JSON), a KT_DATABASE_UNAVAILABLE
 * error, the debug log, `audit deliver` or the sink cursor kept in the state database.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advanceCursor, readCursor } from '../src/audit/sinks/cursor.js';
import { openState } from '../src/state/db.js';
import { runCli, spawnCli, startCli } from './helpers/cli.js';
import { dropSchema, PG_URL, tempDir } from './helpers/state.js';

const SECRET = `S3cr3t${randomBytes(6).toString('hex')}`;

/** Every row of every table (audit ones too) of a home's SQLite state database, as one text. */
function allRows(home: string): string {
  const db = new DatabaseSync(join(home, 'keyturn.db'));
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    return JSON.stringify(
      tables.map((t) => db.prepare(`SELECT * FROM "${t.name}"`).all()),
      (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v),
    );
  } finally {
    db.close();
  }
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

describe('KEYTURN_DATABASE_URL with a password', () => {
  it('an unreachable postgres URL with ?password= gives KT_DATABASE_UNAVAILABLE without it (status, status --json, init, debug log)', async () => {
    const env = { KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'debug', KEYTURN_DATABASE_URL: `postgres://nobody:${SECRET}x@127.0.0.1:1/none?password=${SECRET}&sslpassword=${SECRET}` };
    for (const argv of [['status'], ['status', '--json'], ['init'], ['init', '--json'], ['secret', 'ls']]) {
      const r = await runCli(argv, { env });
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stdout + r.stderr).toContain('KT_DATABASE_UNAVAILABLE');
      expect(r.stdout + r.stderr).toContain('password=***');
      expect(r.stdout + r.stderr, argv.join(' ')).not.toContain(SECRET);
    }
    // The debug log goes to the process's stderr: run a real process once.
    const spawned = spawnCli(['status'], { env });
    expect(spawned.stderr).toContain('KT_DATABASE_UNAVAILABLE');
    expect(spawned.stdout + spawned.stderr).not.toContain(SECRET);
  });

  it('init and status on a reachable PostgreSQL show the URL with the password replaced', async () => {
    const schema = `kt_test_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    try {
      const url = new URL(PG_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      url.searchParams.set('password', SECRET);
      const env = { KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent', KEYTURN_DATABASE_URL: url.toString() };
      const outputs: string[] = [];
      for (const argv of [['init'], ['status'], ['status', '--json']]) {
        const r = await runCli(argv, { env });
        expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
        outputs.push(r.stdout + r.stderr);
      }
      const spawned = spawnCli(['status'], { env: { ...env, KEYTURN_LOG_LEVEL: 'debug' } }); // the debug log goes to the process's stderr
      expect(spawned.stderr).toContain('keyturn opened');
      outputs.push(spawned.stdout + spawned.stderr);
      expect(outputs.join('\n')).toContain('password=***');
      expect(outputs.join('\n')).not.toContain(SECRET);
      expect((JSON.parse(outputs[2]!) as { state: { location: string } }).state.location).toContain('password=***');
    } finally {
      await dropSchema(schema);
    }
  });
});

describe('KEYTURN_AUDIT_HTTP_URL with a token', () => {
  let server: Server;
  let port: number;
  let status = 200;
  const seen: string[] = [];
  beforeEach(async () => {
    status = 200;
    seen.length = 0;
    server = createServer((req, res) => {
      seen.push(`${req.url ?? ''} first=${String(req.headers['x-keyturn-first-seq'])}`);
      req.resume();
      req.on('end', () => res.writeHead(status).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('audit deliver (text, JSON, failing) and the stored cursor never show the token', async () => {
    const env = { KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent', KEYTURN_AUDIT_HTTP_URL: `http://127.0.0.1:${port}/ingest?source=kt&token=${SECRET}` };
    expect((await runCli(['init'], { env })).code).toBe(0);
    const ok = await runCli(['audit', 'deliver'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(seen.some((u) => u.includes(SECRET))).toBe(true); // the receiver still gets the real URL
    status = 400;
    expect((await runCli(['secret', 'put', 'a/b', '--value', 'v'], { env })).code).toBe(0);
    const failing = await runCli(['audit', 'deliver', '--json'], { env });
    const text = await runCli(['audit', 'deliver'], { env });
    // The warning log goes to the process's stderr: run a real process for it, without blocking
    // this process (spawnSync would freeze the receiver above until the sink's timeout).
    const logged = await startCli(['audit', 'deliver'], { env: { ...env, KEYTURN_LOG_LEVEL: 'debug' } });
    expect(logged.stderr).toContain('audit sink is behind');
    expect(logged.stderr).toContain('HTTP 400');
    for (const r of [ok, failing, text, logged]) expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(failing.stdout).toContain('token=***');
    expect(allRows(tmp.dir)).toContain('token=***');
    expect(allRows(tmp.dir)).not.toContain(SECRET);
  });

  it('a URL without a secret keeps its cursor name; a cursor stored under a name with the token in clear is renamed, keeping its place', async () => {
    const plain = `http://127.0.0.1:${port}/ingest?source=kt`;
    const { HttpSink } = await import('../src/audit/sinks/http/http-sink.js');
    expect(new HttpSink({ url: plain }).name).toBe(`http:${new URL(plain).toString()}`);
    const env = { KEYTURN_HOME: tmp.dir, KEYTURN_AUDIT_HTTP_URL: `${plain}&token=${SECRET}` };
    expect((await runCli(['init'], { env: { KEYTURN_HOME: tmp.dir } })).code).toBe(0);
    expect((await runCli(['secret', 'put', 'a/b', '--value', 'v'], { env: { KEYTURN_HOME: tmp.dir } })).code).toBe(0);
    // What an earlier Keyturn stored: the name with the token in clear, at seq 1.
    const state = await openState({ sqliteFile: join(tmp.dir, 'keyturn.db') });
    const legacy = `http:${plain}&token=${SECRET}`;
    await readCursor(state.db, legacy, 0);
    await advanceCursor(state.db, legacy, 0, 1, 0);
    await state.close();
    const r = await runCli(['audit', 'deliver', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(SECRET);
    const out = JSON.parse(r.stdout) as { reports: Array<{ name: string; nextSeq: number; error: string | null }>; sinks: Array<{ name: string }> };
    expect(out.reports[0]).toMatchObject({ name: `http:${plain}&token=***`, error: null });
    expect(out.reports[0]!.nextSeq).toBeGreaterThan(1);
    expect(out.sinks.map((x) => x.name)).toEqual([`http:${plain}&token=***`]);
    // Delivery resumed where the old cursor stood: event 0 was not sent again.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((u) => !u.endsWith(' first=0'))).toBe(true);
    expect(allRows(tmp.dir)).not.toContain(SECRET);
  });
});
