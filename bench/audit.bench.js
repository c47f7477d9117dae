/**
 * Audit log benchmark: appending and verifying, against raw SHA-256 over the same leaf bytes.
 *
 * (a) append: N events through AuditAppender (check fields, RFC 8785 canonical JSON, leaf hash,
 *     compact-range update, final root) vs one SHA-256 per leaf; the same with a signed
 *     checkpoint every CHECKPOINT_EVERY events is printed too;
 * (b) verify: verifyAuditLog over the N leaves and a checkpoint every CHECKPOINT_EVERY entries
 *     (leaf hashes, tree, root at each checkpoint size, Ed25519 signatures) vs one SHA-256 per leaf;
 * (c) durable append: AuditLog.appendBatch into a real SQLite state database in a temp folder,
 *     batches of DURABLE_BATCH events, each batch one committed transaction (lock the head, build,
 *     hash and insert the leaves, sign a checkpoint every CHECKPOINT_EVERY, write the head), vs
 *     one SHA-256 per leaf over the same leaves read back from the database.
 *
 * Each in-memory measurement is the best of ROUNDS runs in this process; the durable one is one
 * run of DURABLE_N events into a fresh database (also given per CPU-second: on a busy machine the
 * wall time includes waiting for a core). Goals: durable append >= 50,000 events/s,
 * verify >= 300,000 events/s.
 *
 * Run: `npm run bench:audit` (builds first; the bench imports ../dist).
 * Options (environment): AUDIT_BENCH_N (default 200000), AUDIT_BENCH_ROUNDS (default 5),
 * AUDIT_BENCH_DURABLE_N (default 200000), AUDIT_BENCH_BATCH (default 1000).
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditAppender, generateNoteKey, parseSignerKey, verifyAuditLog } from '../dist/audit/index.js';
import { AuditLog } from '../dist/audit/log.js';
import { KeyRing } from '../dist/crypto/keyring.js';
import { generateRootKey } from '../dist/crypto/root-key.js';
import { openState } from '../dist/state/db.js';

const N = Number(process.env.AUDIT_BENCH_N ?? 200_000);
const ROUNDS = Number(process.env.AUDIT_BENCH_ROUNDS ?? 5);
const DURABLE_N = Number(process.env.AUDIT_BENCH_DURABLE_N ?? 200_000);
const DURABLE_BATCH = Number(process.env.AUDIT_BENCH_BATCH ?? 1000);
const CHECKPOINT_EVERY = 1000;
const ORIGIN = 'bench.example/keyturn';
const ACTIONS = ['secret.put', 'secret.read', 'rotation.start', 'rotation.set', 'rotation.test', 'rotation.finish'];
const T0 = Date.UTC(2025, 0, 1);

/** Event fields as a caller would pass them (built before timing). */
function inputs(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const failed = i % 17 === 0;
    out[i] = {
      time: new Date(T0 + i * 37).toISOString(),
      actor: i % 3 === 0 ? 'system:scheduler' : `user:u${i % 97}@example.com`,
      source: i % 2 === 0 ? 'engine' : 'api',
      action: ACTIONS[i % ACTIONS.length],
      path: `prod/db/app_user_${i % 1013}`,
      versionId: `v${i}`,
      outcome: failed ? 'failure' : 'success',
      errorCode: failed ? 'KT_TARGET_AUTH_FAILED' : null,
      runId: `run_${Math.floor(i / 6)}`,
      correlationId: `req-${i.toString(36)}`,
    };
  }
  return out;
}

/** Best wall time in seconds of `rounds` calls of `fn`. */
function best(rounds, fn) {
  let min = Infinity;
  let result;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    result = fn();
    min = Math.min(min, (performance.now() - start) / 1000);
  }
  return { seconds: min, result };
}

function rawSha256(leaves) {
  let x = 0;
  for (const leaf of leaves) x ^= hash('sha256', leaf, 'buffer')[0];
  return x;
}

/** Appends every event; with a signer, also signs a checkpoint every CHECKPOINT_EVERY events. */
function append(events, signer) {
  const log = new AuditAppender();
  const leaves = new Array(events.length);
  const checkpoints = [];
  for (let i = 0; i < events.length; i++) {
    leaves[i] = log.append(events[i]).leaf;
    if (signer !== undefined && (i + 1) % CHECKPOINT_EVERY === 0) checkpoints.push(log.checkpoint(ORIGIN, signer));
  }
  return { leaves, checkpoints, root: log.root() };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** Durable append: batches of DURABLE_BATCH into a fresh SQLite state database; returns seconds and the stored leaves. */
async function durableAppend(events) {
  const dir = mkdtempSync(join(tmpdir(), 'keyturn-audit-bench-'));
  const state = await openState({ sqliteFile: join(dir, 'keyturn.db') });
  try {
    const ring = await KeyRing.initialize(state, generateRootKey());
    const log = await AuditLog.open(state, ring, { checkpointEvery: CHECKPOINT_EVERY, checkpointSeconds: 3600 });
    // Warm up on a throwaway slice (its events stay in the log; the timing starts after them).
    for (let i = 0; i < 10; i++) await log.appendBatch(events.slice(i * DURABLE_BATCH, (i + 1) * DURABLE_BATCH));
    const warm = (await log.head()).size;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 10 * DURABLE_BATCH; i < events.length; i += DURABLE_BATCH) await log.appendBatch(events.slice(i, i + DURABLE_BATCH));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const leaves = [];
    await log.pages(warm, (rows) => {
      for (const r of rows) leaves.push(Buffer.from(r.leaf, 'utf8'));
    });
    const checkpoints = (await log.checkpoints()).length;
    return { seconds, cpuSeconds, leaves, checkpoints, size: (await log.head()).size };
  } finally {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { signerKey, verifierKey } = generateNoteKey(ORIGIN);
  const signer = parseSignerKey(signerKey);
  const events = inputs(N);

  // Warm up the JIT on a slice.
  const warm = append(events.slice(0, 20_000), signer);
  verifyAuditLog({ leaves: warm.leaves, checkpoints: warm.checkpoints, verifierKey, origin: ORIGIN });
  rawSha256(warm.leaves);

  const appended = best(ROUNDS, () => append(events));
  const signed = best(1, () => append(events, signer));
  const { leaves, checkpoints } = signed.result;
  if (!appended.result.root.equals(signed.result.root)) throw new Error('append is not deterministic');
  const bytes = leaves.reduce((sum, leaf) => sum + leaf.length, 0);
  const raw = best(ROUNDS, () => rawSha256(leaves));
  const verified = best(ROUNDS, () => verifyAuditLog({ leaves, checkpoints, verifierKey, origin: ORIGIN }));
  if (!verified.result.ok || verified.result.verifiedSize !== N - (N % CHECKPOINT_EVERY)) {
    throw new Error(`verify failed: ${JSON.stringify(verified.result.problems.slice(0, 3))}`);
  }

  const rawRate = N / raw.seconds;
  const appendRate = N / appended.seconds;
  const verifyRate = N / verified.seconds;
  console.log(`audit bench: N=${fmt(N)} events, ${(bytes / N).toFixed(0)} bytes/leaf on average, checkpoint every ${CHECKPOINT_EVERY}, best of ${ROUNDS}, node ${process.version}`);
  console.log(`raw SHA-256 over the leaves   ${fmt(rawRate).padStart(11)} events/s  (${(raw.seconds * 1000).toFixed(1)} ms)`);
  console.log(
    `(a) append+hash (check, canonicalize, leaf hash, tree, root)  ${fmt(appendRate)} events/s  (${(appended.seconds * 1000).toFixed(1)} ms)  ratio ${(raw.seconds / appended.seconds).toFixed(2)}x of raw (raw is ${(appended.seconds / raw.seconds).toFixed(2)}x faster)`,
  );
  console.log(`    with ${checkpoints.length} Ed25519-signed checkpoints as well: ${fmt(N / signed.seconds)} events/s (one run)`);
  console.log(
    `(b) verify (tree from leaves, ${checkpoints.length} checkpoints)  ${fmt(verifyRate)} events/s  (${(verified.seconds * 1000).toFixed(1)} ms)  ratio ${(raw.seconds / verified.seconds).toFixed(2)}x of raw (raw is ${(verified.seconds / raw.seconds).toFixed(2)}x faster)  goal >= 300,000: ${verifyRate >= 300_000 ? 'met' : 'NOT met'}`,
  );

  // Without a time: the log stamps each batch with its clock, as in real use.
  const durableEvents = inputs(DURABLE_N + 10 * DURABLE_BATCH).map((e) => {
    const copy = { ...e };
    delete copy.time;
    return copy;
  });
  const durable = await durableAppend(durableEvents);
  const durableRaw = best(ROUNDS, () => rawSha256(durable.leaves));
  const durableRate = durable.leaves.length / durable.seconds;
  console.log(
    `(c) durable append (SQLite, batches of ${fmt(DURABLE_BATCH)}, one transaction each, ${fmt(durable.size)} events, ${durable.checkpoints} signed checkpoints)  ${fmt(durableRate)} events/s  (${(durable.seconds * 1000).toFixed(1)} ms)  ratio ${(durableRaw.seconds / durable.seconds).toFixed(3)}x of raw (raw is ${(durable.seconds / durableRaw.seconds).toFixed(1)}x faster: ${fmt(durable.leaves.length / durableRaw.seconds)} events/s)  goal >= 50,000: ${durableRate >= 50_000 ? 'met' : 'NOT met'}`,
  );
  // On a shared machine the wall rate measures the neighbours too; CPU time is this process's work.
  console.log(
    `    by CPU time: ${fmt(durable.leaves.length / durable.cpuSeconds)} events per CPU-second (${(durable.cpuSeconds * 1000).toFixed(1)} ms CPU, ${((durable.cpuSeconds / durable.seconds) * 100).toFixed(0)}% of the wall time)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
