/**
 * The agent's encrypted cache, failing closed and its local read API, against a real `keyturn
 * server` over a home: a rotation reaches the file and the local API; with the server stopped the
 * agent keeps answering from its cache until cacheTtl has passed (a manual clock moves time, so
 * nothing depends on the machine's speed), then its health says 503 "stale" and the local API
 * 503 KT_AGENT_CACHE_STALE while the file stays as it was; with the server started again on the
 * same home and port it renders the version written while it was away and is healthy again, with
 * no manual step. An agent restarted while the server is down renders from the cache. A planted
 * marker value is never on disk in the cache folder, neither as is nor in base64. The same with
 * the real clock and a 1 s cacheTtl, and with the agent as a process over a unix socket.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAgentConfig } from '../src/agent/config.js';
import { loadSettings } from '../src/config/settings.js';
import { manualClock } from '../src/core/clock.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { agentHome, agentYaml, putSecret, serveHome, startAgent, WAIT, type AgentHome, type Cleanups } from './helpers/agent.js';
import { BIN, runCli, SPAWN_MS } from './helpers/cli.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** A GET to `address` (`HOST:PORT` or `unix:/path`), with the Host header given or the address's own. */
function get(address: string, path: string, host?: string): Promise<Answer> {
  const unix = address.startsWith('unix:') ? address.slice('unix:'.length) : null;
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request(
      unix !== null
        ? { socketPath: unix, path, headers: { host: host ?? 'agent' } }
        : { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)), path, headers: { host: host ?? address } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Every file under `dir` (recursively), with its bytes. */
function filesUnder(dir: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push([p, readFileSync(p)]);
  }
  return out;
}

/** The marker as it would appear in plaintext, and inside base64 at each of the three alignments. */
function forms(marker: string): Buffer[] {
  const b64 = [0, 1, 2].map((pad) => {
    const text = Buffer.from('x'.repeat(pad) + marker).toString('base64');
    return text.slice(4, -4); // the part that depends only on the marker's own bytes
  });
  return [Buffer.from(marker), Buffer.from(JSON.stringify(marker)), ...b64.map((t) => Buffer.from(t)), ...b64.map((t) => Buffer.from(t.replace(/\+/g, '-').replace(/\//g, '_')))];
}

function expectNoMarker(dir: string, marker: string): void {
  const files = filesUnder(dir);
  expect(files.length).toBeGreaterThanOrEqual(2); // the sealed cache and its key, at least
  for (const [file, bytes] of files) for (const form of forms(marker)) expect([file, bytes.includes(form)]).toEqual([file, false]);
}

const marker = (): string => `marker-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;

async function healthOf(a: { health: () => string }): Promise<Answer> {
  await vi.waitFor(() => expect(a.health()).not.toBe(''), WAIT);
  return get(a.health(), '/');
}

describe('keyturn agent: encrypted cache, fail closed, local read API', () => {
  it('serves from its cache while the server is stopped, fails closed after cacheTtl, recovers by itself when the server is back; the marker is never on disk (seed 31)', async () => {
    const h = await agentHome(cleanups);
    const s = await serveHome(cleanups, h.env);
    const [m1, m2, m3] = [marker(), marker(), marker()];
    await putSecret(s, h.admin, 'app/db', { username: 'app', password: m1 });
    const clock = manualClock(Date.now());
    const yaml = agentYaml([s.base], { cacheTtl: '2s', extra: 'health: 127.0.0.1:0\nlisten: unix:./run/agent.sock\n' });
    const agent = await startAgent(cleanups, h, yaml, 31, { clock });
    const db = join(h.dir, 'out/db.env');
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(`DB_USER=app\nDB_PASSWORD=${m1}\n`), WAIT);
    await vi.waitFor(() => expect(agent.listen()).not.toBe(''), WAIT);
    const sock = join(h.dir, 'run/agent.sock');
    expect(agent.listen()).toBe(`unix:${sock}`);
    expect(statSync(sock).mode & 0o777).toBe(0o600);

    // A rotation reaches the file and the local read API.
    const v2 = await putSecret(s, h.admin, 'app/db', { username: 'app', password: m2 });
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(`DB_USER=app\nDB_PASSWORD=${m2}\n`), WAIT);
    await vi.waitFor(
      async () =>
        expect(await get(agent.listen(), '/v1/secret/app/db')).toEqual({ status: 200, body: { path: 'app/db', version: v2.number, versionId: v2.id, value: { username: 'app', password: m2 } } }),
      WAIT,
    );
    await vi.waitFor(async () => expect((await healthOf(agent)).status).toBe(200), WAIT);
    // Only what its templates use: another path is 404.
    await putSecret(s, h.admin, 'app/other', 'x');
    const other = await get(agent.listen(), '/v1/secret/app/other');
    expect([other.status, other.body.error?.code]).toEqual([404, 'KT_AGENT_SECRET_NOT_HELD']);

    // The server stops: the agent answers from its cache (time has not moved: within cacheTtl).
    await s.close();
    await vi.waitFor(() => expect(agent.connected()).toBe(false), WAIT);
    expect(await get(agent.listen(), '/v1/secret/app/db')).toMatchObject({ status: 200, body: { version: v2.number, value: { username: 'app', password: m2 } } });
    const offline = await healthOf(agent);
    expect(offline).toMatchObject({ status: 200, body: { status: 'ok', connected: false } });

    // cacheTtl later, still no server: fail closed.
    clock.advance(2_001);
    const stale = await healthOf(agent);
    expect(stale).toMatchObject({ status: 503, body: { status: 'stale', code: 'KT_AGENT_CACHE_STALE', connected: false } });
    expect(stale.body.reason).toContain('app/db');
    const refused = await get(agent.listen(), '/v1/secret/app/db');
    expect([refused.status, refused.body.error?.code]).toEqual([503, 'KT_AGENT_CACHE_STALE']);
    expect(JSON.stringify(refused.body)).not.toContain(m2);
    // The rendered file stays as it was.
    expect(readFileSync(db, 'utf8')).toBe(`DB_USER=app\nDB_PASSWORD=${m2}\n`);

    // A version written while no server runs, then the server on the same home and port: the agent catches up by itself.
    const kt = await openKeyturn(loadSettings(h.env));
    try {
      await kt.store.put('app/db', { username: 'app', password: m3 });
    } finally {
      await kt.close();
    }
    const back = await serveHome(cleanups, h.env, {}, s.port);
    expect(back.port).toBe(s.port);
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(`DB_USER=app\nDB_PASSWORD=${m3}\n`), WAIT);
    await vi.waitFor(async () => expect(await healthOf(agent)).toMatchObject({ status: 200, body: { status: 'ok', connected: true } }), WAIT);
    expect(await get(agent.listen(), '/v1/secret/app/db')).toMatchObject({ status: 200, body: { value: { username: 'app', password: m3 } } });

    await agent.stop();
    expect(existsSync(sock)).toBe(false);
    for (const m of [m1, m2, m3]) expectNoMarker(join(h.dir, '.keyturn-agent'), m);
  });

  it('restarted while the server is down, it renders from the cache within cacheTtl and fails closed after it (seed 37)', async () => {
    const h = await agentHome(cleanups);
    const s = await serveHome(cleanups, h.env);
    const m = marker();
    const v = await putSecret(s, h.admin, 'app/db', m);
    const clock = manualClock(Date.now());
    const yaml = agentYaml([s.base], { template: '{{value}}', cacheTtl: '1m', extra: 'health: 127.0.0.1:0\nlisten: 127.0.0.1:0\ncache: { dir: ./state }\n' });
    const first = await startAgent(cleanups, h, yaml, 37, { clock });
    const db = join(h.dir, 'out/db.env');
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(m), WAIT);
    await vi.waitFor(() => expect(first.connected()).toBe(true), WAIT);
    await s.close();
    await vi.waitFor(() => expect(first.connected()).toBe(false), WAIT);
    await first.stop();

    // The file is gone and no server answers: the restarted agent renders it from its cache.
    rmSync(db);
    clock.advance(30_000);
    const second = await startAgent(cleanups, h, yaml, 38, { clock });
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(m), WAIT);
    expect(second.connected()).toBe(false);
    await vi.waitFor(() => expect(second.listen()).not.toBe(''), WAIT);
    expect(await get(second.listen(), '/v1/secret/app/db')).toEqual({ status: 200, body: { path: 'app/db', version: v.number, versionId: v.id, value: m } });
    // The file is renamed into place a moment before the render counts as done: wait for it.
    await vi.waitFor(
      async () => expect(await healthOf(second)).toMatchObject({ status: 200, body: { status: 'ok', connected: false, templates: [{ secret: 'app/db', version: v.number, error: null }] } }),
      WAIT,
    );
    // The loopback listener refuses a Host that is not its own address (DNS rebinding).
    const rebound = await get(second.listen(), '/v1/secret/app/db', `evil.example:${second.listen().split(':')[1]}`);
    expect([rebound.status, rebound.body.error?.code]).toEqual([400, 'KT_USAGE']);

    clock.advance(30_001);
    expect(await healthOf(second)).toMatchObject({ status: 503, body: { status: 'stale', code: 'KT_AGENT_CACHE_STALE' } });
    expect((await get(second.listen(), '/v1/secret/app/db')).status).toBe(503);
    await second.stop();
    expectNoMarker(join(h.dir, 'state'), m);
  });

  it('with the real clock and cacheTtl 1s: stale after the server stops, healthy again once it is back (seed 41)', async () => {
    const h = await agentHome(cleanups);
    const s = await serveHome(cleanups, h.env);
    await putSecret(s, h.admin, 'app/db', 'r-1');
    const agent = await startAgent(cleanups, h, agentYaml([s.base], { template: '{{value}}', cacheTtl: '1s', extra: 'health: 127.0.0.1:0\nlisten: unix:./agent.sock\n' }), 41);
    await vi.waitFor(async () => expect((await healthOf(agent)).status).toBe(200), WAIT);
    await s.close();
    await vi.waitFor(async () => expect(await healthOf(agent)).toMatchObject({ status: 503, body: { status: 'stale', code: 'KT_AGENT_CACHE_STALE' } }), WAIT);
    expect((await get(agent.listen(), '/v1/secret/app/db')).body.error?.code).toBe('KT_AGENT_CACHE_STALE');
    await serveHome(cleanups, h.env, {}, s.port);
    await vi.waitFor(async () => expect(await healthOf(agent)).toMatchObject({ status: 200, body: { status: 'ok', connected: true } }), WAIT);
    expect((await get(agent.listen(), '/v1/secret/app/db')).body).toMatchObject({ value: 'r-1' });
  });

  it('a corrupted cache is ignored with a log line and written again; an unusable cache folder leaves the agent running in memory', async () => {
    const h = await agentHome(cleanups);
    const s = await serveHome(cleanups, h.env);
    await putSecret(s, h.admin, 'app/db', 'c-1');
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml([s.base], { template: '{{value}}' }));
    const first = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'info' } });
    expect(first.code, first.stderr).toBe(0);
    const sealed = join(h.dir, '.keyturn-agent/cache.sealed');
    const bytes = readFileSync(sealed);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    writeFileSync(sealed, bytes);
    const second = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'info' } });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('the cache is corrupted or sealed under another key; ignored');
    expect(second.stderr).toContain('KT_DECRYPT_FAILED');
    expect(second.stderr).not.toContain('c-1');
    expect(readFileSync(sealed).equals(bytes)).toBe(false); // written again
    const third = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'info' } });
    expect(third.stderr).not.toContain('ignored');

    // A cache folder others can write: refused, said once, and the agent renders anyway.
    writeFileSync(file, agentYaml([s.base], { template: '{{value}}', extra: 'cache: { dir: ./open }\n' }));
    const open = join(h.dir, 'open');
    const made = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'silent' } });
    expect(made.code, made.stderr).toBe(0);
    chmodSync(open, 0o777);
    const refused = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'warn' } });
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stderr).toContain('KT_AGENT_CACHE_UNAVAILABLE');
    expect(refused.stderr).toContain('is writable by group and others (mode 0777)');
  });

  it('listen must be a unix socket or a loopback address; cache takes dir and keyFile only', () => {
    const h: Pick<AgentHome, 'dir'> = { dir: '/srv/agent' };
    const yaml = (extra: string) => agentYaml(['http://127.0.0.1:1'], { extra });
    for (const [extra, problem] of [
      ['listen: 0.0.0.0:8789\n', 'listen: must be unix:/path/to/agent.sock or a loopback HOST:PORT'],
      ['listen: "unix:"\n', 'listen: must be unix:'],
      [`listen: unix:./${'a'.repeat(120)}.sock\n`, 'listen: the socket path is longer than 107 bytes'],
      ['cache: { directory: ./x }\n', 'cache'],
    ] as const) {
      expect(() => parseAgentConfig(yaml(extra), h.dir)).toThrow(problem);
    }
    const c = parseAgentConfig(yaml('listen: unix:./run/a.sock\ncache: { dir: ./state, keyFile: /etc/keyturn/cache.key }\n'), h.dir);
    expect([c.listen, c.cacheDir, c.cacheKeyFile]).toEqual(['unix:/srv/agent/run/a.sock', '/srv/agent/state', '/etc/keyturn/cache.key']);
    const d = parseAgentConfig(yaml('listen: "[::1]:8789"\n'), h.dir);
    expect([d.listen, d.cacheDir, d.cacheKeyFile]).toEqual(['[::1]:8789', '/srv/agent/.keyturn-agent', '/srv/agent/.keyturn-agent/cache.key']);
  });
});

describe('keyturn agent as a process: the cache across a restart', () => {
  it('SIGTERM while the server is down, started again: renders from the cache and answers on its unix socket', { timeout: 4 * SPAWN_MS }, async () => {
    const h = await agentHome(cleanups);
    const s = await serveHome(cleanups, h.env);
    const m = marker();
    await putSecret(s, h.admin, 'app/db', m);
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml([s.base], { template: '{{value}}', cacheTtl: '1h', extra: 'listen: unix:./agent.sock\n' }));
    const db = join(h.dir, 'out/db.env');
    const sock = join(h.dir, 'agent.sock');
    const start = () => {
      const child = spawn(process.execPath, [BIN, 'agent', '-c', file], { env: { PATH: process.env.PATH ?? '', KEYTURN_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      cleanups.push(() => void child.kill('SIGKILL'));
      return { child, exited };
    };
    const one = start();
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(m), WAIT);
    await s.close();
    one.child.kill('SIGTERM');
    expect(await one.exited).toBe(0);

    rmSync(db);
    start();
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe(m), { ...WAIT, timeout: SPAWN_MS });
    await vi.waitFor(async () => expect(await get(`unix:${sock}`, '/v1/secret/app/db')).toMatchObject({ status: 200, body: { value: m } }), { ...WAIT, timeout: SPAWN_MS });
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expectNoMarker(join(h.dir, '.keyturn-agent'), m);
  });
});
