// Runs npm scripts side by side and fails if any fails: `node scripts/run-parallel.js build typecheck lint`
// (`npm test` runs its checks this way before the tests). Each script's output is printed whole
// when it ends, under its name, so outputs do not interleave. The checks do not depend on each
// other, and on a small, busy machine three processes get more of the CPU than one at a time.
import { spawn } from 'node:child_process';

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node scripts/run-parallel.js SCRIPT...');
  process.exit(2);
}

const npm = process.env.npm_execpath;
const results = await Promise.all(
  names.map(
    (name) =>
      new Promise((resolve) => {
        const started = Date.now();
        // Through the npm that runs us (npm_execpath) when there is one, else the npm on the PATH.
        const child = npm ? spawn(process.execPath, [npm, 'run', name], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('npm', ['run', name], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('error', (e) => (output += `${e.message}\n`));
        child.on('close', (code) => {
          process.stdout.write(`\n> ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n${output}`);
          resolve(code === 0);
        });
      }),
  ),
);
process.exit(results.every(Boolean) ? 0 : 1);
