/**
 * Where a rotation's time goes, for `npm run bench:rotate` with BENCH_PROFILE=1: counts the state
 * database's statements and transactions (node:sqlite, every statement through StatementSync)
 * and the PostgreSQL target's connections and queries (pg.Client), and times the engine's steps
 * through its boundary hook. Counting is switched on only around the engine rounds, so the raw and
 * target-alone loops are not counted. With BENCH_CPU_PROF=<file>, a V8 CPU profile of the engine
 * rounds alone is written there (open it in Chrome DevTools). No value is ever looked at: only call counts and times.
 *
 * @example
 * ```js
 * const profile = await rotationProfile();
 * profile.start();
 * await engineRound(profile.onBoundary);
 * profile.stop();
 * console.log(profile.report(N));
 * ```
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { StatementSync } from 'node:sqlite';
import pg from 'pg';

/** Installs the counters (idle until `start`). */
export async function rotationProfile() {
  let on = false;
  const cpuFile = process.env.BENCH_CPU_PROF;
  const inspector = new Session();
  if (cpuFile) inspector.connect();
  const counts = { statements: 0, reads: 0, writes: 0, transactions: 0, pgConnects: 0, pgQueries: 0 };
  const stepMs = new Map();
  // BENCH_PROFILE=sql: also list every statement (its SQL text, parameters never) with its count.
  const listSql = process.env.BENCH_PROFILE === 'sql';
  const bySql = new Map();
  const stepStarts = new Map();
  const sqlMs = { total: 0 };
  // Event-loop time spent busy (not waiting on I/O) during the counted rounds.
  let elu = null;
  let busyMs = 0;
  let wallMs = 0;
  // CPU time of this process (all its threads: main, libuv pool) during the counted rounds; unlike wall time, hardly moved by other load.
  let cpu0 = null;
  let cpuMs = 0;

  const wrap = (proto, name, fn) => {
    const original = proto[name];
    proto[name] = function (...args) {
      if (!on) return original.apply(this, args);
      return fn.call(this, original, args);
    };
  };
  // A statement's text, read once per prepared statement (sourceSQL makes a new string at every call).
  const textOf = new WeakMap();
  for (const name of ['run', 'all', 'iterate', 'get']) {
    wrap(StatementSync.prototype, name, function (original, args) {
      counts.statements += 1;
      let text = textOf.get(this);
      if (text === undefined) textOf.set(this, (text = this.sourceSQL?.trim().toLowerCase() ?? ''));
      if (listSql) bySql.set(text, (bySql.get(text) ?? 0) + 1);
      if (text.startsWith('begin')) counts.transactions += 1;
      else if (text.startsWith('select')) counts.reads += 1;
      else if (!text.startsWith('commit') && !text.startsWith('rollback')) counts.writes += 1;
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        sqlMs.total += performance.now() - t0;
      }
    });
  }
  wrap(pg.Client.prototype, 'connect', function (original, args) {
    counts.pgConnects += 1;
    return original.apply(this, args);
  });
  wrap(pg.Client.prototype, 'query', function (original, args) {
    counts.pgQueries += 1;
    return original.apply(this, args);
  });

  return {
    start: async () => {
      if (cpuFile) {
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.start');
      }
      on = true;
      elu = performance.eventLoopUtilization();
      cpu0 = process.cpuUsage();
    },
    stop: async () => {
      on = false;
      const c = process.cpuUsage(cpu0);
      cpuMs += (c.user + c.system) / 1000;
      if (cpuFile) {
        const { profile } = await inspector.post('Profiler.stop');
        writeFileSync(cpuFile, JSON.stringify(profile));
      }
      const d = performance.eventLoopUtilization(elu);
      busyMs += d.active;
      wallMs += d.active + d.idle;
    },
    /** An engine boundary hook adding each step's wall time (from its `before` to its `after`). */
    onBoundary: (step, when, run) => {
      if (!on) return;
      const key = `${run.id}:${step}`;
      if (when === 'before') stepStarts.set(key, performance.now());
      else if (stepStarts.has(key)) {
        stepMs.set(step, (stepMs.get(step) ?? 0) + performance.now() - stepStarts.get(key));
        stepStarts.delete(key);
      }
    },
    /** Per-rotation figures over `rotations` rotations. */
    report: (rotations) => {
      const per = (n) => (n / rotations).toFixed(2);
      const lines = [
        `  per rotation: ${per(counts.statements)} SQL statements (${per(counts.reads)} reads, ${per(counts.writes)} writes) in ${per(counts.transactions)} transactions, ${(sqlMs.total / rotations).toFixed(3)} ms inside SQLite (event loop blocked)`,
        `  process CPU ${(cpuMs / rotations).toFixed(2)} ms per rotation (user + system, all threads)`,
        `  event loop busy ${((busyMs / wallMs) * 100).toFixed(1)}% of the engine rounds: ${(busyMs / rotations).toFixed(2)} ms of JavaScript and SQLite per rotation`,
        `  per rotation: ${per(counts.pgConnects)} PostgreSQL connections opened, ${per(counts.pgQueries)} queries sent`,
        `  per rotation, wall ms from a step's before to its after (concurrent runs overlap): ${[...stepMs].map(([s, ms]) => `${s} ${(ms / rotations).toFixed(2)}`).join(', ')}`,
      ];
      if (listSql) for (const [text, n] of [...bySql].sort((a, b) => b[1] - a[1])) lines.push(`    ${per(n).padStart(6)}  ${text.slice(0, 160)}`);
      return lines.join('\n');
    },
  };
}
