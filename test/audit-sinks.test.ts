/**
 * Audit sinks against real receivers on 127.0.0.1: a JSONL file (size rotation, exactly-once
 * after a re-delivery), an HTTP endpoint (batched POST, retry, down then up, hanging), syslog RFC
 * 5424 over UDP and TCP (down then up). A sink that is down catches up from its cursor and loses
 * nothing; one that hangs is abandoned after its bound and never holds up the log. A planted
 * secret value appears in no sink's output, no audit table and no export, while its HMAC does.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeExport } from '../src/audit/export.js';
import { storeAuditHook, valueBytes } from '../src/audit/hooks.js';
import { AuditLog } from '../src/audit/log.js';
import { deliverSinks, type DeliverOptions } from '../src/audit/sinks/deliver.js';
import { sinksFromSettings } from '../src/audit/sinks/from-settings.js';
import { HttpSink } from '../src/audit/sinks/http/http-sink.js';
import { JsonlSink } from '../src/audit/sinks/jsonl/jsonl-sink.js';
import type { AuditSink } from '../src/audit/sinks/sink.js';
import { SyslogSink } from '../src/audit/sinks/syslog/syslog-sink.js';
import { manualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { EmbeddedStore } from '../src/stores/embedded/embedded-store.js';
import { auditTablesText } from './helpers/audit.js';
import { postgresState, sqliteState, tempDir, type TestState } from './helpers/state.js';

const OPTS: DeliverOptions = { timeoutMs: 5000, batch: 50 };

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP receiver that keeps every POSTed line; `respond` decides each answer. */
function httpReceiver(port: number, respond: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_q, res) => res.end('ok')) {
  const lines: string[] = [];
  const requests: IncomingMessage[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      requests.push(req);
      const n = requests.length;
      const before = res.writableEnded;
      respond(req, res, n);
      if (res.statusCode >= 200 && res.statusCode < 300 && !before) lines.push(...body.split('\n').filter((l) => l !== ''));
    });
  });
  return {
    lines,
    requests,
    start: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A syslog TCP receiver parsing RFC 6587 octet-counted frames. */
function tcpReceiver(port: number) {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const space = buf.indexOf(0x20);
        if (space < 0) break;
        const len = Number(buf.subarray(0, space).toString('ascii'));
        if (buf.length < space + 1 + len) break;
        messages.push(buf.subarray(space + 1, space + 1 + len).toString('utf8'));
        buf = buf.subarray(space + 1 + len);
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    messages,
    start: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const SYSLOG = /^<(\d+)>1 (\S+) (\S+) keyturn (\d+) (\S+) \[keyturn@32473 id="(ev_\d+_[0-9a-f]{12})" seq="(\d+)" outcome="(\w+)" actor="([^"]*)"\] \uFEFF(\{.*\})$/;

/** The event lines (JSON or syslog) among what a sink received, without the checkpoint records. */
function eventsOnly(lines: readonly string[]): string[] {
  return lines.filter((l) => !l.includes('"kind":"checkpoint"'));
}

function seqsOf(lines: readonly string[]): number[] {
  return eventsOnly(lines).map((l) => (JSON.parse(l) as { seq: number }).seq);
}

describe.each([
  ['SQLite', sqliteState],
  ['PostgreSQL', postgresState],
] as const)('audit sinks with the log on %s', (_name, make) => {
  let t: TestState;
  let audit: AuditLog;
  let tmp: ReturnType<typeof tempDir>;
  let stops: Array<() => Promise<void>>;
  beforeEach(async () => {
    const clock = manualClock();
    t = await make(clock);
    audit = await AuditLog.open(t.state, t.ring, { clock, context: { actor: 'user:dana', source: 'cli', correlationId: null } });
    tmp = tempDir();
    stops = [];
  });
  afterEach(async () => {
    for (const stop of stops) await stop();
    await t.close();
    tmp.remove();
  });

  const events = (n: number, action = 'test.event') =>
    audit.appendBatch(
      Array.from({ length: n }, (_, i) => ({ action, outcome: i % 7 === 3 ? ('failure' as const) : ('success' as const), ...(i % 7 === 3 ? { errorCode: 'KT_TARGET_UNAVAILABLE' } : {}) })),
    );

  it('JSONL: down (no folder) then up catches up, rotates by size, and writes each event once', async () => {
    const dir = join(tmp.dir, 'logs');
    const file = join(dir, 'audit.jsonl');
    const sink = new JsonlSink({ file, maxBytes: 4096, keep: 100 });
    await events(60);
    const down = await deliverSinks(audit, t.state, [sink], OPTS);
    expect(down[0]).toMatchObject({ delivered: 0, nextSeq: 0, behind: 61 });
    expect(down[0]!.error).toMatch(/^KT_AUDIT_SINK_FAILED: .*ENOENT/);
    mkdirSync(dir);
    expect((await deliverSinks(audit, t.state, [sink], OPTS))[0]).toMatchObject({ delivered: 61, nextSeq: 61, behind: 0, error: null });
    await events(20);
    expect((await deliverSinks(audit, t.state, [sink], OPTS))[0]).toMatchObject({ delivered: 20, nextSeq: 81 });
    // A crash between the write and the cursor update: the cursor goes back, nothing is written twice.
    await t.state.db.updateTable('audit_sink_cursors').set({ next_seq: 70 }).execute();
    expect((await deliverSinks(audit, t.state, [sink], OPTS))[0]).toMatchObject({ nextSeq: 81 });
    const files = readdirSync(dir).sort((a, b) => rank(a) - rank(b));
    expect(files.length).toBeGreaterThan(3);
    const lines = files.flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    expect(seqsOf(lines)).toEqual(Array.from({ length: 81 }, (_, i) => i));
    for (const f of files) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(4096);
    expect(JSON.parse(eventsOnly(lines)[4]!)).toMatchObject({ id: expect.stringMatching(/^ev_/), seq: 4, action: 'test.event', actor: 'user:dana' });
  });

  it('JSONL: keeps only `keep` rotated files', async () => {
    const file = join(tmp.dir, 'audit.jsonl');
    await events(100);
    await deliverSinks(audit, t.state, [new JsonlSink({ file, maxBytes: 4096, keep: 2 })], OPTS);
    expect(readdirSync(tmp.dir).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
    const newest = readFileSync(file, 'utf8').trim().split('\n');
    expect((JSON.parse(newest.at(-1)!) as { seq: number }).seq).toBe(100);
  });

  it('HTTP: batched POSTs; down then up catches up with nothing lost or repeated; 503 is retried', async () => {
    const port = await freePort();
    const sink = new HttpSink({ url: `http://127.0.0.1:${port}/ingest`, token: 'siem-token', backoffMs: 10 });
    await events(120);
    const down = await deliverSinks(audit, t.state, [sink], OPTS);
    expect(down[0]).toMatchObject({ delivered: 0, nextSeq: 0 });
    expect(down[0]!.error).toContain('ECONNREFUSED');
    let eventPosts = 0;
    const rx = httpReceiver(port, (req, res) => {
      res.statusCode = req.headers['x-keyturn-kind'] === undefined && ++eventPosts === 2 ? 503 : 200;
      res.end();
    });
    await rx.start();
    stops.push(rx.stop);
    const up = await deliverSinks(audit, t.state, [sink], OPTS);
    expect(up[0]).toMatchObject({ delivered: 121, nextSeq: 121, behind: 0, error: null });
    expect(seqsOf(rx.lines)).toEqual(Array.from({ length: 121 }, (_, i) => i));
    // 121 events in batches of 50 = 3 batches; the second was answered 503 once and retried.
    expect(rx.requests.filter((r) => r.headers['x-keyturn-kind'] === undefined)).toHaveLength(4);
    const checkpointPosts = rx.requests.filter((r) => r.headers['x-keyturn-kind'] === 'checkpoint');
    expect(checkpointPosts.length).toBeGreaterThan(0);
    expect(rx.lines.filter((l) => l.includes('"kind":"checkpoint"')).map((l) => (JSON.parse(l) as { size: number }).size)).toEqual((await audit.checkpoints()).map((c) => c.size));
    expect(rx.requests[0]!.headers).toMatchObject({ 'content-type': 'application/x-ndjson', authorization: 'Bearer siem-token', 'x-keyturn-first-seq': '0', 'x-keyturn-last-seq': '49' });
    const cursor = await t.state.db.selectFrom('audit_sink_cursors').selectAll().where('name', 'not like', 'checkpoints@%').executeTakeFirstOrThrow();
    expect(cursor).toMatchObject({ name: `http:http://127.0.0.1:${port}/ingest`, failures: 0, last_error: null });
  });

  it('HTTP: a 400 is not retried; the events stay queued', async () => {
    const port = await freePort();
    const rx = httpReceiver(port, (_req, res) => {
      res.statusCode = 400;
      res.end();
    });
    await rx.start();
    stops.push(rx.stop);
    await events(3);
    const r = await deliverSinks(audit, t.state, [new HttpSink({ url: `http://127.0.0.1:${port}/`, backoffMs: 10 })], OPTS);
    expect(r[0]).toMatchObject({ delivered: 0, nextSeq: 0, behind: 4 });
    expect(r[0]!.error).toContain('HTTP 400 (not retried)');
    expect(rx.requests).toHaveLength(1);
  });

  it('a hanging sink is abandoned after its bound; the other sinks and the log carry on', async () => {
    const port = await freePort();
    const rx = httpReceiver(port, () => undefined); // never answers
    await rx.start();
    stops.push(rx.stop);
    const file = join(tmp.dir, 'audit.jsonl');
    await events(10);
    const reports = await deliverSinks(audit, t.state, [new HttpSink({ url: `http://127.0.0.1:${port}/` }), new JsonlSink({ file, maxBytes: 1 << 20, keep: 1 })], { ...OPTS, timeoutMs: 300 });
    expect(reports[0]).toMatchObject({ delivered: 0, nextSeq: 0 });
    expect(reports[0]!.error).toMatch(/did not take 11 event\(s\) within 300 ms/);
    expect(reports[1]).toMatchObject({ delivered: 11, error: null });
    expect(seqsOf(readFileSync(file, 'utf8').trim().split('\n'))).toHaveLength(11);
  });

  it('the log is not blocked while a sink delivery is stuck', async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inSink = new Promise<void>((resolve) => (entered = resolve));
    const stuck: AuditSink = {
      name: 'stuck',
      deliver: () => {
        entered();
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
    await events(5);
    let settled = false;
    const delivery = deliverSinks(audit, t.state, [stuck], { ...OPTS, timeoutMs: 60_000 }).then((r) => {
      settled = true;
      return r;
    });
    await inSink;
    // While the delivery waits on the sink, the log takes (and signs) more events.
    await events(200);
    const cp = await audit.checkpoint();
    expect(cp.size).toBe(206);
    expect(settled).toBe(false);
    release();
    expect((await delivery)[0]).toMatchObject({ delivered: 6, nextSeq: 6, behind: 0 });
  });

  it('syslog over UDP: one RFC 5424 message per event, severity by outcome', async () => {
    const received: string[] = [];
    const socket: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    socket.on('message', (m) => received.push(m.toString('utf8')));
    const { port } = socket.address();
    await events(9);
    const r = await deliverSinks(audit, t.state, [new SyslogSink(`udp://127.0.0.1:${port}`)], OPTS);
    expect(r[0]).toMatchObject({ delivered: 10, error: null });
    // The checkpoints go out after the events: wait for them too (datagrams arrive when they arrive).
    const isCheckpoint = (m: string) => / audit\.checkpoint \[keyturn@32473 kind="checkpoint" size="\d+"\] /.test(m);
    await until(() => eventsOnly(received).length === 10 && received.some(isCheckpoint));
    const parsed = eventsOnly(received).map((m) => SYSLOG.exec(m));
    expect(parsed.every((m) => m !== null)).toBe(true);
    const bySeq = new Map(parsed.map((m) => [Number(m![7]), m!]));
    expect(bySeq.get(0)!.slice(1, 6)).toEqual(['110', expect.stringMatching(/Z$/), expect.any(String), String(process.pid), 'audit.init']);
    expect(bySeq.get(4)![1]).toBe('108'); // failure: facility 13 (log audit), severity 4
    expect(JSON.parse(bySeq.get(4)![10]!)).toMatchObject({ seq: 4, outcome: 'failure', errorCode: 'KT_TARGET_UNAVAILABLE' });
  });

  it('syslog over TCP: octet-counted frames; down then up catches up with nothing lost', async () => {
    const port = await freePort();
    const sink = new SyslogSink(`tcp://127.0.0.1:${port}`);
    await events(70);
    const down = await deliverSinks(audit, t.state, [sink], OPTS);
    expect(down[0]!.error).toContain('ECONNREFUSED');
    const rx = tcpReceiver(port);
    await rx.start();
    stops.push(rx.stop);
    expect((await deliverSinks(audit, t.state, [sink], OPTS))[0]).toMatchObject({ delivered: 71, behind: 0, error: null });
    await until(() => eventsOnly(rx.messages).length === 71);
    expect(eventsOnly(rx.messages).map((m) => Number(SYSLOG.exec(m)?.[7]))).toEqual(Array.from({ length: 71 }, (_, i) => i));
  });

  it('a planted secret value appears in no sink output, audit table or export; its HMAC does', async () => {
    const marker = `MARKER-${randomBytes(12).toString('hex')}`;
    const store = new EmbeddedStore(t.state, t.ring, { audit: storeAuditHook(audit) });
    await store.put('plant/string', marker);
    await store.put('plant/fields', { username: 'app', password: marker });
    await store.get('plant/fields');
    await expect(store.put('plant/string', `${marker}-other`, { versionId: (await store.get('plant/string'))!.id })).rejects.toThrow();
    const httpPort = await freePort();
    const http = httpReceiver(httpPort);
    await http.start();
    stops.push(http.stop);
    const tcpPort = await freePort();
    const tcp = tcpReceiver(tcpPort);
    await tcp.start();
    stops.push(tcp.stop);
    const udp: string[] = [];
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    socket.on('message', (m) => udp.push(m.toString('utf8')));
    const file = join(tmp.dir, 'audit.jsonl');
    const sinks = [
      new JsonlSink({ file, maxBytes: 1 << 20, keep: 1 }),
      new HttpSink({ url: `http://127.0.0.1:${httpPort}/` }),
      new SyslogSink(`tcp://127.0.0.1:${tcpPort}`),
      new SyslogSink(`udp://127.0.0.1:${socket.address().port}`),
    ];
    const reports = await deliverSinks(audit, t.state, sinks, OPTS);
    const size = (await audit.head()).size;
    expect(reports.map((r) => r.nextSeq)).toEqual([size, size, size, size]);
    await until(() => eventsOnly(tcp.messages).length === size && eventsOnly(udp).length === size);
    const exportFile = join(tmp.dir, 'export.jsonl');
    await writeExport(audit, { from: 0 }, exportFile);
    const outputs = {
      jsonl: readFileSync(file, 'utf8'),
      http: http.lines.join('\n'),
      tcp: tcp.messages.join('\n'),
      udp: udp.join('\n'),
      tables: await auditTablesText(t.state),
      export: readFileSync(exportFile, 'utf8'),
    };
    const hmac = audit.hash(marker);
    const fieldsHmac = audit.hash(valueBytes({ username: 'app', password: marker }));
    for (const [where, text] of Object.entries(outputs)) {
      expect(text.includes(marker), where).toBe(false);
      expect(text.includes(hmac) && text.includes(fieldsHmac), where).toBe(true);
    }
  });
});

describe('sinks from settings', () => {
  it('KEYTURN_AUDIT_JSONL, _HTTP_URL and _SYSLOG make the three sinks; the token is never printed', () => {
    const settings = loadSettings({
      KEYTURN_HOME: '/srv/kt',
      KEYTURN_AUDIT_JSONL: 'audit/audit.jsonl',
      KEYTURN_AUDIT_HTTP_URL: 'https://user:pw@siem.example/ingest',
      KEYTURN_AUDIT_HTTP_TOKEN: 'tok-SECRET',
      KEYTURN_AUDIT_SYSLOG: 'udp://127.0.0.1:5514',
      KEYTURN_AUDIT_SINK_TIMEOUT_MS: '2500',
    });
    expect(sinksFromSettings(settings.audit).map((s) => s.name)).toEqual(['jsonl:/srv/kt/audit/audit.jsonl', 'http:https://user:***@siem.example/ingest', 'syslog:udp://127.0.0.1:5514']);
    expect(settings.audit.http?.token).toBe('tok-SECRET');
    expect(JSON.stringify(settings)).not.toContain('tok-SECRET');
    expect(settings.audit).toMatchObject({ sinkTimeoutMs: 2500, sinkBatch: 500, checkpointEvery: 1000, checkpointSeconds: 300 });
    expect(() => loadSettings({ KEYTURN_AUDIT_SYSLOG: 'udp://nowhere' })).toThrow(/KEYTURN_AUDIT_SYSLOG/);
    expect(sinksFromSettings(loadSettings({}).audit)).toEqual([]);
    expect(existsSync('/srv/kt/audit/audit.jsonl')).toBe(false);
  });
});

/** Oldest first: `audit.jsonl.<n>` … `audit.jsonl.1`, then `audit.jsonl` (the newest). */
function rank(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m ? -Number(m[1]) : 0;
}

/**
 * Waits until datagrams or frames sent on localhost have been read (they are in flight, not lost);
 * fails the test, loudly, if they have not arrived within 20 s.
 */
async function until(done: () => boolean): Promise<void> {
  await expect.poll(done, { timeout: 20_000, interval: 10 }).toBe(true);
}
