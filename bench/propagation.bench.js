/**
 * Propagation benchmark (issue #11): how long from a new version's commit to the rename of the
 * file an agent renders from it, with 1 agent and with BENCH_PROP_AGENTS agents on one server.
 *
 * The server (buildServer over a fresh home, 127.0.0.1) runs in this process; the agents run in a
 * child process (`runAgent` for each, its own event loop, as on another host), each with one
 * template of `bench/prop` into its own folder and no command, and its own name: after each
 * render it sends its delivery report, so the server and the child carry that traffic too. An agent notes the time when it
 * logs that the file changed, which it does right after the rename. For each of BENCH_PROP_CHANGES
 * changes, a new value is stored (`kt.store.put`: it resolves once the version and its audit
 * event have committed) and the time taken right after; each agent reports when its render of
 * that version has renamed the file into place. Both times are `performance.timeOrigin +
 * performance.now()` in their process (one machine: the same clock). The figure is the rename
 * time minus the commit time, per agent and change: p50, p99 and the largest.
 *
 * Goals (issue #11): p99 under 250 ms with 1 agent, under 1 s with 200.
 *
 *   npm run bench:propagation     (BENCH_PROP_AGENTS=200 BENCH_PROP_CHANGES=20)
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const bounded = (name, fallback, max) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return n;
};
const now = () => performance.timeOrigin + performance.now();

if (process.argv[2] === 'agents') {
  // The child: N agents, each reporting {agent, version, at} when its file was renamed into place.
  const [{ parseAgentConfig }, { runAgent }] = await Promise.all([import('../dist/agent/config.js'), import('../dist/agent/run.js')]);
  const [, , , base, dir, count] = process.argv;
  const stop = new globalThis.AbortController();
  process.on('message', (m) => m === 'stop' && stop.abort());
  const runs = [];
  for (let i = 0; i < Number(count); i++) {
    const own = join(dir, `agent-${i}`);
    mkdirSync(own, { recursive: true });
    // Each its own name, as on its own host: each reports (POST /v1/deliveries) what it renders.
    const config = parseAgentConfig(`name: bench-${i}\nservers: ["${base}"]\ntokenFile: ../token\ntemplates:\n  - secret: bench/prop\n    destination: ./out/value.txt\n`, own);
    // A logger that only notes the moment the agent says a file was renamed into place (it says so right after the rename).
    const quiet = () => undefined;
    const log = {
      level: 'info',
      isLevelEnabled: () => false,
      trace: quiet,
      debug: quiet,
      warn: quiet,
      error: quiet,
      fatal: quiet,
      info: (fields, msg) => {
        if (msg === 'agent: file rendered (changed)') process.send({ agent: i, version: fields.version, at: now() });
      },
    };
    runs.push(runAgent(config, { once: false, log, signal: stop.signal }));
  }
  await Promise.all(runs);
  process.exit(0);
}

const AGENTS = bounded('BENCH_PROP_AGENTS', 200, 1000);
const CHANGES = bounded('BENCH_PROP_CHANGES', 20, 1000);

const { loadSettings } = await import('../dist/config/settings.js');
const { initHome, openKeyturn } = await import('../dist/runtime/keyturn.js');
const { AccessRepo } = await import('../dist/access/access-repo.js');
const { buildServer } = await import('../dist/server/app.js');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function measure(agents) {
  const home = mkdtempSync(join(tmpdir(), 'keyturn-bench-prop-'));
  const settings = loadSettings({ KEYTURN_HOME: join(home, 'home'), KEYTURN_LOG_LEVEL: 'silent' });
  await initHome(settings);
  const kt = await openKeyturn(settings);
  const app = await buildServer(kt, { breakGlassSweepMs: false });
  let child;
  try {
    await kt.store.put('bench/prop', 'v0');
    const { token } = await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'] });
    const dir = join(home, 'agents');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const reports = new Map(); // version -> Map(agent -> at)
    let notify = () => {};
    child = fork(fileURLToPath(import.meta.url), ['agents', base, dir, String(agents)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m) => {
      let byAgent = reports.get(m.version);
      if (!byAgent) reports.set(m.version, (byAgent = new Map()));
      if (!byAgent.has(m.agent)) byAgent.set(m.agent, m.at);
      notify();
    });
    const all = (version, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`version ${version}: ${reports.get(version)?.size ?? 0} of ${agents} agents rendered it within ${timeoutMs} ms`)), timeoutMs);
        notify = () => {
          if ((reports.get(version)?.size ?? 0) >= agents) {
            globalThis.clearTimeout(timer);
            resolve();
          }
        };
        notify();
      });
    await all(1, 60_000); // every agent connected and rendered the first version
    const latencies = [];
    for (let c = 0; c < CHANGES; c++) {
      const v = await kt.store.put('bench/prop', `v${c + 1}-${'x'.repeat(64)}`);
      const committed = now();
      await all(v.number, 30_000);
      for (const at of reports.get(v.number).values()) latencies.push(at - committed);
    }
    return { agents, changes: CHANGES, p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(...latencies) };
  } finally {
    child?.send('stop');
    await new Promise((r) => (child && child.exitCode === null ? child.once('exit', r) : r()));
    await app.close();
    await kt.close();
    rmSync(home, { recursive: true, force: true });
  }
}

console.log(`propagation bench: commit of a new version -> rename of each agent's rendered file, ${CHANGES} changes`);
let met = true;
for (const [agents, goal] of [
  [1, 250],
  [AGENTS, 1000],
]) {
  const r = await measure(agents);
  const ok = r.p99 < goal;
  met &&= ok;
  console.log(`  ${String(agents).padStart(4)} agent(s): p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (goal p99 < ${goal} ms: ${ok ? 'met' : 'NOT met'})`);
}
if (!met) process.exitCode = 1;
