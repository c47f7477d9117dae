/**
 * `keyturn agent` against a real `keyturn server` (buildServer over a home, on 127.0.0.1): `--once`
 * renders the README's agent.yaml exactly and a second run with no change runs no command; the
 * long-running agent follows the change stream, so a new version reaches the file and runs the
 * command exactly once, while events for other secrets, a put of the same value and heartbeats
 * run nothing; it reconnects to a server that went away and came back, and renders what it
 * missed; `kill -9` during a render never leaves a partial file (a reader sees the whole old or
 * the whole new content); a bad agent.yaml is KT_AGENT_CONFIG_INVALID naming the dot-path, exit
 * 2, nothing rendered.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { parseAgentConfig } from '../src/agent/config.js';
import { runAgent } from '../src/agent/run.js';
import { createLogger } from '../src/core/logger.js';
import type { ServerOptions } from '../src/server/app.js';
import { agentHome, agentYaml, putSecret, serveHome, startAgent as startAgentIn, WAIT, type AgentHome, type Cleanups, type RunningAgent } from './helpers/agent.js';
import { BIN, runCli, SPAWN_MS } from './helpers/cli.js';
import { seeded } from './helpers/seeded.js';
import { sse } from './helpers/sse.js';
import type { ListeningServer } from './helpers/api-home.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Home = AgentHome;
type Server = ListeningServer;
// The fixture (test/helpers/agent.ts), bound to this file's cleanups.
const home = (): Promise<Home> => agentHome(cleanups);
const serve = (env: Record<string, string>, options: ServerOptions = {}, port = 0): Promise<Server> => serveHome(cleanups, env, options, port);
const put = putSecret;
const startAgent = (h: Home, yaml: string, seed: number): Promise<RunningAgent> => startAgentIn(cleanups, h, yaml, seed);

const lines = (file: string): number =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '').length
    : 0;

describe('keyturn agent --once', () => {
  it("renders the README's agent.yaml exactly (mode 0600), runs its command, and a second run with no change runs none", async () => {
    const h = await home();
    const s = await serve(h.env);
    const v = await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-1' });
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml([s.base]));

    const first = await runCli(['agent', '-c', file, '--once', '--json'], { env: h.env });
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(join(h.dir, 'out/db.env'), 'utf8')).toBe('DB_USER=app\nDB_PASSWORD=pw-1\n');
    expect(statSync(join(h.dir, 'out/db.env')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(h.dir, 'out/reloaded'))).toBe(true);
    expect(JSON.parse(first.stdout)).toEqual({ templates: [{ secret: 'app/db', destination: join(h.dir, 'out/db.env'), version: v.number, changed: true, error: null }] });
    expect(first.stdout + first.stderr).not.toContain('pw-1');

    // No change: the command does not run (the file it touches is not created again).
    rmSync(join(h.dir, 'out/reloaded'));
    const second = await runCli(['agent', '-c', file, '--once', '--json'], { env: h.env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).templates[0].changed).toBe(false);
    expect(existsSync(join(h.dir, 'out/reloaded'))).toBe(false);
  });

  it('a failing command or an unknown field is reported with its KT_ code and exit 1; the other parts still happen', async () => {
    const h = await home();
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-1' });
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml([s.base], { command: ['/bin/false'] }));
    const failed = await runCli(['agent', '-c', file, '--once'], { env: h.env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('KT_AGENT_COMMAND_FAILED');
    expect(failed.stderr).toContain('exited with code 1');
    expect(readFileSync(join(h.dir, 'out/db.env'), 'utf8')).toBe('DB_USER=app\nDB_PASSWORD=pw-1\n');

    writeFileSync(file, agentYaml([s.base], { template: '{{nope}}' }));
    const unknown = await runCli(['agent', '-c', file, '--once'], { env: h.env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('KT_AGENT_RENDER_FAILED');
    expect(unknown.stderr).toContain('{{nope}}');
    expect(unknown.stderr).not.toContain('pw-1');
  });

  it('a missing token file is KT_AGENT_TOKEN_UNREADABLE, exit 2, nothing rendered', async () => {
    const h = await home();
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml(['http://127.0.0.1:1']).replace('./agent.token', './missing.token'));
    const r = await runCli(['agent', '-c', file, '--once'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KT_AGENT_TOKEN_UNREADABLE');
    expect(r.stderr).toContain('missing.token (ENOENT)');
    expect(existsSync(join(h.dir, 'out'))).toBe(false);
  });

  it('a bad agent.yaml is KT_AGENT_CONFIG_INVALID naming the dot-path, exit 2, nothing rendered', async () => {
    const h = await home();
    const file = join(h.dir, 'agent.yaml');
    const cases: Array<[string, string]> = [
      [agentYaml(['http://127.0.0.1:1']).replace('destination:', 'destinaton:'), 'templates.0'],
      [agentYaml(['http://keyturn.example.com:8787']), 'servers.0: plain http://'],
      [agentYaml(['http://127.0.0.1:1']).replace('command:', 'mode: "0666"\n    command:'), 'templates.0.mode'],
      [agentYaml(['http://127.0.0.1:1'], { extra: 'colour: blue\n' }), '"colour"'],
      [agentYaml(['http://127.0.0.1:1'], { template: 'A={{a' }), 'templates.0.template'],
    ];
    for (const [yaml, where] of cases) {
      writeFileSync(file, yaml);
      const r = await runCli(['agent', '-c', file, '--once'], { env: h.env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('KT_AGENT_CONFIG_INVALID');
      expect(r.stderr).toContain(where);
      expect(existsSync(join(h.dir, 'out'))).toBe(false);
    }
  });
});

describe('keyturn agent (long-running)', () => {
  it('a new version reaches the file and runs the command exactly once; other secrets, a put of the same value and heartbeats run nothing (seed 11)', async () => {
    const h = await home();
    const s = await serve(h.env, { events: { heartbeatMs: 20 } });
    await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-1' });
    const count = join(h.dir, 'out/count');
    const { set } = await startAgent(h, agentYaml([s.base], { command: ['/bin/sh', '-c', 'echo ran >> ./out/count'] }), 11);
    const db = join(h.dir, 'out/db.env');
    await vi.waitFor(() => expect(lines(count)).toBe(1), WAIT);
    expect(readFileSync(db, 'utf8')).toBe('DB_USER=app\nDB_PASSWORD=pw-1\n');
    expect(statSync(db).mode & 0o777).toBe(0o600);

    const v2 = await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-2' });
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe('DB_USER=app\nDB_PASSWORD=pw-2\n'), WAIT);
    await vi.waitFor(() => expect(set.results()[0]!.commands).toBe(2), WAIT);
    await set.idle();
    expect(lines(count)).toBe(2);
    expect(set.results()[0]!.version).toBe(v2.number);

    // Another secret, then the same value again (a new version with the same content): the
    // agent reads it (its version moves) but the file does not change, so no command.
    await put(s, h.admin, 'app/other', { username: 'x', password: 'y' });
    const same = await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-2' });
    await vi.waitFor(() => expect(set.results()[0]!.version).toBe(same.number), WAIT);
    // Heartbeats flow meanwhile (seen by a second subscriber).
    const watcher = await sse(`${s.base}/v1/events`, h.reader);
    cleanups.push(() => watcher.close());
    await vi.waitFor(() => expect(watcher.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(3), WAIT);
    await set.idle();
    expect(lines(count)).toBe(2);
    expect(set.results()[0]).toMatchObject({ changes: 2, commands: 2, error: null });
    expect(readFileSync(db, 'utf8')).toBe('DB_USER=app\nDB_PASSWORD=pw-2\n');

    // A real change after all that: exactly one more run.
    await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-3' });
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe('DB_USER=app\nDB_PASSWORD=pw-3\n'), WAIT);
    await vi.waitFor(() => expect(lines(count)).toBe(3), WAIT);
    await set.idle();
    expect(lines(count)).toBe(3);
  });

  it('the server goes away and comes back on the same port: the agent reconnects and renders the version it missed (seed 23)', async () => {
    const h = await home();
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', 'v-1');
    const { set, connected } = await startAgent(h, agentYaml([s.base], { template: '{{value}}\n', command: ['/bin/sh', '-c', 'echo ran >> ./out/count'] }), 23);
    const db = join(h.dir, 'out/db.env');
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe('v-1\n'), WAIT);
    await vi.waitFor(() => expect(connected()).toBe(true), WAIT);

    await s.close();
    await vi.waitFor(() => expect(connected()).toBe(false), WAIT);
    // Written while no server runs: no event reaches the agent for it.
    const written = await runCli(['secret', 'put', 'app/db', '--value', 'v-2'], { env: h.env });
    expect(written.code, written.stderr).toBe(0);
    const back = await serve(h.env, {}, s.port);

    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe('v-2\n'), WAIT);
    await vi.waitFor(() => expect(connected()).toBe(true), WAIT);
    expect(back.port).toBe(s.port);
    await set.idle();
    expect(lines(join(h.dir, 'out/count'))).toBe(2);
  });

  it('the token rotated on disk and the old one revoked: the stream reconnects with the new token and the next version arrives (seed 17)', async () => {
    const h = await home();
    const s = await serve(h.env, { events: { heartbeatMs: 50 } });
    await put(s, h.admin, 'app/db', 't-1');
    const { set } = await startAgent(h, agentYaml([s.base], { template: '{{value}}' }), 17);
    const db = join(h.dir, 'out/db.env');
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe('t-1'), WAIT);
    const access = new AccessRepo(s.kt.state, s.kt.clock);
    const fresh = await access.createToken({ policies: ['app-read'] });
    writeFileSync(join(h.dir, 'agent.token'), `${fresh.token}\n`);
    await access.revokeToken(h.readerId);
    await put(s, h.admin, 'app/db', 't-2');
    await vi.waitFor(() => expect(readFileSync(db, 'utf8')).toBe('t-2'), WAIT);
    await set.idle();
    expect(set.results()[0]!.error).toBeNull();
  });

  it('two servers: with the first down from the start, the agent uses the second (seed 5)', async () => {
    const h = await home();
    const down = await serve(h.env);
    const downBase = down.base;
    await down.close();
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', 'only');
    const { connected } = await startAgent(h, agentYaml([downBase, s.base], { template: '{{value}}' }), 5);
    await vi.waitFor(() => expect(readFileSync(join(h.dir, 'out/db.env'), 'utf8')).toBe('only'), WAIT);
    await vi.waitFor(() => expect(connected()).toBe(true), WAIT);
  });

  it('serves health: 200 {"status":"ok"} once rendered and connected, 503 before any render', async () => {
    const h = await home();
    const s = await serve(h.env);
    const stop = new AbortController();
    let address = '';
    const config = parseAgentConfig(agentYaml([s.base], { template: '{{value}}' }).replace('cacheTtl: 5m', 'cacheTtl: 5m\nhealth: 127.0.0.1:0'), h.dir);
    const done = runAgent(config, { once: false, log: createLogger('silent'), signal: stop.signal, random: seeded(3), backoffBaseMs: 20, backoffMaxMs: 200, onHealth: (a) => (address = a) });
    cleanups.push(async () => {
      stop.abort();
      await done;
    });
    await vi.waitFor(() => expect(address).not.toBe(''), WAIT);
    // No secret yet: the render fails, so not healthy.
    await vi.waitFor(async () => {
      const r = await fetch(`http://${address}/`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { templates: Array<{ error: string }> }).templates[0]!.error).toBe('KT_AGENT_RENDER_FAILED');
    }, WAIT);
    await put(s, h.admin, 'app/db', 'now');
    await vi.waitFor(async () => {
      const r = await fetch(`http://${address}/`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ status: 'ok', connected: true, server: s.base });
    }, WAIT);
  });
});

describe('keyturn agent as a process', () => {
  it('kill -9 during rendering never leaves a partial file: every read is the whole old or the whole new content (seed 7)', { timeout: 12 * SPAWN_MS }, async () => {
    const h = await home();
    const s = await serve(h.env);
    const rng = seeded(7);
    // Large values (the 64 KiB limit allows), different in every byte, so a mix would show.
    const values = ['A'.repeat(60_000), 'B'.repeat(60_000)];
    await put(s, h.admin, 'app/db', values[0]);
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml([s.base], { template: '{{value}}', command: ['/bin/true'] }));
    const out = join(h.dir, 'out');
    mkdirSync(out, { mode: 0o700 });
    const db = join(out, 'db.env');
    // One whole render first: the file exists before any kill (were every render killed before its rename, it would not).
    const first = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'silent' } });
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(db, 'utf8')).toBe(values[0]);

    let reading = true;
    let reads = 0;
    const seen = new Set<string>();
    const reader = (async () => {
      while (reading) {
        const text = await readFile(db, 'utf8').catch(() => null);
        if (text !== null) {
          expect(values, `a read of ${text.length} bytes starting ${JSON.stringify(text.slice(0, 8))}`).toContain(text);
          seen.add(text[0]!);
          reads += 1;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    let killed = 0;
    // 10 rounds, more (up to 40) until a kill has landed mid-render at least once.
    for (let i = 0; i < 40 && (i < 10 || killed === 0); i += 1) {
      await put(s, h.admin, 'app/db', values[(i + 1) % 2]);
      // Killed right as the temp file appears, or a seeded few milliseconds later.
      const delay = Math.floor(rng() * 4);
      const child = spawn(process.execPath, [BIN, 'agent', '-c', file, '--once'], { env: { PATH: process.env.PATH ?? '', KEYTURN_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
      const watcher = watch(out, (_e, name) => {
        if (name?.endsWith('.keyturn-tmp') !== true) return;
        watcher.close();
        setTimeout(() => {
          if (child.kill('SIGKILL')) killed += 1;
        }, delay);
      });
      await new Promise((r) => child.on('exit', r));
      watcher.close();
    }
    reading = false;
    await reader;
    expect(killed).toBeGreaterThan(0);
    expect(values).toContain(readFileSync(db, 'utf8'));
    expect(reads).toBeGreaterThan(10);
    expect(seen.size).toBeGreaterThan(0);
    // What a kill leaves is only a temp file beside it, never the destination half written.
    for (const name of readdirSync(out)) expect(name === 'db.env' || name.endsWith('.keyturn-tmp')).toBe(true);
  });

  it('runs until SIGTERM, then exits 0', { timeout: 2 * SPAWN_MS }, async () => {
    const h = await home();
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', 'up');
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, agentYaml([s.base], { template: '{{value}}' }));
    const child = spawn(process.execPath, [BIN, 'agent', '-c', file], { env: { PATH: process.env.PATH ?? '', KEYTURN_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    cleanups.push(() => void child.kill('SIGKILL'));
    await vi.waitFor(() => expect(readFileSync(join(h.dir, 'out/db.env'), 'utf8')).toBe('up'), WAIT);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
