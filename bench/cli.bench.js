// `npm run bench:cli`: how long the keyturn command takes to start, against a bare `node -e 0`
// measured in the same run, on an initialized SQLite home.
//
// Each round runs every command once, in turn, so that a busy moment of the machine falls on all
// of them alike; the table shows each command's median over the rounds and its ratio to bare node.
// Goals (issue 7): --version and --help at most 2x bare node; secret get and status at most 3x.
//
//   npm run bench:cli                      # 15 rounds
//   KEYTURN_BENCH_RUNS=30 npm run bench:cli
//   npm run bench:cli -- --json            # the figures as one JSON object
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/keyturn.js', import.meta.url));
const ROUNDS = Number(process.env.KEYTURN_BENCH_RUNS ?? 15);
const WARMUP = 2;
const json = process.argv.includes('--json');

const home = mkdtempSync(join(tmpdir(), 'kt-bench-cli-'));
// The commands' environment: this home, and no inherited KEYTURN_* setting.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYTURN_')));
env.KEYTURN_HOME = home;

function run(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const cases = [
  { name: 'node -e 0 (bare)', args: ['-e', '0'], goal: null },
  { name: 'keyturn --version', args: [BIN, '--version'], goal: 2 },
  { name: 'keyturn --help', args: [BIN, '--help'], goal: 2 },
  { name: 'keyturn secret get', args: [BIN, 'secret', 'get', 'bench/api-token'], goal: 3 },
  { name: 'keyturn status', args: [BIN, 'status'], goal: 3 },
];

try {
  run([BIN, 'init']);
  run([BIN, 'secret', 'put', 'bench/api-token', '--value', 'bench-value-not-secret']);
  for (let i = 0; i < WARMUP; i++) for (const c of cases) run(c.args);
  const times = cases.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    cases.forEach((c, i) => times[i].push(run(c.args)));
    if (!json) process.stderr.write(`\rround ${round + 1}/${ROUNDS}`);
  }
  if (!json) process.stderr.write('\n');
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const bare = median(times[0]);
  const rows = cases.map((c, i) => {
    const ms = median(times[i]);
    const ratio = ms / bare;
    return { command: c.name, medianMs: Number(ms.toFixed(1)), ratio: Number(ratio.toFixed(2)), goal: c.goal, met: c.goal === null ? null : ratio <= c.goal };
  });
  if (json) {
    process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, node: process.version, rows }, null, 2)}\n`);
  } else {
    const header = ['command', 'median', 'vs bare node', 'goal', ''];
    const lines = rows.map((r) => [r.command, `${r.medianMs.toFixed(1)} ms`, `${r.ratio.toFixed(2)}x`, r.goal === null ? '-' : `<= ${r.goal}x`, r.met === null ? '' : r.met ? 'met' : 'NOT MET']);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (l) =>
      l
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    process.stdout.write(`${[`${ROUNDS} rounds, ${process.version}, median of each`, fmt(header), ...lines.map(fmt)].join('\n')}\n`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
