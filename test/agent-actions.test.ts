/**
 * `keyturn agent`, what it does besides rendering, against a real `keyturn server`: it logs in
 * with a JWT file through the OIDC login (a real JWKS endpoint and signed JWTs) and logs in again
 * after its session is revoked or the file changes; it signals the process in a pid file once per
 * real change; it gives files their owner and group; it supervises a program (started after the
 * first render with a secret in its environment, restarted with the new value after a change and
 * after it died, stopped with the agent); it removes the temp files a killed agent left; and an
 * agent following the second of two servers on one PostgreSQL sees a rotation run by the first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { OidcRepo } from '../src/access/oidc-repo.js';
import { parseAgentConfig } from '../src/agent/config.js';
import { agentHome, putSecret, serveHome, startAgent as startTestAgent, WAIT, type AgentHome, type Cleanups } from './helpers/agent.js';
import { BIN, runCli, SPAWN_MS } from './helpers/cli.js';
import { alive } from './helpers/processes.js';
import { jwksServer, newKey } from './helpers/jwks.js';
import { applyYaml } from './helpers/state.js';

const K8S_ISS = 'https://kubernetes.default.svc.cluster.local';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const serve = (env: Record<string, string>) => serveHome(cleanups, env);
const put = putSecret;
/** The agent in-process until the test ends, with no jitter: reconnections and restarts of the supervised program happen at once. */
const startAgent = (h: AgentHome, yaml: string) => startTestAgent(cleanups, h, yaml, 0, { random: () => 0 });

const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/** A node program the tests run: `code` with its pid written to `pidFile` first. */
function program(dir: string, name: string, code: string): string {
  const file = join(dir, `${name}.cjs`);
  writeFileSync(file, code);
  return file;
}

describe('keyturn agent: JWT-file login', () => {
  it('trades the JWT for a session, logs in again after a 401 and when the file changes; a refused JWT fails --once', async () => {
    const h = await agentHome(cleanups, { prefix: 'keyturn-agent-jwt-' });
    const jwks = await jwksServer();
    cleanups.push(() => jwks.close());
    const key = await newKey('RS256', 'k8s-1');
    jwks.sets.set('/k8s/jwks', [key.jwk]);
    const s = await serve(h.env);
    const access = new AccessRepo(s.kt.state, s.kt.clock);
    await new OidcRepo(s.kt.state, s.kt.clock, access).put(
      'k8s',
      `issuer: ${K8S_ISS}\njwksUrl: ${jwks.url}/k8s/jwks\naudiences: [keyturn]\nrules:\n  - claims:\n      sub: "system:serviceaccount:prod:app"\n    policies: [app-read]\n`,
    );
    const jwt = (sub: string, jti: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: K8S_ISS, sub, aud: ['keyturn'], iat: now, nbf: now - 5, exp: now + 3600, jti }).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
    };
    await put(s, h.admin, 'app/db', 'pw-1');
    writeFileSync(join(h.dir, 'sa.jwt'), await jwt('system:serviceaccount:prod:app', 'one'));
    const yaml = `servers: ["${s.base}"]\njwtFile: ./sa.jwt\noidcIssuer: k8s\ntemplates:\n  - secret: app/db\n    destination: ./out/db\n`;
    writeFileSync(join(h.dir, 'agent.yaml'), yaml);

    const once = await runCli(['agent', '-c', join(h.dir, 'agent.yaml'), '--once', '--json'], { env: h.env });
    expect(once.code, once.stderr).toBe(0);
    expect(read(join(h.dir, 'out/db'))).toBe('pw-1');
    const sessions = async () => (await access.tokens()).filter((t) => t.subject === 'oidc:k8s:system:serviceaccount:prod:app');
    expect(await sessions()).toHaveLength(1);

    // Long-running: one session for every read while it is valid.
    await startAgent(h, yaml);
    await vi.waitFor(async () => expect(await sessions()).toHaveLength(2), WAIT);
    await put(s, h.admin, 'app/db', 'pw-2');
    await vi.waitFor(() => expect(read(join(h.dir, 'out/db'))).toBe('pw-2'), WAIT);
    expect(await sessions()).toHaveLength(2);

    // Its session revoked: the next read is a 401, the agent logs in again with the same JWT.
    const live = (await sessions()).filter((t) => t.revokedAt === null);
    for (const t of live) await access.revokeToken(t.id);
    await put(s, h.admin, 'app/db', 'pw-3');
    await vi.waitFor(() => expect(read(join(h.dir, 'out/db'))).toBe('pw-3'), WAIT);
    expect(await sessions()).toHaveLength(3);

    // A new JWT in the file (the kubelet renewed it): the next read logs in with it.
    writeFileSync(join(h.dir, 'sa.jwt'), await jwt('system:serviceaccount:prod:app', 'two'));
    await put(s, h.admin, 'app/db', 'pw-4');
    await vi.waitFor(() => expect(read(join(h.dir, 'out/db'))).toBe('pw-4'), WAIT);
    expect(await sessions()).toHaveLength(4);

    // A JWT no rule accepts: --once renders nothing and says why.
    writeFileSync(join(h.dir, 'sa.jwt'), await jwt('system:serviceaccount:prod:other', 'three'));
    writeFileSync(join(h.dir, 'agent2.yaml'), yaml.replace('./out/db', './out2/db'));
    const refused = await runCli(['agent', '-c', join(h.dir, 'agent2.yaml'), '--once'], { env: h.env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('KT_AGENT_RENDER_FAILED');
    expect(refused.stderr).toContain('the OIDC login was refused');
    expect(existsSync(join(h.dir, 'out2/db'))).toBe(false);
    expect(once.stdout + once.stderr + refused.stderr).not.toContain('eyJ');
  });

  it('agent.yaml takes exactly one of tokenFile and jwtFile, and oidcIssuer only with jwtFile', () => {
    const base = 'servers: ["http://127.0.0.1:1"]\ntemplates:\n  - secret: app/db\n    destination: ./db\n';
    expect(() => parseAgentConfig(base, '/tmp')).toThrow(/tokenFile: give exactly one of tokenFile .* and jwtFile/);
    expect(() => parseAgentConfig(`${base}tokenFile: ./t\njwtFile: ./j\n`, '/tmp')).toThrow(/jwtFile: give exactly one/);
    expect(() => parseAgentConfig(`${base}tokenFile: ./t\noidcIssuer: k8s\n`, '/tmp')).toThrow(/oidcIssuer: is the issuer of the JWT in jwtFile/);
    expect(parseAgentConfig(`${base}jwtFile: ./j\n`, '/tmp').auth).toEqual({ kind: 'jwt', file: '/tmp/j', issuer: undefined });
  });
});

describe('keyturn agent: after a real change', () => {
  it('signals the process in the pid file once per real change, never on an unchanged render', async () => {
    const h = await agentHome(cleanups, { prefix: 'keyturn-agent-sig-' });
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', { password: 'pw-1' });
    const hups = join(h.dir, 'hups');
    const pidFile = join(h.dir, 'app.pid');
    const code = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
process.on('SIGHUP', () => require('fs').appendFileSync(${JSON.stringify(hups)}, 'hup\\n'));
setInterval(() => {}, 1000);`;
    const child: ChildProcess = spawn(process.execPath, [program(h.dir, 'reloader', code)], { stdio: 'ignore' });
    cleanups.push(() => void child.kill('SIGKILL'));
    await vi.waitFor(() => expect(read(pidFile)).toBe(String(child.pid)), WAIT);

    const { set } = await startAgent(
      h,
      `servers: ["${s.base}"]\ntokenFile: ./agent.token\ntemplates:\n  - secret: app/db\n    destination: ./out/db.env\n    template: "P={{password}}"\n    pidFile: ./app.pid\n    signal: HUP\n`,
    );
    await vi.waitFor(() => expect(read(hups)).toBe('hup\n'), WAIT);
    await put(s, h.admin, 'app/db', { password: 'pw-1' }); // same content: no change
    await put(s, h.admin, 'app/db', { password: 'pw-2' });
    await vi.waitFor(() => expect(read(join(h.dir, 'out/db.env'))).toBe('P=pw-2'), WAIT);
    await set.idle();
    // Two real changes, two signals (the child writes each when it handles it): none for the same-content put.
    expect(set.results()[0]).toMatchObject({ changes: 2, error: null });
    await vi.waitFor(() => expect(read(hups)).toBe('hup\nhup\n'), WAIT);

    // The process gone: the signal fails with its own code, the file is still current.
    child.kill('SIGKILL');
    await vi.waitFor(() => expect(alive(child.pid!)).toBe(false), WAIT);
    await put(s, h.admin, 'app/db', { password: 'pw-3' });
    await vi.waitFor(() => expect(set.results()[0]!.error?.code).toBe('KT_AGENT_SIGNAL_FAILED'), WAIT);
    expect(set.results()[0]!.error!.message).toMatch(/templates\.0: signal SIGHUP to the process in .*app\.pid: process \d+ from the pid file is not running/);
    expect(read(join(h.dir, 'out/db.env'))).toBe('P=pw-3');
  });

  it('gives the file its owner and group (by name or id) and a wrong owner on disk counts as a change; without the right to chown, the render says EPERM', async () => {
    const h = await agentHome(cleanups, { prefix: 'keyturn-agent-own-' });
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', 'pw-1');
    const yaml = `servers: ["${s.base}"]\ntokenFile: ./agent.token\ntemplates:\n  - secret: app/db\n    destination: ./out/db\n    mode: "0640"\n    owner: nobody\n    group: 65534\n`;
    writeFileSync(join(h.dir, 'agent.yaml'), yaml);
    const run = () => runCli(['agent', '-c', join(h.dir, 'agent.yaml'), '--once', '--json'], { env: h.env });
    const first = await run();
    if (process.getuid?.() === 0) {
      // Root (as CI runs): the file is given nobody's ids, and a file found with another owner is written again.
      expect(first.code, first.stderr).toBe(0);
      const st = statSync(join(h.dir, 'out/db'));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o640]);
      expect(JSON.parse((await run()).stdout).templates[0].changed).toBe(false);
      chownSync(join(h.dir, 'out/db'), 0, 0);
      expect(JSON.parse((await run()).stdout).templates[0].changed).toBe(true);
      expect(statSync(join(h.dir, 'out/db')).uid).toBe(65534);
    } else {
      // Another user may not give files away: the render fails and says why, nothing is left behind.
      expect(first.code).toBe(1);
      expect(first.stderr).toContain('EPERM giving the file its owner or group');
      expect(existsSync(join(h.dir, 'out/db'))).toBe(false);
    }

    writeFileSync(join(h.dir, 'agent.yaml'), yaml.replace('owner: nobody', 'owner: no-such-user-here'));
    const unknown = await runCli(['agent', '-c', join(h.dir, 'agent.yaml'), '--once'], { env: h.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('KT_AGENT_CONFIG_INVALID');
    expect(unknown.stderr).toContain('templates.0.owner: no user named "no-such-user-here" on this host');
  });

  it('removes the temp files a killed agent left beside its destinations, and only those', async () => {
    const h = await agentHome(cleanups, { prefix: 'keyturn-agent-tmp-' });
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', 'pw-1');
    const out = join(h.dir, 'out');
    writeFileSync(join(h.dir, 'agent.yaml'), `servers: ["${s.base}"]\ntokenFile: ./agent.token\ntemplates:\n  - secret: app/db\n    destination: ./out/db\n`);
    expect((await runCli(['agent', '-c', join(h.dir, 'agent.yaml'), '--once'], { env: h.env })).code).toBe(0);
    const left = join(out, '.db.0123456789ab.keyturn-tmp');
    const others = ['.other.0123456789ab.keyturn-tmp', '.db.notours.keyturn-tmp', 'db.bak'].map((n) => join(out, n));
    for (const f of [left, ...others]) writeFileSync(f, 'partial');
    const r = await runCli(['agent', '-c', join(h.dir, 'agent.yaml'), '--once'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(left)).toBe(false);
    for (const f of others) expect(existsSync(f)).toBe(true);
    expect(read(join(out, 'db'))).toBe('pw-1');
  });
});

/** agent.yaml rendering app/db to ./out/db.env and supervising `node APP` (stopTimeout 5s), with `execExtra` under exec. */
function execYaml(server: string, app: string, execExtra = ''): string {
  return `servers: ["${server}"]
tokenFile: ./agent.token
templates:
  - secret: app/db
    destination: ./out/db.env
    template: "P={{password}}"
exec:
  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(app)}]
${execExtra}  stopTimeout: 5s
`;
}

/** The non-empty lines a supervised program appended to `file` (one per start). */
const lines = (file: string): string[] =>
  read(file)
    .split('\n')
    .filter((l) => l !== '');

describe('keyturn agent: exec (a supervised program)', () => {
  it('an agent killed with SIGKILL leaves its program running; the next agent stops that program before it starts its own', { timeout: 4 * SPAWN_MS }, async () => {
    const h = await agentHome(cleanups, { prefix: 'keyturn-agent-orphan-' });
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-1' });
    const runs = join(h.dir, 'runs');
    // Each start appends its pid; SIGTERM ends it.
    const code = `require('fs').appendFileSync(${JSON.stringify(runs)}, process.pid + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);`;
    const app = program(h.dir, 'app', code);
    const file = join(h.dir, 'agent.yaml');
    writeFileSync(file, execYaml(s.base, app));
    const pids = () => lines(runs).map(Number);
    const start = () => {
      const child = spawn(process.execPath, [BIN, 'agent', '-c', file], { env: { PATH: process.env.PATH ?? '', KEYTURN_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      cleanups.push(() => void child.kill('SIGKILL'));
      return { child, exited };
    };
    const first = start();
    await vi.waitFor(() => expect(pids()).toHaveLength(1), { ...WAIT, timeout: SPAWN_MS });
    const orphan = pids()[0]!;
    cleanups.push(() => {
      if (alive(orphan)) process.kill(-orphan, 'SIGKILL');
    });
    // The agent records its program just after starting it: on a loaded machine the program may write first.
    await vi.waitFor(() => expect(read(join(h.dir, '.keyturn-agent', 'exec.pid'))).toMatch(new RegExp(`^${orphan} \\d+\\n$`)), WAIT);
    first.child.kill('SIGKILL');
    await first.exited;
    // Killed with SIGKILL, the agent could not stop its program.
    expect(alive(orphan)).toBe(true);

    const second = start();
    await vi.waitFor(() => expect(pids()).toHaveLength(2), { ...WAIT, timeout: SPAWN_MS });
    expect(alive(orphan), 'the program the killed agent left is stopped').toBe(false);
    const own = pids()[1]!;
    expect(alive(own)).toBe(true);
    second.child.kill('SIGTERM');
    await second.exited;
    await vi.waitFor(() => expect(alive(own)).toBe(false), WAIT);
  });

  it('starts it after the first render with the secret in its environment, restarts it with the new value after a change and after it died, and stops it with the agent', async () => {
    const h = await agentHome(cleanups, { prefix: 'keyturn-agent-exec-' });
    const s = await serve(h.env);
    await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-1' });
    const runs = join(h.dir, 'runs');
    // Each start appends "pid password file-content"; SIGTERM ends it (exit 0).
    const code = `const fs = require('fs');
fs.appendFileSync(${JSON.stringify(runs)}, process.pid + ' ' + process.env.DB_PASSWORD + ' ' + fs.readFileSync('./out/db.env', 'utf8').trim() + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);`;
    const app = program(h.dir, 'app', code);
    const yaml = execYaml(s.base, app, '  env:\n    - { name: DB_PASSWORD, secret: app/db, field: password }\n');
    const starts = () => lines(runs).map((l) => l.split(' '));
    const agent = await startAgent(h, yaml);
    const supervisor = () => agent.supervisor()!;
    await vi.waitFor(() => expect(starts()).toHaveLength(1), WAIT);
    expect(starts()[0]!.slice(1)).toEqual(['pw-1', 'P=pw-1']);

    await put(s, h.admin, 'app/db', { username: 'app', password: 'pw-2' });
    await vi.waitFor(() => expect(starts()).toHaveLength(2), WAIT);
    const [first, second] = starts();
    expect(second!.slice(1)).toEqual(['pw-2', 'P=pw-2']);
    expect(alive(Number(first![0]))).toBe(false);

    // It dies by itself: started again.
    process.kill(Number(second![0]), 'SIGKILL');
    await vi.waitFor(() => expect(starts()).toHaveLength(3), WAIT);
    const third = Number(starts()[2]![0]);
    expect(supervisor().status()).toMatchObject({ running: true, pid: third, starts: 3, lastExit: { code: null, signal: 'SIGKILL' } });

    // Stopped with the agent.
    await agent.stop();
    expect(alive(third)).toBe(false);
    expect(supervisor().status()).toMatchObject({ running: false, lastExit: { code: 0, signal: null } });
    expect(starts()).toHaveLength(3);
  });

  it('refuses an exec.env entry whose secret no template renders', () => {
    const yaml =
      'servers: ["http://127.0.0.1:1"]\ntokenFile: ./t\ntemplates:\n  - secret: app/db\n    destination: ./db\nexec:\n  command: ["/bin/true"]\n  env:\n    - { name: X, secret: app/other }\n';
    expect(() => parseAgentConfig(yaml, '/tmp')).toThrow(/exec\.env\.0\.secret: is not the secret of any template/);
  });
});

describe('keyturn agent: two servers on one PostgreSQL', () => {
  it('an agent following the second server renders the version a rotation run by the first made current', async () => {
    const h = await agentHome(cleanups, { postgres: true, prefix: 'keyturn-agent-pg-' });
    const a = await serve(h.env);
    const b = await serve(h.env);
    await applyYaml(a.kt, 'version: 1\nsecrets:\n  app/token:\n    type: app-secret\n    password: { length: 24 }\n');
    const engine = await a.kt.engine();
    await engine.rotate('app/token');
    const before = (await a.kt.store.get('app/token', { stage: 'current' }))!.number;
    const { set } = await startAgent(h, `servers: ["${b.base}"]\ntokenFile: ./agent.token\ntemplates:\n  - secret: app/token\n    destination: ./out/token\n    template: "{{_version}}"\n`);
    await vi.waitFor(() => expect(set.results()[0]!.version).toBe(before), WAIT);
    const run = await engine.rotate('app/token');
    expect(run.status).toBe('done');
    const current = await a.kt.store.get('app/token', { stage: 'current' });
    await vi.waitFor(() => expect(read(join(h.dir, 'out/token'))).toBe(String(current!.number)), WAIT);
    expect(current!.number).toBe(before + 1);
  });
});
