/**
 * Secret scanning benchmark (#16, "Prove it"): Keyturn's scanner against secretlint 13 with its
 * recommended preset, in the same run, on the same generated tree.
 *
 * (a) a tree of BENCH_SCAN_FILES files (default 5,000) of about BENCH_SCAN_MB MB (default 50) from
 *     the seeded corpus generator (src/scan/synthetic.ts: ordinary code and config lines, fake
 *     secrets of every type planted, look-alike decoys), written to a temporary folder; then
 *     Keyturn's scan (walk with .gitignore, chunked reads, default rules) on this thread and with
 *     worker threads, and secretlint's engine (@secretlint/node, the preset, JSON formatter) over
 *     the same files: MB/s of each, the ratio, recall and precision of each (per type with
 *     BENCH_SCAN_VERBOSE=1);
 * (b) a tree of BENCH_SCAN_SMALL_FILES small files (default 50,000) and one a tenth of that size:
 *     Keyturn's time on each (the cost should grow linearly with the number of files);
 * (c) peak memory (max RSS) of a fresh process that scans the 50 MB tree, next to an empty one.
 *
 * The machine may be shared: the figures are of this run only. Goal: Keyturn at least 10x
 * secretlint's MB/s, with recall and precision both at least 0.95.
 *
 * Run: `npm run bench:scan` (builds first; the bench imports ../dist).
 * Options (environment): BENCH_SCAN_SEED (default 1), BENCH_SCAN_FILES, BENCH_SCAN_MB,
 * BENCH_SCAN_SMALL_FILES, BENCH_SCAN_WORKERS (default: the CLI's, at least 2), BENCH_SCAN_ROUNDS (default 3: the tools take turns, medians are
 * reported), BENCH_SCAN_SECRETLINT=0 to skip secretlint.
 */
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultWorkers, runScan } from '../dist/scan/scan.js';
import { evaluate, formatScore, generateCorpus } from '../dist/scan/synthetic.js';

const SEED = Number(process.env.BENCH_SCAN_SEED ?? 1);
const FILES = Number(process.env.BENCH_SCAN_FILES ?? 5000);
const MB = Number(process.env.BENCH_SCAN_MB ?? 50);
const SMALL = Number(process.env.BENCH_SCAN_SMALL_FILES ?? 50_000);
const VERBOSE = process.env.BENCH_SCAN_VERBOSE === '1';
const SECRETLINT = process.env.BENCH_SCAN_SECRETLINT !== '0';
const ROUNDS = Number(process.env.BENCH_SCAN_ROUNDS ?? 3);

const root = mkdtempSync(join(tmpdir(), 'kt-scan-bench-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

function writeTree(dir, files) {
  let bytes = 0;
  const made = new Set();
  for (const f of files) {
    const d = dirname(join(dir, f.path));
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(join(dir, f.path), f.text);
    bytes += Buffer.byteLength(f.text);
  }
  return bytes;
}

const fmt = (n, d = 1) => n.toFixed(d);

// (a) the 5,000-file tree. About 55 bytes a line: lines per file from the size asked for.
const linesPerFile = Math.round((MB * 1e6) / FILES / 55);
const corpus = generateCorpus({ seed: SEED, files: FILES, linesPerFile, secretsPerFile: 0.4, decoysPerFile: 0.4 });
const bigDir = join(root, 'big');
const bytes = writeTree(bigDir, corpus);
console.log(
  `tree: ${FILES} files, ${fmt(bytes / 1e6)} MB, seed ${SEED}; ${corpus.reduce((n, f) => n + f.labels.filter((l) => l.kind === 'secret').length, 0)} planted secrets, ${corpus.reduce((n, f) => n + f.labels.filter((l) => l.kind === 'decoy').length, 0)} decoys`,
);

async function keyturn(workers) {
  const t0 = performance.now();
  const out = await runScan({ cwd: bigDir, paths: ['.'], workers });
  const s = (performance.now() - t0) / 1000;
  return { s, score: evaluate(corpus, out.findings) };
}

async function secretlint() {
  const { createEngine } = await import('@secretlint/node');
  const engine = await createEngine({ cwd: bigDir, formatter: 'json', color: false, maskSecrets: true, configFileJSON: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] } });
  const t0 = performance.now();
  const result = await engine.executeOnFiles({ filePathList: corpus.map((f) => join(bigDir, f.path)) });
  const s = (performance.now() - t0) / 1000;
  const findings = JSON.parse(result.output).flatMap((r) => r.messages.map((m) => ({ file: r.filePath.slice(bigDir.length + 1), line: m.loc.start.line })));
  return { s, score: evaluate(corpus, findings) };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const mbs = (s) => bytes / 1e6 / s;
// Workers are measured even where the CLI would not use them by default (fewer than 4 cores).
const workers = Number(process.env.BENCH_SCAN_WORKERS ?? Math.max(2, defaultWorkers()));
await keyturn(0); // warm-up: file cache and JIT, for both tools alike (secretlint reads the same cached files)
// The tools take turns, ROUNDS times, so that a burst of load from elsewhere on the machine hits both alike; medians are reported.
const runs = { kt1: [], ktN: [], sl: [] };
for (let r = 0; r < ROUNDS; r++) {
  runs.kt1.push(await keyturn(0));
  if (workers > 0) runs.ktN.push(await keyturn(workers));
  if (SECRETLINT) runs.sl.push(await secretlint());
}
const line = (name, list) =>
  `${name.padEnd(24)} ${list.map((x) => fmt(x.s, 2)).join(' / ')} s, median ${fmt(mbs(median(list.map((x) => x.s))))} MB/s, recall ${fmt(list[0].score.overall.recall, 3)}, precision ${fmt(list[0].score.overall.precision, 3)}`;
console.log(line('keyturn, 1 thread:', runs.kt1));
if (workers > 0) console.log(line(`keyturn, ${workers} worker(s):`, runs.ktN));
if (VERBOSE) console.log(formatScore(runs.kt1[0].score));
if (SECRETLINT) {
  console.log(line('secretlint 13, 1 thread:', runs.sl));
  if (VERBOSE) console.log(formatScore(runs.sl[0].score));
  const ratios = runs.sl.map((x, i) => x.s / runs.kt1[i].s);
  const ratiosN = workers > 0 ? runs.sl.map((x, i) => x.s / runs.ktN[i].s) : ratios;
  const each = (xs) => `${xs.map((x) => fmt(x)).join(', ')} (median ${fmt(median(xs))}x)`;
  console.log(`ratio (MB/s), keyturn / secretlint per round: 1 thread ${each(ratios)}; ${workers} worker(s) ${each(ratiosN)}; goal 10x`);
}

// (b) many small files: the cost per file.
async function smallTree(n, name) {
  const files = generateCorpus({ seed: SEED + 1, files: n, linesPerFile: 4, secretsPerFile: 0.1, decoysPerFile: 0.1 });
  const dir = join(root, name);
  const b = writeTree(dir, files);
  await runScan({ cwd: dir, paths: ['.'] }); // warm-up: the files just written, and the JIT on this tree's shape
  const t0 = performance.now();
  const out = await runScan({ cwd: dir, paths: ['.'] });
  const s = (performance.now() - t0) / 1000;
  const score = evaluate(files, out.findings);
  console.log(
    `keyturn, ${n} small files (${fmt(b / 1e6)} MB): ${fmt(s, 2)} s, ${fmt((s / n) * 1e6, 0)} µs a file, recall ${fmt(score.overall.recall, 3)}, precision ${fmt(score.overall.precision, 3)}`,
  );
  return s;
}
const tenth = await smallTree(Math.round(SMALL / 10), 'small-tenth');
const full = await smallTree(SMALL, 'small');
console.log(`small files: ${SMALL} files took ${fmt(full / tenth, 1)}x the time of ${Math.round(SMALL / 10)} (linear: 10x)`);

// (c) peak memory of a scan alone: a fresh process scans the 50 MB tree (workers included, they are threads).
const memScript = join(root, 'scan-memory.mjs');
writeFileSync(
  memScript,
  `import { runScan } from ${JSON.stringify(new URL('../dist/scan/scan.js', import.meta.url).href)};\nawait runScan({ cwd: ${JSON.stringify(bigDir)}, paths: ['.'] });\nconsole.log(process.resourceUsage().maxRSS);\n`,
);
const child = spawnSync(process.execPath, [memScript], { encoding: 'utf8' });
const baseline = spawnSync(process.execPath, ['--input-type=module', '-e', 'console.log(process.resourceUsage().maxRSS);'], { encoding: 'utf8' });
console.log(
  `peak memory (max RSS) of a process scanning the ${fmt(bytes / 1e6)} MB tree: ${fmt(Number(child.stdout) / 1024, 0)} MB (an empty node process: ${fmt(Number(baseline.stdout) / 1024, 0)} MB)`,
);
