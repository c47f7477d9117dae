/**
 * Audit log benchmark: appending and verifying, against raw SHA-256 over the same leaf bytes.
 *
 * (a) append: N events through AuditAppender (check fields, RFC 8785 canonical JSON, leaf hash,
 *     compact-range update, final root) vs one SHA-256 per leaf; the same with a signed
 *     checkpoint every CHECKPOINT_EVERY events is printed too;
 * (b) verify: verifyAuditLog over the N leaves and a checkpoint every CHECKPOINT_EVERY entries
 *     (leaf hashes, tree, root at each checkpoint size, Ed25519 signatures) vs one SHA-256 per leaf.
 *
 * Each measurement is the best of ROUNDS runs in this process. Goal: verify >= 300,000 events/s.
 *
 * Run from the compiled build (the bench imports ../dist):
 *   npx tsc -p tsconfig.build.json && node bench/audit.bench.js
 * Options (environment): AUDIT_BENCH_N (default 200000), AUDIT_BENCH_ROUNDS (default 5).
 */
import { hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AuditAppender, generateNoteKey, parseSignerKey, verifyAuditLog } from '../dist/audit/index.js';

const N = Number(process.env.AUDIT_BENCH_N ?? 200_000);
const ROUNDS = Number(process.env.AUDIT_BENCH_ROUNDS ?? 5);
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
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
