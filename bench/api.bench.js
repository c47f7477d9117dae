/**
 * HTTP API benchmark: audited secret reads through `keyturn server` against a bare fastify route,
 * both measured in the same process and run.
 *
 * The audited server is buildServer over a fresh home with BENCH_API_SECRETS secrets and an
 * admin token: each request is GET /v1/secrets/<path> (cycling over the paths) with the Bearer
 * token, so it authenticates the token, checks its policy, and records a durable `secret.read`
 * event before the value is sent. The baseline is a bare fastify instance on another port with one
 * route returning a constant JSON body of the same size. Both listen on 127.0.0.1 only.
 *
 * The load generator is autocannon, run in a child process (its own event loop, so it does not
 * share the servers' loop), BENCH_API_CONNECTIONS keep-alive connections for BENCH_API_SECONDS
 * per round, after a 2 s warm-up of each that is not counted; rounds alternate bare and audited
 * (the audited first in odd rounds) so a drift of the machine's speed weighs on both alike. The goal is judged on the median of the per-round figures.
 * Goal (issue #10): audited reads at least 0.3x the bare route's requests/s, p99 under 25 ms.
 *
 * Afterwards it proves the reads were audited: the audit events written during the run are read
 * back and the `secret.read` events by the bench token (source api) must number exactly the 200
 * responses the server sent on /v1/secrets.
 *
 *   npm run bench:api      (BENCH_API_SECONDS=5 BENCH_API_ROUNDS=5 BENCH_API_CONNECTIONS=64 BENCH_API_SECRETS=100)
 */
import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import Fastify from 'fastify';
import { loadSettings } from '../dist/config/settings.js';
import { initHome, openKeyturn } from '../dist/runtime/keyturn.js';
import { AccessRepo } from '../dist/access/access-repo.js';
import { buildServer } from '../dist/server/app.js';

const bounded = (name, fallback, max) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return n;
};
const SECONDS = bounded('BENCH_API_SECONDS', 5, 60);
const ROUNDS = bounded('BENCH_API_ROUNDS', 5, 15);
const WARMUP_SECONDS = 2;
const CONNECTIONS = bounded('BENCH_API_CONNECTIONS', 64, 256);
const SECRETS = bounded('BENCH_API_SECRETS', 100, 10_000);
const GOAL_RATIO = 0.3;
const GOAL_P99_MS = 25;
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');

/** One autocannon run in a child process (its own event loop and core); resolves with its result. Killed if it overruns. */
function load(opts) {
  const code = `
    const autocannon = require(process.argv[1]);
    autocannon(JSON.parse(process.argv[2]), (err, result) => {
      if (err) throw err;
      process.stdout.write(JSON.stringify(result));
    });
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', code, AUTOCANNON, JSON.stringify(opts)], { timeout: (opts.duration + 30) * 1000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`load generator: ${err.message} ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fileSize = (f) => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'keyturn-bench-api-'));
  let kt;
  let api;
  let bare;
  try {
    const settings = loadSettings({ KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent' });
    await initHome(settings);
    kt = await openKeyturn(settings);
    const paths = Array.from({ length: SECRETS }, (_, i) => `bench/api/app-${String(i).padStart(4, '0')}`);
    for (const p of paths) await kt.store.put(p, { username: `user_${p.slice(-4)}`, password: 'bench-value-not-a-secret-0123456789' });
    const { token, info } = await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'], description: 'bench:api' });

    api = await buildServer(kt);
    // Count, at the HTTP level, the values the server sent (200 on /v1/secrets/...): each must have its secret.read event.
    let valuesSent = 0;
    api.server.on('request', (req, res) => {
      if (req.url.startsWith('/v1/secrets/')) res.once('finish', () => res.statusCode === 200 && valuesSent++);
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const apiPort = api.server.address().port;
    const headers = { authorization: `Bearer ${token}` };

    // The bare route returns a constant body the size of an audited answer.
    const sample = await globalThis.fetch(`http://127.0.0.1:${apiPort}/v1/secrets/${paths[0]}`, { headers });
    if (sample.status !== 200) throw new Error(`the audited route answered ${sample.status}: ${await sample.text()}`);
    const sampleBody = await sample.text();
    const constant = { path: 'bench/bare', value: 'x'.repeat(Math.max(0, sampleBody.length - 30)) };
    bare = Fastify({ logger: false });
    bare.get('/bare', async () => constant);
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const barePort = bare.server.address().port;
    const bareSize = (await (await globalThis.fetch(`http://127.0.0.1:${barePort}/bare`)).text()).length;

    const audit0 = await kt.audit.head();
    const sent0 = valuesSent;
    const disk0 = fileSize(settings.sqliteFile) + fileSize(`${settings.sqliteFile}-wal`);

    const common = { connections: CONNECTIONS, duration: SECONDS, pipelining: 1, timeout: 10 };
    const runBare = (over = {}) => load({ ...common, ...over, url: `http://127.0.0.1:${barePort}/bare` });
    const runApi = (over = {}) => load({ ...common, ...over, url: `http://127.0.0.1:${apiPort}`, requests: paths.map((p) => ({ method: 'GET', path: `/v1/secrets/${p}`, headers })) });
    const figures = { bare: [], audited: [] };
    const note = (kind, r) => {
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) throw new Error(`${kind}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
      figures[kind].push({ rps: r.requests.average, p99: r.latency.p99, total: r['2xx'] });
      process.stderr.write(`  ${kind.padEnd(8)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p99 ${String(r.latency.p99).padStart(4)} ms\n`);
    };
    // Warm-up, not counted: the first seconds of a fresh server run slower (code not yet optimized, caches and the detectors' baselines filling).
    process.stderr.write(`warm-up (${WARMUP_SECONDS} s each, not counted)\n`);
    for (const r of [await runApi({ duration: WARMUP_SECONDS }), await runBare({ duration: WARMUP_SECONDS })]) {
      if (r.non2xx + r.errors + r.timeouts > 0) throw new Error(`warm-up: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
      if (round % 2 === 1) note('audited', await runApi());
      note('bare', await runBare());
      if (round % 2 === 0) note('audited', await runApi());
    }
    // Let the last answers written after the load generator stopped counting finish.
    await new Promise((r) => setTimeout(r, 200));

    // Proof: every value sent has its secret.read event by this token, from the API.
    const audit1 = await kt.audit.head();
    const disk1 = fileSize(settings.sqliteFile) + fileSize(`${settings.sqliteFile}-wal`);
    let reads = 0;
    let others = 0;
    let leafBytes = 0;
    await kt.audit.pages(audit0.size, (rows) => {
      for (const row of rows) {
        leafBytes += Buffer.byteLength(row.leaf);
        const e = JSON.parse(row.leaf);
        if (e.action === 'secret.read' && e.actor === `token:${info.id}` && e.source === 'api' && e.outcome === 'success') reads++;
        else others++;
      }
    });
    const sent = valuesSent - sent0;
    const clientCounted = figures.audited.reduce((n, f) => n + f.total, 0);

    const row = (kind) => {
      const f = figures[kind];
      return { rps: median(f.map((x) => x.rps)), p99: median(f.map((x) => x.p99)) };
    };
    const b = row('bare');
    const a = row('audited');
    const ratio = median(figures.audited.map((x, i) => x.rps / figures.bare[i].rps));
    console.log(`api bench: ${CONNECTIONS} connections, ${SECONDS} s per round, ${ROUNDS} rounds, ${SECRETS} secrets (medians over rounds)`);
    console.log(
      `  bare fastify route        ${b.rps.toFixed(0).padStart(7)} req/s   p99 ${String(b.p99).padStart(4)} ms   (${bareSize} B body; rounds: ${figures.bare.map((x) => x.rps.toFixed(0)).join(', ')})`,
    );
    console.log(
      `  audited GET /v1/secrets   ${a.rps.toFixed(0).padStart(7)} req/s   p99 ${String(a.p99).padStart(4)} ms   (${sampleBody.length} B body; rounds: ${figures.audited.map((x) => x.rps.toFixed(0)).join(', ')})`,
    );
    const met = ratio >= GOAL_RATIO && a.p99 < GOAL_P99_MS;
    console.log(`  ratio audited/bare: ${ratio.toFixed(3)}x (goal >= ${GOAL_RATIO}x and p99 < ${GOAL_P99_MS} ms: ${met ? 'met' : 'NOT met'})`);
    console.log(
      `  audit log: +${audit1.size - audit0.size} events (${reads} secret.read by the bench token, ${others} other; ${(leafBytes / 1024 / 1024).toFixed(1)} MiB of event JSON), state database +${((disk1 - disk0) / 1024 / 1024).toFixed(1)} MiB (with its WAL)`,
    );
    const proved = reads === sent && sent >= clientCounted;
    console.log(`  values sent by the server: ${sent} (${clientCounted} counted by the client); one secret.read each: ${proved ? 'yes' : 'NO'}`);
    if (!proved) process.exitCode = 1;
  } finally {
    await bare?.close();
    await api?.close();
    await kt?.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
