/**
 * Scheduler pass benchmark (issue #12): what one pass costs on the PostgreSQL state database, with
 * 1,000 and with 100,000 secrets of which 100 are due, against a bare indexed
 * `SELECT path FROM schedule_due WHERE due_at <= $1 ORDER BY due_at LIMIT 100 FOR UPDATE SKIP LOCKED`
 * on the same table in the same run.
 *
 * The pass measured is the scheduler's claim (src/schedule/due-repo.ts `DueRepo.claim`, what
 * `Scheduler.pass` does before it hands the claimed secrets to the engine): in one transaction,
 * the due rows read in priority and due order `FOR UPDATE SKIP LOCKED` with the per-target limit
 * applied, then each claimed row's `claimed_until` and claimant written. A claim is a hint (the
 * engine checks under the secret's lease that the secret is still due), so that transaction
 * commits without waiting for the WAL flush; for reference the claim's statements committed
 * synchronously, and the bare query committed asynchronously, are timed too (like for like: what
 * the pass costs beyond the bare query apart from the flush). The rotations a pass then starts are the engine's cost,
 * measured by `npm run bench:rotate`.
 *
 * Each size has a schema of its own on the machine's PostgreSQL (KEYTURN_TEST_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), migrated as Keyturn does; its `schedule_due` rows
 * are inserted in bulk (one INSERT ... SELECT generate_series, not 100,000 applies): 100 due in the
 * last hour, the rest due up to 90 days ahead or never (manual), a fifth of them on one of five
 * targets. Each iteration puts the 100 due rows back as they were (not timed), then times the bare
 * query and the pass, in alternating order; figures are medians over BENCH_SCHEDULER_ITERATIONS.
 *
 * Goals: the pass costs at most 2x the bare query (at both sizes), and the 100,000-secret pass at
 * most 1.5x the 1,000-secret pass (cost follows what is due, not what exists).
 *
 *   npm run bench:scheduler        (BENCH_SCHEDULER_ITERATIONS=300)
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql } from 'kysely';
import { openState } from '../dist/state/db.js';
import { DueRepo } from '../dist/schedule/due-repo.js';

const PG_URL = process.env.KEYTURN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ITERATIONS = Number(process.env.BENCH_SCHEDULER_ITERATIONS ?? 300);
const DUE = 100;
const SIZES = [1000, 100_000];
const GOAL_BARE = 2;
const GOAL_SCALE = 1.5;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** A schema with `size` schedule rows, `DUE` of them due at `now`. */
async function table(size, now) {
  const schema = `kt_bench_sched_${randomBytes(4).toString('hex')}`;
  const state = await openState({ url: PG_URL, pgSchema: schema });
  try {
    // Row i: the first DUE are due in the last hour (the most overdue first), then due up to 90 days
    // ahead, every tenth never (manual); every fifth is on one of five targets.
    await sql`
      INSERT INTO schedule_due (path, target, priority, due_at, reason, warning_at, overdue_at, requested_at, claimed_by, claimed_at, claimed_until, updated_at)
      SELECT 'app/s' || i,
             CASE WHEN i % 5 = 0 THEN 'pg' || (i / 5) % 5 ELSE NULL END,
             2,
             CASE WHEN i < ${DUE} THEN ${now}::bigint - 3600000 + i * 1000
                  WHEN i % 10 = 0 THEN NULL
                  ELSE ${now}::bigint + 60000 + (i::bigint * 7919) % (90 * 86400000::bigint) END,
             'every', NULL, NULL, NULL, NULL, NULL, NULL, ${now}::bigint
      FROM generate_series(0, ${size - 1}) AS i`.execute(state.db);
    await sql`ANALYZE schedule_due`.execute(state.db);
  } catch (e) {
    // A half-made schema is not left behind.
    await state.close();
    await dropSchema(schema);
    throw e;
  }
  const due = Array.from({ length: DUE }, (_, i) => ({ path: `app/s${i}`, dueAt: now - 3_600_000 + i * 1000 }));
  return {
    state,
    schema,
    /** Puts the due rows back as they were before a claim. */
    reset: async () => {
      await sql`
        UPDATE schedule_due AS d SET due_at = v.due_at, reason = 'every', claimed_by = NULL, claimed_at = NULL, claimed_until = NULL
        FROM (SELECT unnest(${due.map((d) => d.path)}::text[]) AS path, unnest(${due.map((d) => d.dueAt)}::bigint[]) AS due_at) AS v
        WHERE d.path = v.path`.execute(state.db);
    },
    bare: async () => (await sql`SELECT path FROM schedule_due WHERE due_at <= ${now}::bigint ORDER BY due_at LIMIT ${DUE} FOR UPDATE SKIP LOCKED`.execute(state.db)).rows.length,
    /** The bare query on a session that commits asynchronously, like the pass's (for reference). */
    bareAsync: async () => (await state.asyncCommit('bench_bare', 'SELECT path FROM schedule_due WHERE due_at <= $1::bigint ORDER BY due_at LIMIT 100 FOR UPDATE SKIP LOCKED', [now])).length,
    /** The claim's statements, committed synchronously (for reference). */
    syncClaim: async () =>
      state.db.transaction().execute(async (trx) => {
        const rows = (
          await sql`SELECT path, target, priority, due_at FROM schedule_due WHERE due_at <= ${now}::bigint AND (claimed_until IS NULL OR claimed_until <= ${now}::bigint)
                    ORDER BY priority, due_at LIMIT ${DUE} FOR UPDATE SKIP LOCKED`.execute(trx)
        ).rows;
        await sql`UPDATE schedule_due SET claimed_until = ${now + 60_000}::bigint, claimed_by = 'bench', claimed_at = ${now}::bigint WHERE path = ANY(${rows.map((r) => r.path)}::text[])`.execute(trx);
        return rows.length;
      }),
    plan: async () =>
      (await sql`EXPLAIN SELECT path, target, priority, due_at FROM schedule_due WHERE due_at <= ${now}::bigint ORDER BY priority, due_at LIMIT ${DUE} FOR UPDATE SKIP LOCKED`.execute(state.db)).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n      '),
    vacuum: async () => {
      await sql`VACUUM ANALYZE schedule_due`.execute(state.db);
    },
  };
}

async function dropSchema(schema) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

async function measure(size, now) {
  const t = await table(size, now);
  const clock = { now: () => now };
  const due = new DueRepo(t.state, clock);
  // A per-target limit that binds nothing here (20 due rows on 5 targets, 4 each), but is applied: the statement a server runs.
  const pass = () => due.claim({ now, limit: DUE, holder: 'bench', claimMs: 60_000, targetLimit: 20, busy: new Map([['pg1', 1]]) });
  const times = { bare: [], pass: [], sync: [], bareAsync: [] };
  try {
    // Warm-up: connections, plans, caches.
    for (let i = 0; i < 20; i++) {
      await t.reset();
      await t.bare();
      await pass();
      await t.reset();
      await t.syncClaim();
      await t.bareAsync();
    }
    for (let i = 0; i < ITERATIONS; i++) {
      if (i % 50 === 0) await t.vacuum();
      const order = i % 2 === 0 ? ['bare', 'pass', 'sync', 'bareAsync'] : ['bareAsync', 'sync', 'pass', 'bare'];
      for (const which of order) {
        await t.reset();
        const t0 = performance.now();
        const n = which === 'bare' ? await t.bare() : which === 'pass' ? (await pass()).length : which === 'sync' ? await t.syncClaim() : await t.bareAsync();
        times[which].push(performance.now() - t0);
        if (n !== DUE) throw new Error(`${which} took ${n} rows, not ${DUE}`);
      }
    }
    return { size, bare: median(times.bare), pass: median(times.pass), sync: median(times.sync), bareAsync: median(times.bareAsync), plan: await t.plan() };
  } finally {
    await t.state.close();
    await dropSchema(t.schema);
  }
}

async function main() {
  const now = Date.now();
  const results = [];
  for (const size of SIZES) results.push(await measure(size, now));
  console.log(`scheduler bench: one pass (claim ${DUE} due secrets) on PostgreSQL, medians over ${ITERATIONS} iterations`);
  let met = true;
  for (const r of results) {
    const ratio = r.pass / r.bare;
    const ok = ratio <= GOAL_BARE;
    met &&= ok;
    console.log(
      `  ${String(r.size).padStart(7)} secrets: bare SELECT ... FOR UPDATE SKIP LOCKED ${r.bare.toFixed(3)} ms, pass ${r.pass.toFixed(3)} ms: ${ratio.toFixed(2)}x (goal <= ${GOAL_BARE}x: ${ok ? 'met' : 'NOT met'})`,
    );
    console.log(
      `  ${' '.repeat(16)}for reference: the claim committed synchronously ${r.sync.toFixed(3)} ms (${(r.sync / r.bare).toFixed(2)}x the bare query); the bare query committed asynchronously ${r.bareAsync.toFixed(3)} ms (the pass is ${(r.pass / r.bareAsync).toFixed(2)}x it)`,
    );
  }
  const scale = results[1].pass / results[0].pass;
  const scaleOk = scale <= GOAL_SCALE;
  met &&= scaleOk;
  console.log(`  pass at ${SIZES[1]} / pass at ${SIZES[0]}: ${scale.toFixed(2)}x (goal <= ${GOAL_SCALE}x: ${scaleOk ? 'met' : 'NOT met'})`);
  console.log(`  the pass's read, planned at ${SIZES[1]} secrets:\n      ${results[1].plan}`);
  console.log(`goals ${met ? 'met' : 'NOT met'}`);
  if (!met) process.exitCode = 1;
}

await main();
