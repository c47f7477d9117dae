/**
 * Rotation benchmark: N PostgreSQL roles rotated end to end by the engine (generate, store
 * pending, ALTER ROLE, new login + SELECT 1, finish, journal every step in SQLite), against a raw
 * loop doing the same target work (ALTER ROLE through a pooled admin connection + a new login
 * with the new password + SELECT 1), both at the same concurrency, in the same run.
 *
 * Runs against the password-auth cluster on 127.0.0.1:55432 (scram-sha-256), so every login
 * really checks a password. The roles, the admin (keyturn_admin, CREATEROLE) and the login check
 * come from the tests' postgres fixture (test/fixtures/targets/postgres.ts; see ./target-fixtures.js).
 * Each round runs the three loops back to back (the engine first in even rounds, last in odd ones);
 * the goal is judged on the median of the per-round engine/raw ratios, and the best rounds are shown too. A third loop calls the postgres target alone (set + test, no engine, no store), to show how much
 * of the difference is the target and how much the engine's durable bookkeeping.
 * Goal: the engine takes at most 1.1x the raw time.
 *
 *   npm run bench:rotate            (BENCH_ROLES=300 BENCH_CONCURRENCY=4 BENCH_ROUNDS=7)
 *
 * BENCH_PROFILE=1 (or sql, to list the statements) adds, for the engine rounds, SQL statements and transactions per rotation,
 * PostgreSQL connections and queries per rotation, and each step's time (./rotate-profile.js).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadSettings } from '../dist/config/settings.js';
import { parseConfig } from '../dist/config/load.js';
import { applyPlan, planConfig } from '../dist/config/apply.js';
import { initHome, openKeyturn } from '../dist/runtime/keyturn.js';
import { createTarget } from '../dist/targets/registry.js';
import { Engine } from '../dist/engine/engine.js';
import { engineAuditPort } from '../dist/audit/hooks.js';
import { loadTargetFixtures } from './target-fixtures.js';
import { rotationProfile } from './rotate-profile.js';

const N = Number(process.env.BENCH_ROLES ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PROFILE = process.env.BENCH_PROFILE === '1' || process.env.BENCH_PROFILE === 'sql';
const PREFIX = `ktb_${randomBytes(3).toString('hex')}`;

const pw = () => randomBytes(18).toString('base64url');

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** This process's CPU time (user + system, every thread) in ms: with other load on the machine, steadier than wall time. */
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const cpuSpent = { raw: 0, engine: 0, target: 0 };

async function main() {
  const { targetFixture } = await loadTargetFixtures();
  const fx = await targetFixture('postgres');
  const { host: HOST, port: PORT } = fx.config();
  const { username: adminUser, password: adminPassword } = fx.admin;
  const roles = Array.from({ length: N }, (_, i) => ({ user: `${PREFIX}_r${i}`, password: pw() }));
  for (const r of roles) await fx.createUser(r.user, r.password);
  const login = async (user, password) => {
    if (!(await fx.logsIn({ username: user, password }))) throw new Error(`${user} does not log in with the password just set`);
  };
  const home = mkdtempSync(join(tmpdir(), 'keyturn-bench-'));
  const admin = new pg.Pool({ host: HOST, port: PORT, user: adminUser, password: adminPassword, database: 'postgres', max: CONCURRENCY });
  try {
    // Raw baseline: the same target work, no engine.
    const raw = async () => {
      const t0 = performance.now();
      await pool(roles, CONCURRENCY, async (r) => {
        const next = pw();
        await admin.query(`ALTER ROLE "${r.user}" PASSWORD '${next}'`);
        await login(r.user, next);
        r.password = next;
      });
      return performance.now() - t0;
    };

    const env = { KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent', BENCH_ADMIN_PASSWORD: adminPassword };
    const settings = loadSettings(env);
    await initHome(settings);
    const secrets = [`  admin/bench:\n    type: database-credential\n    initial: { username: ${adminUser}, password: "\${env:BENCH_ADMIN_PASSWORD}" }`];
    for (const r of roles) {
      secrets.push(`  bench/${r.user}:\n    type: database-credential\n    target: bench-pg\n    strategy: single-user\n    initial: { username: ${r.user}, password: "\${env:PW_${r.user}}" }`);
      env[`PW_${r.user}`] = r.password;
    }
    const yaml = `version: 1\ntargets:\n  bench-pg:\n    type: postgres\n    host: ${HOST}\n    port: ${PORT}\n    database: postgres\n    admin: admin/bench\nsecrets:\n${secrets.join('\n')}\n`;
    const kt = await openKeyturn(settings);
    const config = parseConfig(yaml, env);
    await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
    const profile = PROFILE ? await rotationProfile() : null;
    // Profiling: the runtime's engine wiring, with the profile's step timer at the boundaries.
    const engine = profile
      ? new Engine({ state: kt.state, store: kt.store.withoutReadAudit(), applied: kt.applied, clock: kt.clock, log: kt.log, audit: engineAuditPort(kt.audit), onBoundary: profile.onBoundary })
      : await kt.engine();
    const engineRound = async () => {
      const t0 = performance.now();
      let failed = 0;
      await profile?.start();
      await pool(roles, CONCURRENCY, async (r) => {
        const run = await engine.rotate(`bench/${r.user}`);
        if (run.status !== 'done') failed += 1;
      });
      await profile?.stop();
      if (failed) throw new Error(`${failed} rotations did not finish`);
      return performance.now() - t0;
    };
    const target = createTarget({ type: 'postgres', host: HOST, port: PORT, database: 'postgres' });
    const targetOnly = async () => {
      const t0 = performance.now();
      await pool(roles, CONCURRENCY, async (r) => {
        const ctx = () => fx.context('single-user', r.user, { signal: AbortSignal.timeout(30_000) });
        const next = { username: r.user, password: pw() };
        await target.set(ctx(), next, { username: r.user, password: r.password });
        await target.test(ctx(), next);
        r.password = next.password;
      });
      return performance.now() - t0;
    };
    const rawTimes = [];
    const engineTimes = [];
    const targetTimes = [];
    const timed = async (kind, loop) => {
      const c0 = cpuMs();
      const ms = await loop();
      cpuSpent[kind] += cpuMs() - c0;
      return ms;
    };
    for (let round = 0; round < ROUNDS; round++) {
      // Each round measures all three back to back, the engine first in even rounds and last in odd
      // ones, so a drift of the machine's speed (other load, the server's own work) weighs on each alike.
      const engineNow = async () => {
        engineTimes.push(await timed('engine', engineRound));
        // Keep the raw loops' knowledge of passwords in step with what the engine set.
        for (const r of roles) r.password = (await kt.store.get(`bench/${r.user}`)).value.password;
      };
      if (round % 2 === 0) await engineNow();
      rawTimes.push(await timed('raw', raw));
      targetTimes.push(await timed('target', targetOnly));
      for (const r of roles) await kt.store.put(`bench/${r.user}`, { username: r.user, password: r.password });
      if (round % 2 === 1) await engineNow();
    }
    await target.close();
    await kt.close();
    const bestRaw = Math.min(...rawTimes);
    const bestEngine = Math.min(...engineTimes);
    const rate = (ms) => ((N / ms) * 1000).toFixed(1);
    console.log(`rotate bench: ${N} PostgreSQL roles (scram-sha-256 on :${PORT}), concurrency ${CONCURRENCY}, best of ${ROUNDS} rounds`);
    console.log(`  raw ALTER ROLE + login   ${bestRaw.toFixed(0).padStart(7)} ms   ${rate(bestRaw)} roles/s   (rounds: ${rawTimes.map((t) => t.toFixed(0)).join(', ')})`);
    console.log(`  keyturn engine           ${bestEngine.toFixed(0).padStart(7)} ms   ${rate(bestEngine)} roles/s   (rounds: ${engineTimes.map((t) => t.toFixed(0)).join(', ')})`);
    const bestTarget = Math.min(...targetTimes);
    console.log(
      `  target alone (set+test)  ${bestTarget.toFixed(0).padStart(7)} ms   ${rate(bestTarget)} roles/s   (rounds: ${targetTimes.map((t) => t.toFixed(0)).join(', ')}; ratio to raw ${(bestTarget / bestRaw).toFixed(3)}x)`,
    );
    const ratio = bestEngine / bestRaw;
    // Per round, engine and raw measured back to back: the median of those ratios is the steadier figure on a shared machine.
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const paired = median(engineTimes.map((t, i) => t / rawTimes[i]));
    const pairedTarget = median(targetTimes.map((t, i) => t / rawTimes[i]));
    console.log(
      `  ratio engine/raw, best rounds: ${ratio.toFixed(3)}x; median of per-round ratios: ${paired.toFixed(3)}x (target alone ${pairedTarget.toFixed(3)}x) (goal <= 1.10x: ${paired <= 1.1 ? 'met' : 'NOT met'})`,
    );
    const perRotation = (kind) => (cpuSpent[kind] / (N * ROUNDS)).toFixed(2);
    console.log(`  this process's CPU per rotation: raw ${perRotation('raw')} ms, engine ${perRotation('engine')} ms, target alone ${perRotation('target')} ms`);
    if (profile) console.log(profile.report(N * ROUNDS));
  } finally {
    await admin.end();
    for (const r of roles) await fx.dropUser(r.user);
    await fx.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
