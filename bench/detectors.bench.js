/**
 * Anomaly detector benchmark: the cost per audit event of each detector's observe(), the work the
 * server adds to every event it records (goal: well under 2 µs per event per detector).
 *
 * Builds EVENTS access events first (not timed) over four weeks for IDENTITIES identities, in time
 * order: people on weekdays, services around the clock with a daily cycle, CI tokens in bursts from
 * several runners, a few denied reads and bad tokens. Each event's actor and address are strings
 * of their own (as parsed from a request), not shared constants, so map lookups hash them as in the
 * server. Then each detector (default config) observes every event; the figure is the best of
 * ROUNDS runs, each with a fresh detector (learning included), in ns per event.
 *
 * Run: `npm run bench:detectors` (builds first; the bench imports ../dist).
 * Options (environment): DETECT_BENCH_EVENTS (default 1000000), DETECT_BENCH_IDENTITIES (default 2000),
 * DETECT_BENCH_ROUNDS (default 5).
 */
import { Rng } from '../dist/core/prng.js';
import { performance } from 'node:perf_hooks';
import { detectorRegistry } from '../dist/detect/registry.js';

const EVENTS = Number(process.env.DETECT_BENCH_EVENTS ?? 1_000_000);
const IDENTITIES = Number(process.env.DETECT_BENCH_IDENTITIES ?? 2000);
const ROUNDS = Number(process.env.DETECT_BENCH_ROUNDS ?? 5);
const START = Date.UTC(2025, 0, 6);
const SPAN = 28 * 86_400_000;

/** mulberry32 (src/core/prng.ts): the same events every run. */
function seeded(seed) {
  const rng = new Rng(seed);
  return () => rng.next();
}

function buildEvents() {
  const rng = seeded(1);
  const times = new Float64Array(EVENTS);
  for (let i = 0; i < EVENTS; i++) times[i] = START + rng() * SPAN;
  times.sort();
  const events = [];
  for (let i = 0; i < EVENTS; i++) {
    const time = times[i];
    const hour = Math.floor(time / 3_600_000) % 24;
    // Who: services around the clock, people and CI by day.
    const day = hour >= 7 && hour < 19;
    const id = Math.floor(rng() * (day ? IDENTITIES : IDENTITIES * 0.3));
    const kind = id % 10 < 3 ? 'tk_s' : id % 10 < 8 ? 'tk_h' : 'tk_ci';
    const x = rng();
    const failed = x < 0.004;
    const anonymous = x < 0.001;
    const octet = kind === 'tk_ci' ? 20 + Math.floor(rng() * 8) : 10 + (id % 200);
    events.push({
      seq: i,
      time,
      actor: anonymous ? 'anonymous' : 'token:' + kind + String(id),
      source: 'api',
      action: anonymous ? 'access.authenticate' : failed ? 'access.denied' : 'secret.read',
      capability: anonymous ? null : 'read',
      path: anonymous ? null : 'prod/app' + String(id % 50) + '/db',
      outcome: anonymous ? 'failure' : failed ? 'denied' : 'success',
      errorCode: anonymous ? 'KT_TOKEN_INVALID' : failed ? 'KT_ACCESS_DENIED' : null,
      address: '10.' + String(Math.floor(id / 200)) + '.0.' + String(octet),
      userAgent: 'keyturn-agent/0.1.0',
    });
  }
  return events;
}

const built = performance.now();
const events = buildEvents();
console.log(`${EVENTS} events, ${IDENTITIES} identities, 4 weeks (built in ${Math.round(performance.now() - built)} ms); best of ${ROUNDS} rounds:`);
const kinds = [...detectorRegistry.kinds];
const all = [];
for (const kind of kinds) {
  let best = Infinity;
  let anomalies = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const detector = detectorRegistry.create({ type: kind }, {});
    let found = 0;
    const t0 = performance.now();
    for (let i = 0; i < events.length; i++) found += detector.observe(events[i]).length;
    const ms = performance.now() - t0;
    best = Math.min(best, ms);
    anomalies = found;
  }
  const ns = (best * 1e6) / EVENTS;
  all.push(ns);
  console.log(`  ${kind.padEnd(18)} ${ns.toFixed(0).padStart(5)} ns/event  (${anomalies} anomalies)`);
}
console.log(
  `  ${'all together'.padEnd(18)} ${all
    .reduce((a, b) => a + b, 0)
    .toFixed(0)
    .padStart(5)} ns/event`,
);
