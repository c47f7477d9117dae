/**
 * Anomaly detection benchmark (#17, "Prove it"): quality on a seeded synthetic access log, and
 * what detection costs next to the audit log it reads.
 *
 * (a) quality: the synthetic log of BENCH_DETECT_SEED (src/detect/synthetic.ts: 4 weeks of 60
 *     identities by default, 10 incidents of each type after 14 days of normal behaviour) through
 *     one detector of each registered type with its defaults; per type: recall, false alarms per
 *     10,000 normal events, against the bar (recall >= 0.9, fewer than 1 false alarm per 10,000);
 * (b) detection cost: about a million synthetic events (BENCH_DETECT_COST_IDENTITIES identities
 *     over the same weeks, generated before timing) through all the detectors together, in events
 *     per second (wall and per CPU-second), and each detector alone;
 * (c) the audit append rate in the same run: events appended to the durable audit log of a fresh
 *     home (SQLite) the way the server appends, each request's event its own append() with
 *     BENCH_DETECT_CONCURRENCY of them in flight, so concurrent appends share commits (group
 *     commit); then the ratio of (b) to (c): how many times the append rate detection keeps up with;
 * (d) reads with and without detection (bench/detect-reads.js): audited GET /v1/secrets through two
 *     servers, one running every detector, one with detection off; the goal is a slowdown of at
 *     most 10% (BENCH_DETECT_SECONDS per round, BENCH_DETECT_ROUNDS rounds, 0 skips it).
 *
 * Run: `npm run bench:detect` (builds first; the bench imports ../dist).
 * Options (environment): BENCH_DETECT_SEED (default 1), BENCH_DETECT_IDENTITIES (default 60),
 * BENCH_DETECT_WEEKS (default 4), BENCH_DETECT_COST_IDENTITIES (default 340: about 1,000,000
 * events), BENCH_DETECT_APPEND_N (default 100000), BENCH_DETECT_CONCURRENCY (default 64).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadSettings } from '../dist/config/settings.js';
import { ANOMALY_TYPES } from '../dist/detect/detector.js';
import { evaluate, formatTable } from '../dist/detect/evaluate.js';
import { generateAccessLog, streamAccessLog } from '../dist/detect/synthetic.js';
import { initHome, openKeyturn } from '../dist/runtime/keyturn.js';

const SEED = Number(process.env.BENCH_DETECT_SEED ?? 1);
const IDENTITIES = Number(process.env.BENCH_DETECT_IDENTITIES ?? 60);
const WEEKS = Number(process.env.BENCH_DETECT_WEEKS ?? 4);
const COST_IDENTITIES = Number(process.env.BENCH_DETECT_COST_IDENTITIES ?? 340);
const APPEND_N = Number(process.env.BENCH_DETECT_APPEND_N ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_DETECT_CONCURRENCY ?? 64);

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The registry, or null while no detector is registered (src/detect/registry.ts not there yet). */
async function loadRegistry() {
  try {
    return (await import('../dist/detect/registry.js')).detectorRegistry;
  } catch (e) {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/** One detector of each registered type, with its defaults. */
function detectors(registry) {
  if (registry === null) return [];
  return ANOMALY_TYPES.filter((t) => registry.find(t) !== undefined).map((type) => registry.create({ type }, {}));
}

/** Seconds (wall and CPU) of `fn`. */
function timed(fn) {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const result = fn();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, result };
}

function run(ds, events) {
  let anomalies = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    for (let k = 0; k < ds.length; k++) anomalies += ds[k].observe(e).length;
  }
  return anomalies;
}

/** The audit input of a synthetic event: what the server records for a request, client address and user agent included (the log stamps the time). */
function auditInput(e, i) {
  return {
    actor: e.actor,
    source: e.source,
    action: e.action,
    path: e.path,
    outcome: e.outcome,
    errorCode: e.errorCode,
    correlationId: `req-${i.toString(36)}`,
    address: e.address,
    userAgent: e.userAgent,
  };
}

/** Appends `inputs` to the audit log of a fresh home, CONCURRENCY appends in flight; seconds and CPU seconds. */
async function appendRate(inputs) {
  const home = mkdtempSync(join(tmpdir(), 'keyturn-bench-detect-'));
  let kt;
  try {
    const settings = loadSettings({ KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent' });
    await initHome(settings);
    kt = await openKeyturn(settings);
    const audit = kt.audit;
    const size0 = (await audit.head()).size;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < inputs.length; i = next++) await audit.append(inputs[i]);
    };
    // Warm up on a first slice, then time the rest.
    const warm = Math.min(5000, Math.floor(inputs.length / 10));
    const warmInputs = inputs.slice(0, warm);
    let w = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = w++; i < warmInputs.length; i = w++) await audit.append(warmInputs[i]);
      }),
    );
    next = warm;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const size = (await audit.head()).size - size0;
    return { events: inputs.length - warm, size, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await kt?.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function main() {
  const registry = await loadRegistry();
  const types = detectors(registry).map((d) => d.type);
  const unregistered = ANOMALY_TYPES.filter((t) => !types.includes(t));
  console.log(`detect bench: node ${process.version}; detectors registered: ${types.join(', ') || 'none'}${unregistered.length > 0 ? `; NOT registered: ${unregistered.join(', ')}` : ''}`);

  // (a) quality
  const gen = timed(() => generateAccessLog({ seed: SEED, identities: IDENTITIES, weeks: WEEKS }));
  const log = gen.result;
  console.log(
    `(a) quality: synthetic log seed ${SEED}, ${IDENTITIES} identities, ${WEEKS} weeks: ${fmt(log.events.length)} events, ${log.incidents.length} incidents (generated in ${(gen.seconds * 1000).toFixed(0)} ms)`,
  );
  const scored = evaluate(detectors(registry), log);
  console.log(formatTable(scored, { details: true }));

  // (b) detection cost
  const stream = streamAccessLog({ seed: SEED, identities: COST_IDENTITIES, weeks: WEEKS });
  const built = timed(() => [...stream.events()]);
  const events = built.result;
  const all = detectors(registry);
  run(detectors(registry), events.slice(0, Math.min(100_000, events.length))); // warm up the JIT on fresh detectors
  const together = timed(() => run(all, events));
  const detectRate = events.length / together.seconds;
  const detectCpuRate = events.length / together.cpuSeconds;
  console.log(
    `(b) detection: ${fmt(events.length)} events (${COST_IDENTITIES} identities, ${WEEKS} weeks, generated in ${built.seconds.toFixed(1)} s) through ${all.length} detectors together: ${fmt(detectRate)} events/s (${together.seconds.toFixed(2)} s; ${fmt(detectCpuRate)} events per CPU-second), ${fmt(together.result)} anomalies`,
  );
  for (const d of detectors(registry)) {
    const alone = timed(() => run([d], events));
    console.log(
      `    ${d.type.padEnd(20)} alone: ${fmt(events.length / alone.seconds).padStart(11)} events/s  (${alone.seconds.toFixed(2)} s, ${fmt(alone.result)} anomalies, ${fmt(d.tracked())} identities tracked)`,
    );
  }

  // (c) the audit append rate, same run
  const inputs = events.slice(0, APPEND_N).map(auditInput);
  const appended = await appendRate(inputs);
  if (appended.size < inputs.length) throw new Error(`the audit log grew by ${appended.size} events, not ${inputs.length}`);
  const appendRateWall = appended.events / appended.seconds;
  console.log(
    `(c) audit append (fresh home, SQLite, ${CONCURRENCY} appends in flight sharing commits): ${fmt(appendRateWall)} events/s (${fmt(appended.events)} events in ${appended.seconds.toFixed(2)} s; ${fmt(appended.events / appended.cpuSeconds)} events per CPU-second)`,
  );
  console.log(
    `    detection / append: ${(detectRate / appendRateWall).toFixed(1)}x (wall), ${(detectCpuRate / (appended.events / appended.cpuSeconds)).toFixed(1)}x (per CPU-second): detecting an appended event costs ${((100 * appendRateWall) / detectRate).toFixed(1)}% of the time appending it takes`,
  );

  // (d) reads through the server, with and without detection
  const rounds = Number(process.env.BENCH_DETECT_ROUNDS ?? 3);
  if (rounds > 0) {
    const { readsWithAndWithoutDetection } = await import('./detect-reads.js');
    const r = await readsWithAndWithoutDetection({ seconds: Number(process.env.BENCH_DETECT_SECONDS ?? 5), rounds });
    console.log(
      `(d) audited reads through keyturn server, 64 connections, medians of ${rounds} rounds: with detection ${fmt(r.withDetection)} req/s, without ${fmt(r.without)} req/s; ratio ${r.ratio.toFixed(3)}, slowdown ${(r.slowdown * 100).toFixed(1)}% (goal <= 10%: ${r.slowdown <= 0.1 ? 'met' : 'NOT met'}); the detectors saw ${fmt(r.events)} events and caught up with the log: ${r.caughtUp ? 'yes' : 'NO'}`,
    );
    if (!r.caughtUp) process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
