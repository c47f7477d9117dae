/**
 * Reads with and without anomaly detection: the same audited GET /v1/secrets load (autocannon in a
 * child process, BENCH_DETECT_CONNECTIONS keep-alive connections, BENCH_DETECT_SECONDS per round)
 * against two servers, each on a home of its own made the same way (so the detectors never see
 * the other server's events), one running every detector (as `keyturn server` does), one with
 * detection off; after a short unmeasured run on each, rounds alternate which goes first. Issue #17: detection must not slow reads
 * down by more than 10%. bench/detect.bench.js runs it after the detectors' own cost; it also runs
 * alone: `node bench/detect-reads.js` (after `npm run build`).
 *
 * It also checks the detectors saw every read: after the load, the detecting server's runner has
 * given the detectors every event appended (its `next` reaches the log's head).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { loadSettings } from '../dist/config/settings.js';
import { initHome, openKeyturn } from '../dist/runtime/keyturn.js';
import { AccessRepo } from '../dist/access/access-repo.js';
import { buildServer, detectionOf } from '../dist/server/app.js';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function load(opts) {
  const code = `const a=require(process.argv[1]);a(JSON.parse(process.argv[2]),(e,r)=>{if(e)throw e;process.stdout.write(JSON.stringify(r))})`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', code, AUTOCANNON, JSON.stringify(opts)], { timeout: (opts.duration + 30) * 1000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`load generator: ${err.message} ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** Runs the comparison; returns { withDetection, without, ratio, slowdown, events, caughtUp }. */
export async function readsWithAndWithoutDetection({ seconds = 5, rounds = 3, connections = 64, secrets = 100, log = (s) => process.stderr.write(s) } = {}) {
  const homes = [];
  const servers = [];
  const paths = Array.from({ length: secrets }, (_, i) => `bench/detect/app-${String(i).padStart(4, '0')}`);
  /** A home with the secrets and an admin token, and its server listening on loopback. */
  const serve = async (detection) => {
    const dir = mkdtempSync(join(tmpdir(), 'keyturn-bench-detect-'));
    const settings = loadSettings({ KEYTURN_HOME: dir, KEYTURN_LOG_LEVEL: 'silent' });
    await initHome(settings);
    const kt = await openKeyturn(settings);
    homes.push({ dir, kt });
    for (const p of paths) await kt.store.put(p, { username: `user_${p.slice(-4)}`, password: 'bench-value-not-a-secret-0123456789' });
    const { token } = await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'], description: 'bench:detect' });
    const app = await buildServer(kt, detection ? {} : { detection: false });
    servers.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, kt, headers: { authorization: `Bearer ${token}`, 'user-agent': 'bench-detect/1' } };
  };
  try {
    const on = await serve(true);
    const off = await serve(false);
    const run = (s) =>
      load({
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
        url: `http://127.0.0.1:${s.app.server.address().port}`,
        requests: paths.map((p) => ({ method: 'GET', path: `/v1/secrets/${p}`, headers: s.headers })),
      });
    const figures = { on: [], off: [] };
    const note = (kind, r) => {
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) throw new Error(`${kind}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
      figures[kind].push(r.requests.average);
      log(`  reads, detection ${kind.padEnd(3)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p99 ${String(r.latency.p99).padStart(4)} ms\n`);
    };
    // A short unmeasured run on each first: the first load on a fresh process pays for compiling the hot paths.
    for (const s of [on, off])
      await load({
        connections,
        duration: 2,
        pipelining: 1,
        timeout: 10,
        url: `http://127.0.0.1:${s.app.server.address().port}`,
        requests: paths.map((p) => ({ method: 'GET', path: `/v1/secrets/${p}`, headers: s.headers })),
      });
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        note('on', await run(on));
        note('off', await run(off));
      } else {
        note('off', await run(off));
        note('on', await run(on));
      }
    }
    const runner = detectionOf(on.app);
    await runner.caughtUp();
    const head = (await on.kt.audit.head()).size;
    const stats = runner.stats();
    const ratio = median(figures.on.map((x, i) => x / figures.off[i]));
    return { withDetection: median(figures.on), without: median(figures.off), ratio, slowdown: 1 - ratio, events: stats.events, caughtUp: stats.next === head, detectors: runner.detectorTypes() };
  } finally {
    for (const s of servers) await s.close();
    for (const h of homes) {
      await h.kt.close();
      rmSync(h.dir, { recursive: true, force: true });
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bounded = (name, fallback) => Number(process.env[name] ?? fallback);
  const r = await readsWithAndWithoutDetection({ seconds: bounded('BENCH_DETECT_SECONDS', 5), rounds: bounded('BENCH_DETECT_ROUNDS', 3), connections: bounded('BENCH_DETECT_CONNECTIONS', 64) });
  console.log(`reads with detection (${r.detectors.join(', ')}): ${r.withDetection.toFixed(0)} req/s; without: ${r.without.toFixed(0)} req/s (medians)`);
  console.log(
    `  ratio ${r.ratio.toFixed(3)}, slowdown ${(r.slowdown * 100).toFixed(1)}% (goal <= 10%: ${r.slowdown <= 0.1 ? 'met' : 'NOT met'}); detectors saw ${r.events} events, caught up with the log: ${r.caughtUp ? 'yes' : 'NO'}`,
  );
  if (!r.caughtUp) process.exitCode = 1;
}
