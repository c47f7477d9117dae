/**
 * `keyturn cert watch`: certificates made here (a CA; leaves valid 60 days, ending in 5 days,
 * already expired, and for another name) served on loopback by node:tls servers, and by a real
 * nginx when it is installed. Checked: statuses, days left (from each certificate's notAfter),
 * trust with and without --ca-file, the name check, a closed port and a port that answers
 * something else than TLS, the exit codes (0, 1, 4, 2), the --json shape, the table, and the
 * bound on endpoints probed at once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEndpoint } from '../src/certs/endpoint.js';
import type { Probe } from '../src/certs/probe.js';
import { DAY_MS, expiryStatus, watchEndpoints, type WatchResult } from '../src/certs/watch.js';
import { KeyturnError } from '../src/core/errors.js';
import { makeCa, makeLeaf, type TestCa, type TestLeaf } from './helpers/certs.js';
import { runCli } from './helpers/cli.js';
import { hasNginx, startNginx, type Nginx } from './helpers/nginx.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
let ca: TestCa;
const leaves: Record<'ok' | 'soon' | 'expired' | 'other', TestLeaf> = {} as never;
const ports: Record<'ok' | 'soon' | 'expired' | 'other' | 'garbage' | 'silent' | 'closed', number> = {} as never;
const servers: Array<TlsServer | TcpServer> = [];
const held: Socket[] = [];

async function listen(server: TlsServer | TcpServer): Promise<number> {
  servers.push(server);
  // Every connection, so that afterAll can end those the server still holds.
  server.on('connection', (s: Socket) => held.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  tmp = tempDir();
  ca = await makeCa(tmp.dir);
  const now = Date.now();
  // One at a time: openssl ca writes the CA's index file.
  const ok = await makeLeaf(ca, { name: 'ok', cn: 'ok.test', sans: ['DNS:ok.test', 'IP:127.0.0.1'], days: 60 });
  const soon = await makeLeaf(ca, { name: 'soon', cn: 'soon.test', sans: ['DNS:soon.test', 'IP:127.0.0.1'], days: 5 });
  const expired = await makeLeaf(ca, { name: 'expired', cn: 'expired.test', sans: ['DNS:expired.test', 'IP:127.0.0.1'], notBeforeMs: now - 40 * DAY_MS, notAfterMs: now - 10 * DAY_MS });
  const other = await makeLeaf(ca, { name: 'other', cn: 'other.test', sans: ['DNS:other.test'], days: 60 });
  Object.assign(leaves, { ok, soon, expired, other });
  for (const name of ['ok', 'soon', 'expired', 'other'] as const) ports[name] = await listen(createTlsServer({ key: leaves[name].key, cert: leaves[name].cert }));
  // Answers every connection with an HTTP error and closes: not TLS.
  ports.garbage = await listen(createTcpServer((s) => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
  // Accepts and never answers: the handshake never finishes.
  ports.silent = await listen(createTcpServer(() => undefined));
  ports.closed = await closedPort();
}, 60_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  tmp.remove();
});

const at = (name: keyof typeof ports) => `127.0.0.1:${ports[name]}`;

/** Runs the command with --json; the results and the exit code, and the whole days left as the command may have seen them. */
async function watchJson(args: string[]): Promise<{ code: number; results: WatchResult[]; stderr: string; before: number; after: number }> {
  const before = Date.now();
  const r = await runCli(['cert', 'watch', ...args, '--json']);
  const after = Date.now();
  return { code: r.code, results: r.stdout ? (JSON.parse(r.stdout) as WatchResult[]) : [], stderr: r.stderr, before, after };
}

/** The whole days left of `leaf` between two instants (the command read the clock in between). */
function daysLeftBetween(leaf: TestLeaf, before: number, after: number): number[] {
  return [...new Set([Math.floor((leaf.notAfterMs - after) / DAY_MS), Math.floor((leaf.notAfterMs - before) / DAY_MS)])];
}

describe('keyturn cert watch: node:tls endpoints', () => {
  it('a certificate valid 60 days, CA given: ok, trusted, for the name; exit 0; every field of --json', async () => {
    const { code, results, before, after } = await watchJson([at('ok'), '--ca-file', ca.certFile]);
    expect(code).toBe(0);
    expect(results).toHaveLength(1);
    const [r] = results as [WatchResult];
    expect(Object.keys(r).sort()).toEqual(
      ['endpoint', 'host', 'port', 'servername', 'name', 'status', 'daysLeft', 'certificate', 'chain', 'trusted', 'trustError', 'nameMatches', 'nameError', 'protocol', 'error', 'problems'].sort(),
    );
    expect(r).toMatchObject({
      endpoint: at('ok'),
      host: '127.0.0.1',
      port: ports.ok,
      servername: null,
      name: '127.0.0.1',
      status: 'ok',
      trusted: true,
      trustError: null,
      nameMatches: true,
      nameError: null,
      error: null,
      problems: [],
    });
    expect(daysLeftBetween(leaves.ok, before, after)).toContain(r.daysLeft);
    const x = leaves.ok.x509;
    expect(r.certificate).toEqual({
      subjectCN: 'ok.test',
      subject: 'CN=ok.test',
      subjectAltNames: ['DNS:ok.test', 'IP Address:127.0.0.1'],
      issuer: 'CN=keyturn-test-ca',
      serialNumber: x.serialNumber.toUpperCase(),
      notBefore: new Date(x.validFrom).toISOString(),
      notAfter: new Date(leaves.ok.notAfterMs).toISOString(),
      fingerprint256: x.fingerprint256,
    });
    expect(r.protocol).toMatch(/^TLSv1\.[23]$/);
    // The server sends the leaf only; the CA of --ca-file completes the chain.
    expect(r.chain.map((c) => c.subject)).toEqual(['CN=keyturn-test-ca']);
  });

  it('without --ca-file the same certificate is untrusted, with OpenSSL reason: exit 1, status still ok', async () => {
    const { code, results } = await watchJson([at('ok')]);
    expect(code).toBe(1);
    expect(results[0]).toMatchObject({ status: 'ok', trusted: false, trustError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', nameMatches: true });
    expect(results[0]!.problems).toEqual(['not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  });

  it('--warn longer than the time left: warning, exit 1', async () => {
    const { code, results } = await watchJson([at('ok'), '--ca-file', ca.certFile, '--warn', '90d']);
    expect(code).toBe(1);
    expect(results[0]).toMatchObject({ status: 'warning', trusted: true });
    expect(results[0]!.problems[0]).toMatch(/^expires in \d+ days \(/);
  });

  it('5 days left: critical by default, warning with --critical 1d; days left from the certificate', async () => {
    const critical = await watchJson([at('soon'), '--ca-file', ca.certFile]);
    expect(critical.code).toBe(1);
    expect(critical.results[0]).toMatchObject({ status: 'critical', trusted: true, nameMatches: true });
    expect(daysLeftBetween(leaves.soon, critical.before, critical.after)).toContain(critical.results[0]!.daysLeft);
    const warning = await watchJson([at('soon'), '--ca-file', ca.certFile, '--critical', '1d']);
    expect(warning.results[0]!.status).toBe('warning');
  });

  it('an expired certificate: expired, negative days left, untrusted (CERT_HAS_EXPIRED), exit 1', async () => {
    const { code, results, before, after } = await watchJson([at('expired'), '--ca-file', ca.certFile]);
    expect(code).toBe(1);
    expect(results[0]).toMatchObject({ status: 'expired', trusted: false, trustError: 'CERT_HAS_EXPIRED' });
    expect(results[0]!.daysLeft).toBeLessThan(0);
    expect(daysLeftBetween(leaves.expired, before, after)).toContain(results[0]!.daysLeft);
    expect(results[0]!.problems[0]).toMatch(/^expired \d+ days ago/);
  });

  it('a certificate for another name: name mismatch, exit 1; --servername with its name: ok, exit 0', async () => {
    const mismatch = await watchJson([at('other'), '--ca-file', ca.certFile]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.results[0]).toMatchObject({ status: 'ok', trusted: true, nameMatches: false, name: '127.0.0.1' });
    expect(mismatch.results[0]!.nameError).toMatch(/127\.0\.0\.1/);
    const named = await watchJson([at('other'), '--ca-file', ca.certFile, '--servername', 'other.test']);
    expect(named.code).toBe(0);
    expect(named.results[0]).toMatchObject({ status: 'ok', servername: 'other.test', name: 'other.test', nameMatches: true });
    const wrong = await watchJson([at('ok'), '--ca-file', ca.certFile, '--servername', 'other.test']);
    expect(wrong.results[0]).toMatchObject({ nameMatches: false, name: 'other.test' });
  });

  it('a closed port: error KT_ENDPOINT_UNREACHABLE, exit 4; with a fine endpoint still 4; with an expired one 1', async () => {
    const alone = await watchJson([at('closed'), '--ca-file', ca.certFile]);
    expect(alone.code).toBe(4);
    expect(alone.results[0]).toMatchObject({
      status: 'error',
      daysLeft: null,
      certificate: null,
      trusted: null,
      nameMatches: null,
      error: { code: 'KT_ENDPOINT_UNREACHABLE', status: 503, details: { cause: 'ECONNREFUSED' } },
    });
    expect(alone.results[0]!.error!.message).toContain(`cannot connect to ${at('closed')}`);
    const withOk = await watchJson([at('ok'), at('closed'), '--ca-file', ca.certFile]);
    expect(withOk.code).toBe(4);
    expect(withOk.results.map((r) => r.status)).toEqual(['ok', 'error']);
    const withExpired = await watchJson([at('closed'), at('expired'), '--ca-file', ca.certFile]);
    expect(withExpired.code).toBe(1);
  });

  it('a port that does not speak TLS: error KT_TLS_HANDSHAKE_FAILED, exit 4', async () => {
    const { code, results } = await watchJson([at('garbage')]);
    expect(code).toBe(4);
    expect(results[0]).toMatchObject({ status: 'error', error: { code: 'KT_TLS_HANDSHAKE_FAILED', status: 502 } });
    expect(results[0]!.error!.message).toContain(`no TLS handshake with ${at('garbage')}`);
  });

  it('a port that never answers: KT_TLS_HANDSHAKE_FAILED after --timeout', async () => {
    const { code, results } = await watchJson([at('silent'), '--timeout', '1s']);
    expect(code).toBe(4);
    expect(results[0]!.error).toMatchObject({ code: 'KT_TLS_HANDSHAKE_FAILED', message: `no TLS handshake with ${at('silent')}: the handshake did not finish within 1s` });
  });

  it('many endpoints: one result each, in the order given', async () => {
    const order = ['ok', 'closed', 'soon', 'garbage', 'expired', 'other', 'ok', 'soon', 'ok', 'expired'] as const;
    const { code, results } = await watchJson([...order.map(at), '--ca-file', ca.certFile]);
    expect(code).toBe(1);
    expect(results.map((r) => r.endpoint)).toEqual(order.map(at));
    expect(results.map((r) => r.status)).toEqual(['ok', 'error', 'critical', 'error', 'expired', 'ok', 'ok', 'critical', 'ok', 'expired']);
  });

  it('the table: one row per endpoint, then the details of each certificate read', async () => {
    const r = await runCli(['cert', 'watch', at('ok'), at('closed'), at('expired'), '--ca-file', ca.certFile]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^ENDPOINT\s+STATUS\s+DAYS LEFT\s+NOT AFTER\s+SUBJECT CN\s+TRUSTED\s+NAME OK\s+ERROR$/);
    expect(lines[1]).toMatch(new RegExp(`^${at('ok')}\\s+ok\\s+\\d+\\s+\\S+Z\\s+ok\\.test\\s+yes\\s+yes\\s+-$`));
    expect(lines[2]).toMatch(new RegExp(`^${at('closed')}\\s+error\\s+-.*KT_ENDPOINT_UNREACHABLE: cannot connect`));
    expect(lines[3]).toMatch(new RegExp(`^${at('expired')}\\s+expired\\s+-\\d+\\s+.*no \\(CERT_HAS_EXPIRED\\)`));
    expect(r.stdout).toContain(`  sha-256       ${leaves.ok.x509.fingerprint256}`);
    expect(r.stdout).toContain(`  serial        ${leaves.expired.x509.serialNumber.toUpperCase()}`);
    expect(r.stdout).toContain('  ! not trusted: CERT_HAS_EXPIRED');
  });
});

describe('keyturn cert watch: usage errors exit 2 before any connection', () => {
  it.each([
    [['cert', 'watch', 'example.com'], 'KT_USAGE', 'is not an endpoint'],
    [['cert', 'watch', 'example.com:99999'], 'KT_USAGE', 'is not an endpoint'],
    [['cert', 'watch', '127.0.0.1:443', '--critical', '40d'], 'KT_USAGE', '--critical (40d) is longer than --warn (30d)'],
    [['cert', 'watch', '127.0.0.1:443', '--warn', 'soon'], 'KT_USAGE', '--warn takes a duration'],
    [['cert', 'watch', '127.0.0.1:443', '--ca-file', '/nonexistent/ca.pem'], 'KT_CONFIG_INVALID', 'cannot be read (ENOENT)'],
  ])('keyturn %j', async (argv, errorCode, message) => {
    const r = await runCli([...argv, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: errorCode, message: expect.stringContaining(message) } });
  });

  it('a --ca-file that holds no certificate', async () => {
    const file = join(tmp.dir, 'not-a-ca.pem');
    writeFileSync(file, 'hello\n');
    const r = await runCli(['cert', 'watch', at('ok'), '--ca-file', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds no PEM certificate');
  });
});

describe('grading and the bound on endpoints at once', () => {
  it('expiryStatus: the edges of --warn and --critical belong to them', () => {
    const now = 1_700_000_000_000;
    expect(expiryStatus(now + 31 * DAY_MS, now, 30 * DAY_MS, 7 * DAY_MS)).toBe('ok');
    expect(expiryStatus(now + 30 * DAY_MS, now, 30 * DAY_MS, 7 * DAY_MS)).toBe('warning');
    expect(expiryStatus(now + 7 * DAY_MS, now, 30 * DAY_MS, 7 * DAY_MS)).toBe('critical');
    expect(expiryStatus(now + 1, now, 30 * DAY_MS, 7 * DAY_MS)).toBe('critical');
    expect(expiryStatus(now, now, 30 * DAY_MS, 7 * DAY_MS)).toBe('expired');
  });

  it('at most `concurrency` probes at once: the next starts only when one ends', async () => {
    const started: string[] = [];
    const pending: Array<(p: Probe) => void> = [];
    const probe = (e: { text: string }): Promise<Probe> => {
      started.push(e.text);
      return new Promise((resolve) => pending.push(resolve));
    };
    const endpoints = Array.from({ length: 7 }, (_, i) => parseEndpoint(`h${i}.test:443`));
    const done = watchEndpoints(endpoints, { warnMs: 30 * DAY_MS, criticalMs: 7 * DAY_MS, timeoutMs: 1000, now: Date.now, concurrency: 3, probe });
    const unreachable = (): Probe => ({ kind: 'error', error: new KeyturnError('KT_ENDPOINT_UNREACHABLE', 'x') });
    await Promise.resolve();
    expect(started).toEqual(['h0.test:443', 'h1.test:443', 'h2.test:443']);
    pending[1]!(unreachable());
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(4);
    for (let i = 0; i < 7; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const resolve of pending.splice(0)) resolve(unreachable());
    }
    const results = await done;
    expect(results.map((r) => r.endpoint)).toEqual(endpoints.map((e) => e.text));
    expect(started).toHaveLength(7);
  });
});

describe.skipIf(!hasNginx)(`keyturn cert watch: a real nginx${hasNginx ? '' : ' (skipped: nginx is not installed on this machine; .ci/run installs it)'}`, () => {
  let port: number;
  let nginx: Nginx | undefined;

  beforeAll(async () => {
    port = await closedPort();
    nginx = await startNginx({ dir: join(tmp.dir, 'nginx'), port, serverName: 'ok.test', certFile: leaves.ok.chainFile, keyFile: leaves.ok.keyFile });
  }, 30_000);

  afterAll(async () => {
    await nginx?.stop();
  });

  it('reads the chain nginx serves: ok, trusted with --ca-file, for ok.test; exit 0', async () => {
    const { code, results, before, after } = await watchJson([`127.0.0.1:${port}`, '--servername', 'ok.test', '--ca-file', ca.certFile]);
    expect(code, JSON.stringify(results)).toBe(0);
    expect(results[0]).toMatchObject({ status: 'ok', trusted: true, nameMatches: true, servername: 'ok.test' });
    expect(results[0]!.certificate!.fingerprint256).toBe(leaves.ok.x509.fingerprint256);
    expect(results[0]!.chain.map((c) => c.fingerprint256)).toEqual([new (await import('node:crypto')).X509Certificate(readFileSync(ca.certFile)).fingerprint256]);
    expect(daysLeftBetween(leaves.ok, before, after)).toContain(results[0]!.daysLeft);
    const untrusted = await watchJson([`127.0.0.1:${port}`, '--servername', 'other.test']);
    expect(untrusted.results[0]).toMatchObject({ status: 'ok', trusted: false, trustError: 'SELF_SIGNED_CERT_IN_CHAIN', nameMatches: false, name: 'other.test' });
    expect(untrusted.code).toBe(1);
  });
});
