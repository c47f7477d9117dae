/**
 * The audit commands as a client of `keyturn server`, over HTTPS with a private CA
 * (KEYTURN_CACERT): one real server process serving one home over TLS (a self-signed certificate
 * for 127.0.0.1 made with openssl), and the CLI run in-process either through it (KEYTURN_ADDR)
 * or locally on that same home. `audit tail` (and --follow), `verify`, `checkpoint`, `prove` and
 * `pubkey` print the same text and JSON and exit with the same code either way; an export saved
 * from the server verifies offline with the public key and holds what a local export holds; a
 * token without `audit` is KT_ACCESS_DENIED; commands that need the home are
 * KT_REMOTE_UNSUPPORTED. Without KEYTURN_CACERT the server's certificate is not trusted:
 * KT_SERVER_UNREACHABLE naming the TLS code.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runCli, SPAWN_MS, startServerProcess, type CliResult, type ServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const BASE = { KEYTURN_LOG_LEVEL: 'silent' };

let tmp: ReturnType<typeof tempDir>;
let server: ServerProcess | undefined;
let addr = '';
let cert = '';
/** The CLI on the served home itself. */
let local: Record<string, string>;
/** The CLI through the server (https, KEYTURN_CACERT), opening no home. */
let remote: Record<string, string>;
let admin = '';
/** A token whose policy grants read and list, no audit. */
let reader = '';
/** A token with audit on app/** only. */
let appAuditor = '';

/** A self-signed certificate for 127.0.0.1 and its key (openssl, on every machine). */
function selfSigned(dir: string): { cert: string; key: string } {
  const c = join(dir, 'tls.crt');
  const k = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-out', c, '-days', '2', '-subj', '/CN=keyturn-test', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { cert: c, key: k };
}

async function ok(argv: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  const r = await runCli(argv, { env, ...(stdin === undefined ? {} : { stdin }) });
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

beforeAll(async () => {
  tmp = tempDir();
  const home = join(tmp.dir, 'served');
  local = { ...BASE, KEYTURN_HOME: home };
  await ok(['init'], local);
  for (const [path, value] of [
    ['app/db', 'v1'],
    ['app/db', 'v2'],
    ['ops/key', 'k1'],
  ] as const)
    await ok(['secret', 'put', path, '--stdin'], local, value);
  admin = (await ok(['token', 'create', '--policy', 'admin', '-q'], local)).stdout.trim();
  writeFileSync(join(tmp.dir, 'reader.yaml'), 'rules:\n  - path: "**"\n    capabilities: [read, list]\n');
  writeFileSync(join(tmp.dir, 'app-audit.yaml'), 'rules:\n  - path: app/**\n    capabilities: [audit]\n');
  await ok(['policy', 'put', 'reader', '-f', join(tmp.dir, 'reader.yaml')], local);
  await ok(['policy', 'put', 'app-audit', '-f', join(tmp.dir, 'app-audit.yaml')], local);
  reader = (await ok(['token', 'create', '--policy', 'reader', '-q'], local)).stdout.trim();
  appAuditor = (await ok(['token', 'create', '--policy', 'app-audit', '-q'], local)).stdout.trim();
  const tls = selfSigned(tmp.dir);
  cert = tls.cert;
  server = await startServerProcess(local, ['--tls-cert', tls.cert, '--tls-key', tls.key]);
  addr = server.listening;
  expect(addr).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  remote = { ...BASE, KEYTURN_HOME: join(tmp.dir, 'no-home'), KEYTURN_ADDR: addr, KEYTURN_TOKEN: admin, KEYTURN_CACERT: cert };
}, 4 * SPAWN_MS);

afterAll(async () => {
  // 0 after SIGTERM (null: it had already stopped).
  if (server) expect([0, null]).toContain(await server.stop());
  tmp?.remove();
});

/** Runs one command line through the server, then locally on the same home; expects the same outcome; returns both. */
async function both(argv: string[]): Promise<{ l: CliResult; r: CliResult }> {
  const r = await runCli(argv, { env: remote });
  const l = await runCli(argv, { env: local });
  expect(r, argv.join(' ')).toEqual(l);
  return { l, r };
}

/** The CLI in-process, calling `onLine` with each line of stdout as it is written (to act once a --follow has started). */
async function following(argv: string[], env: Record<string, string>, onLine: (line: string, n: number) => Promise<void>): Promise<{ code: number; lines: string[] }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const lines: string[] = [];
  const acted: Promise<void>[] = [];
  createInterface({ input: stdout }).on('line', (line) => {
    lines.push(line);
    acted.push(onLine(line, lines.length));
  });
  const code = await main(argv, { stdout, stderr, stdin: Readable.from(['']), env });
  stdout.end();
  await Promise.all(acted);
  return { code, lines };
}

describe('audit through the server, the same output and exit codes as on the home', () => {
  it('audit tail: the latest events, as text and JSON, none, and more than one page', { timeout: 10 * SPAWN_MS }, async () => {
    const { r } = await both(['audit', 'tail', '-n', '5']);
    expect(r.stdout.trim().split('\n')).toHaveLength(5);
    expect(r.stdout).toMatch(/^ev_\d+_[0-9a-f]+ {2}#\d+ {2}\S+ {2}[a-z.]+ {2}success {2}\S+ via cli/m);
    const json = await both(['audit', 'tail', '-n', '3', '--json']);
    const events = json.r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; seq: number; action: string; path: string | null });
    expect(events.map((e) => e.seq)).toEqual([...events.keys()].map((i) => (events[0] as { seq: number }).seq + i));
    expect((await both(['audit', 'tail', '-n', '0'])).r.stdout).toBe('');
    // More than one request's worth (1000): read forward through the server, page by page.
    const all = (await both(['audit', 'tail', '-n', '1001', '--json'])).r.stdout.trim().split('\n');
    expect(JSON.parse(all[0] as string)).toMatchObject({ seq: 0, action: 'audit.init' });
    expect(all.slice(-3)).toEqual(json.r.stdout.trim().split('\n'));
    expect(all.map((l) => (JSON.parse(l) as { action: string }).action)).toContain('secret.put');
  });

  it('audit tail --follow prints an event written after it started, through the server as locally', { timeout: 6 * SPAWN_MS }, async () => {
    for (const [env, path] of [
      [remote, 'app/followed-remote'],
      [local, 'app/followed-local'],
    ] as const) {
      // The first line (the latest event) shows the follow has read the head; only then is the secret written.
      const r = await following(['audit', 'tail', '-n', '1', '--follow', '--max', '2', '--interval', '10', '--json'], env, async (_line, n) => {
        if (n === 1) await ok(['secret', 'put', path, '--value', 'x'], env);
      });
      expect(r.code).toBe(0);
      expect(r.lines).toHaveLength(2);
      expect(JSON.parse(r.lines[1] as string)).toMatchObject({ action: 'secret.put', path, outcome: 'success' });
    }
  });

  it('audit verify, checkpoint, prove and pubkey', { timeout: 20 * SPAWN_MS }, async () => {
    const text = await both(['audit', 'verify']);
    expect(text.r.stdout).toMatch(/^Audit log intact: \d+ entries/);
    // The JSON differs only in what was verified: the server's log, or the state database here.
    const r = await runCli(['audit', 'verify', '--json'], { env: remote });
    const l = await runCli(['audit', 'verify', '--json'], { env: local });
    expect([r.code, l.code]).toEqual([0, 0]);
    expect({ ...JSON.parse(r.stdout), source: 'S' }).toEqual({ ...JSON.parse(l.stdout), source: 'S' });
    expect(JSON.parse(r.stdout).source).toBe(addr);

    // --save-trusted, then --trusted: the checkpoint kept goes to the server and the log must extend it.
    const kept = join(tmp.dir, 'kept.checkpoint');
    await ok(['audit', 'verify', '--save-trusted', kept], remote);
    expect(readFileSync(kept, 'utf8')).toMatch(/^\S+\n\d+\n\S+\n\n— /);
    await ok(['secret', 'put', 'app/later', '--value', 'x'], remote);
    await both(['audit', 'verify', '--trusted', kept]);
    const trusted = await ok(['audit', 'verify', '--trusted', kept, '--json'], remote);
    expect(JSON.parse(trusted.stdout)).toMatchObject({ ok: true, outside: { trusted: kept, warning: null } });
    writeFileSync(join(tmp.dir, 'bogus.checkpoint'), 'not a checkpoint\n');
    const bogus = await both(['audit', 'verify', '--trusted', join(tmp.dir, 'bogus.checkpoint')]);
    expect([bogus.r.code, bogus.r.stdout, bogus.r.stderr]).toEqual([1, expect.stringContaining('trusted_invalid'), expect.stringContaining('KT_AUDIT_VERIFY_FAILED')]);
    const key = (await both(['audit', 'pubkey'])).r.stdout.trim();
    expect(key).toMatch(/^\S+\+[0-9a-f]{8}\+\S+$/);
    expect((await both(['audit', 'verify', '--pubkey', key])).r.code).toBe(0);
    expect((await both(['audit', 'pubkey', '--json'])).r.stdout).toContain('"origin"');

    // Signed through the server, then the same checkpoint locally (the log did not grow in between).
    const cp = await both(['audit', 'checkpoint']);
    expect(cp.r.stdout).toMatch(/^\S+\n\d+\n\S+\n\n— /);
    await both(['audit', 'checkpoint', '--json']);
    const proof = await both(['audit', 'prove', '1']);
    expect(proof.r.stdout).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    await both(['audit', 'prove', '2', '--json']);
    const missing = await both(['audit', 'prove', '99999']);
    expect([missing.r.code, missing.r.stderr]).toEqual([3, expect.stringContaining('KT_AUDIT_EVENT_NOT_FOUND: no audit event with seq 99999\n')]);
  });

  it('audit export: saved from the server, it verifies offline with the public key and holds what a local export holds', { timeout: 12 * SPAWN_MS }, async () => {
    const fromServer = join(tmp.dir, 'server.jsonl');
    const fromHome = join(tmp.dir, 'home.jsonl');
    const r = JSON.parse((await ok(['audit', 'export', '--all', '--output', fromServer, '--json'], remote)).stdout) as {
      first: number;
      events: number;
      checkpoints: number;
      checkpointSize: number;
      file: string;
    };
    const l = JSON.parse((await ok(['audit', 'export', '--all', '--output', fromHome, '--json'], local)).stdout) as typeof r;
    // The local export came second: it holds the server's audit.export event, and a checkpoint signed for it.
    expect(l).toEqual({ file: fromHome, first: 0, events: r.events + 1, checkpoints: r.checkpoints + 1, checkpointSize: r.checkpointSize + 1 });
    expect(r).toEqual({ file: fromServer, first: 0, events: r.checkpointSize, checkpoints: expect.any(Number), checkpointSize: r.events });
    expect(statSync(fromServer).mode & 0o777).toBe(0o600);
    const events = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{"type":"event"'));
    const serverEvents = events(fromServer);
    expect(serverEvents).toHaveLength(r.events);
    expect(events(fromHome).slice(0, r.events)).toEqual(serverEvents);
    expect(JSON.parse(JSON.parse(events(fromHome)[r.events] as string).leaf)).toMatchObject({ action: 'audit.export', source: 'api' });

    // Offline: no server, no home, only the public key.
    const key = (await ok(['audit', 'pubkey'], remote)).stdout.trim();
    const offline = await runCli(['audit', 'verify', '--file', fromServer, '--pubkey', key], { env: { ...BASE, KEYTURN_HOME: join(tmp.dir, 'no-home') } });
    expect([offline.code, offline.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^Audit log intact: ${r.events} entries, ${r.events} proven`))]);

    // The text, and the other ranges: since a checkpoint kept, since a time, the last hours.
    const text = await ok(['audit', 'export', '--hours', '1', '--output', join(tmp.dir, 'hour.jsonl')], remote);
    expect(text.stdout).toMatch(new RegExp(`^Exported \\d+ events \\(from #\\d+\\) and \\d+ checkpoints to ${join(tmp.dir, 'hour.jsonl')}; covered by the checkpoint at size \\d+\\.\n$`));
    const kept = join(tmp.dir, 'export-from.checkpoint');
    await ok(['audit', 'checkpoint', '--output', kept], remote);
    const size = Number(readFileSync(kept, 'utf8').split('\n')[1]);
    await ok(['secret', 'put', 'app/after-checkpoint', '--value', 'x'], remote);
    const since = JSON.parse((await ok(['audit', 'export', '--from-checkpoint', kept, '--output', join(tmp.dir, 'since-cp.jsonl'), '--json'], remote)).stdout);
    expect(since).toMatchObject({ first: size, events: 1 });
    const later = JSON.parse((await ok(['audit', 'export', '--since', '2999-01-01T00:00:00Z', '--output', join(tmp.dir, 'none.jsonl'), '--json'], remote)).stdout);
    expect(later).toMatchObject({ events: 0 });
    const offlineSince = await runCli(['audit', 'verify', '--file', join(tmp.dir, 'since-cp.jsonl'), '--pubkey', key, '--trusted', kept], { env: { ...BASE, KEYTURN_HOME: join(tmp.dir, 'no-home') } });
    expect(offlineSince.code, offlineSince.stdout).toBe(0);
  });
});

describe('audit through the server: who may, and what only the home can do', () => {
  const as = (token: string, argv: string[]) => runCli(argv, { env: { ...remote, KEYTURN_TOKEN: token } });

  it('a token without audit is KT_ACCESS_DENIED, printed as every CLI error; audit on app/** sees only those events', async () => {
    for (const argv of [
      ['audit', 'tail'],
      ['audit', 'verify'],
      ['audit', 'export', '--all', '--output', join(tmp.dir, 'denied.jsonl')],
    ]) {
      const denied = await as(reader, argv);
      expect([argv.join(' '), denied.code, denied.stdout]).toEqual([argv.join(' '), 1, '']);
      expect(denied.stderr).toMatch(/^error KT_ACCESS_DENIED: .*audit.*\n {2}fix: .+\n$/);
    }
    const json = await as(reader, ['audit', 'tail', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'KT_ACCESS_DENIED', status: 403 } });
    const some = await as(appAuditor, ['audit', 'tail', '-n', '1000', '--json']);
    expect(some.code, some.stderr).toBe(0);
    const paths = some.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { path: string | null }).path);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((p) => p?.startsWith('app/'))).toBe(true);
    // An export holds the whole log: audit on ** only.
    expect((await as(appAuditor, ['audit', 'export', '--all', '--output', join(tmp.dir, 'app.jsonl'), '--json'])).stderr).toContain('KT_ACCESS_DENIED');
  });

  it('tick, deliver, hash and rotate-hash-key need the home: KT_REMOTE_UNSUPPORTED', async () => {
    for (const argv of [
      ['audit', 'tick'],
      ['audit', 'deliver'],
      ['audit', 'hash', '--stdin'],
      ['audit', 'rotate-hash-key'],
    ]) {
      const r = await runCli(argv, { env: remote, stdin: 'x' });
      expect([argv.join(' '), r.code, r.stderr]).toEqual([argv.join(' '), 2, expect.stringContaining(`error KT_REMOTE_UNSUPPORTED: ${argv.slice(0, 2).join(' ')} works on a local home`)]);
    }
  });
});

describe('the CLI over HTTPS with a private CA', () => {
  it('with KEYTURN_CACERT the secret and break-glass commands work; without it the certificate is not trusted; a missing CA file is a clear error', async () => {
    await ok(['secret', 'put', 'ops/tls', '--stdin'], remote, 'over-tls');
    expect((await ok(['secret', 'get', 'ops/tls'], remote)).stdout).toBe('over-tls');
    expect((await ok(['breakglass', 'ls'], remote)).stdout).toBe('No break-glass requests.\n');
    const { KEYTURN_CACERT: _ca, ...untrusting } = remote;
    for (const argv of [
      ['secret', 'get', 'ops/tls', '--json'],
      ['audit', 'tail', '--json'],
      ['breakglass', 'ls', '--json'],
    ]) {
      const r = await runCli(argv, { env: untrusting });
      expect([argv.join(' '), r.code, r.stdout]).toEqual([argv.join(' '), 1, '']);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'KT_SERVER_UNREACHABLE', message: `no answer from ${addr} (DEPTH_ZERO_SELF_SIGNED_CERT)` });
    }
    const text = await runCli(['secret', 'ls'], { env: untrusting });
    expect(text.stderr).toMatch(/^error KT_SERVER_UNREACHABLE: no answer from https:\/\/127\.0\.0\.1:\d+ \(DEPTH_ZERO_SELF_SIGNED_CERT\)\n {2}fix: .*KEYTURN_CACERT/);
    const missing = await runCli(['audit', 'tail'], { env: { ...remote, KEYTURN_CACERT: join(tmp.dir, 'missing-ca.pem') } });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining(`KT_CONFIG_INVALID: KEYTURN_CACERT: cannot read ${join(tmp.dir, 'missing-ca.pem')} (ENOENT)`)]);
  });
});
