/**
 * The scheduler across real processes on one PostgreSQL state database (the issue's "Prove it"):
 *
 * - three `keyturn server` processes, app secrets and PostgreSQL role secrets (on the
 *   password-auth cluster, so a login really checks the password) all due at one instant (a
 *   six-field cron firing once); one server is killed with SIGKILL while it holds rotations; the
 *   others finish its runs. Counted from the audit log: every secret rotated exactly once in the
 *   cycle (one intent and one success event each), no run failed or left unfinished, and every
 *   role logs in with the password the store holds as current (no lockout).
 * - fencing: a `keyturn worker` stopped with SIGSTOP (its own KEYTURN_CRASH_AT=set:before:stop)
 *   while it holds a rotation, past its lease; a second worker takes the run over and finishes it;
 *   the first, resumed with SIGCONT, is refused (KT_LEASE_LOST) before it touches the role again
 *   and writes nothing: one run, one intent, one success, the role logs in with the stored password.
 *
 * Sizes: the issue's 500 app secrets and 50 roles (about 30 s on a 2-core machine); smaller with
 * KEYTURN_TEST_SCHEDULER_APPS and KEYTURN_TEST_SCHEDULER_ROLES. Every wait is for a condition in
 * the state database or a process's output, with a generous limit; nothing asserts a duration.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import type { Credential } from '../src/targets/target.js';
import { postgresFixture, type PostgresFixture } from './fixtures/targets/postgres.js';
import { BIN, runCli, SPAWN_MS, startServerProcess, type ServerProcess } from './helpers/cli.js';
import { streamHome } from './helpers/stream-home.js';

const APPS = Number(process.env.KEYTURN_TEST_SCHEDULER_APPS ?? 500);
const ROLES = Number(process.env.KEYTURN_TEST_SCHEDULER_ROLES ?? 50);
/** The longest any wait may take before the test fails (a machine with both cores busy is slow, not wrong). */
const WAIT_MS = 300_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, diagnose: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}\n${diagnose()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The audit log's `secret.rotate` events (all by the scheduler), by outcome and path (read from the state database). */
async function rotateEvents(kt: Keyturn): Promise<{ intent: Map<string, number>; success: Map<string, number>; failure: Map<string, number> }> {
  const rows = await kt.state.db.selectFrom('audit_leaves').select('leaf').where('leaf', 'like', '%"action":"secret.rotate"%').execute();
  const out = { intent: new Map<string, number>(), success: new Map<string, number>(), failure: new Map<string, number>() };
  for (const r of rows) {
    const e = JSON.parse(r.leaf) as { action: string; actor: string; outcome: 'intent' | 'success' | 'failure'; path: string };
    if (e.action !== 'secret.rotate') continue;
    expect(e.actor).toBe('system:scheduler');
    const m = out[e.outcome];
    m.set(e.path, (m.get(e.path) ?? 0) + 1);
  }
  return out;
}

/** A six-field cron (seconds first) that fires once a year, at `at` (UTC). */
function cronAt(at: Date): string {
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
}

interface Setup {
  env: Record<string, string>;
  dir: string;
  kt: Keyturn;
  fx: PostgresFixture;
  roles: string[];
  /** Applies keyturn.yaml with every secret on `schedule` (a YAML flow mapping, or null for none). */
  apply(schedule: string | null): Promise<void>;
}

/** A PostgreSQL home with `apps` app secrets and `roles` role secrets (users made on the password-auth cluster). */
async function setup(apps: number, roles: number): Promise<Setup> {
  const h = await streamHome(cleanups, { postgres: true, prefix: 'keyturn-sched-' });
  const fx = await postgresFixture();
  const tag = randomBytes(3).toString('hex');
  const names = Array.from({ length: roles }, (_, i) => `kt_sc_${tag}_${i}`);
  cleanups.push(async () => {
    for (const n of names) await fx.dropUser(n);
    await fx.close();
  });
  const initial = new Map<string, string>();
  for (const n of names) {
    const pw = `First-${randomBytes(9).toString('base64url')}`;
    initial.set(n, pw);
    await fx.createUser(n, pw);
  }
  const env = { ...h.env, KEYTURN_LOG_LEVEL: 'warn' };
  const file = join(h.dir, 'keyturn.yaml');
  const apply = async (schedule: string | null) => {
    const s = schedule === null ? '' : `    schedule: ${schedule}\n`;
    const yaml = [
      'version: 1',
      'targets:',
      `  pg: ${JSON.stringify({ ...fx.config(), admin: 'admin/pg' })}`,
      'secrets:',
      '  admin/pg:',
      '    type: database-credential',
      `    initial: { username: ${fx.admin!.username}, password: "${fx.admin!.password}" }`,
      ...Array.from({ length: apps }, (_, i) => `  app/s${i}:\n    type: app-secret\n${s}`),
      ...names.map((n, i) => `  db/r${i}:\n    type: database-credential\n    target: pg\n    strategy: single-user\n    initial: { username: ${n}, password: "${initial.get(n)}" }\n${s}`),
    ].join('\n');
    writeFileSync(file, `${yaml}\n`, { mode: 0o600 });
    const r = await runCli(['apply', '-f', file], { env: { ...env, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(r.code, r.stderr).toBe(0);
  };
  await apply(null);
  const kt = await openKeyturn(loadSettings({ ...env, KEYTURN_LOG_LEVEL: 'silent' }));
  cleanups.push(() => kt.close());
  return { env, dir: h.dir, kt, fx, roles: names, apply };
}

/** Which secrets a process (by pid) holds the lease of now. */
async function leasesOf(kt: Keyturn, pid: number): Promise<string[]> {
  const rows = await kt.state.db.selectFrom('leases').select(['name', 'holder', 'expires_at']).where('expires_at', '>', Date.now()).execute();
  return rows.filter((r) => r.holder.split(':')[1] === String(pid)).map((r) => r.name.replace(/^secret:/, ''));
}

describe('three keyturn server processes on one PostgreSQL', () => {
  it(`rotate ${APPS} app secrets and ${ROLES} PostgreSQL roles due at once exactly once each, one server killed with SIGKILL mid-cycle; no lockout`, { timeout: WAIT_MS + 20 * SPAWN_MS }, async () => {
    const s = await setup(APPS, ROLES);
    const total = APPS + ROLES;
    const env = {
      ...s.env,
      KEYTURN_SCHEDULER_INTERVAL_SECONDS: '1',
      KEYTURN_SCHEDULER_CONCURRENCY: '4',
      KEYTURN_SCHEDULER_TARGET_CONCURRENCY: '2',
      // A server that dies leaves its claims; the others take them once this has passed.
      KEYTURN_SCHEDULER_CLAIM_SECONDS: '3',
    };
    const servers: ServerProcess[] = [];
    cleanups.push(async () => {
      for (const p of servers) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    });
    for (let i = 0; i < 3; i++) servers.push(await startServerProcess(env));
    const logs = () => servers.map((p, i) => `server ${i} (pid ${p.child.pid}):\n${p.stderr().slice(-4000)}`).join('\n');

    // Every secret due at one instant a few seconds ahead: a cron that fires once.
    const at = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000);
    await s.apply(`{ cron: "${cronAt(at)}", timezone: UTC }`);
    const started = Date.now();

    // Mid-cycle: once a tenth has rotated, kill the second server while it holds rotations.
    await until('a tenth of the secrets rotated', async () => ((await rotateEvents(s.kt)).success.size >= total / 10 ? true : null), logs);
    const victim = servers[1]!;
    const held = await until(
      'the second server holding a rotation',
      async () => {
        const h = await leasesOf(s.kt, victim.child.pid!);
        if (h.length === 0) return null;
        victim.child.kill('SIGKILL');
        return h;
      },
      logs,
    );
    await victim.exited;
    // What it held when it died (its leases cannot change any more).
    const orphaned = await until("the dead server's leases read", async () => {
      const rows = await s.kt.state.db.selectFrom('leases').select(['name', 'holder', 'expires_at']).where('expires_at', '>', 0).execute();
      return rows.filter((r) => r.holder.split(':')[1] === String(victim.child.pid)).map((r) => r.name.replace(/^secret:/, ''));
    });
    expect(held.length).toBeGreaterThan(0);

    // The two others finish the cycle, the dead one's runs included.
    await until(
      `all ${total} secrets rotated`,
      async () => {
        const ev = await rotateEvents(s.kt);
        if (ev.success.size < total) return null;
        const active = await s.kt.state.db.selectFrom('runs').select('id').where('status', 'in', ['running', 'retrying']).execute();
        return active.length === 0 ? ev : null;
      },
      logs,
    );
    const seconds = (Date.now() - started) / 1000;

    const ev = await rotateEvents(s.kt);
    const paths = [...Array.from({ length: APPS }, (_, i) => `app/s${i}`), ...Array.from({ length: ROLES }, (_, i) => `db/r${i}`)];
    // Exactly once: one intent and one success per secret, no failure, nothing else rotated.
    const twice = paths.filter((p) => ev.success.get(p) !== 1 || ev.intent.get(p) !== 1);
    expect(
      twice,
      `not exactly once: ${twice
        .slice(0, 10)
        .map((p) => `${p} intent ${ev.intent.get(p)} success ${ev.success.get(p)}`)
        .join(', ')}`,
    ).toEqual([]);
    expect([...ev.success.keys()].filter((p) => !paths.includes(p))).toEqual([]);
    expect(ev.failure.size).toBe(0);
    const runs = await s.kt.state.db.selectFrom('runs').select(['path', 'status']).execute();
    expect(runs.filter((r) => r.status !== 'done')).toEqual([]);
    expect(runs).toHaveLength(total);
    // The dead server's runs were finished by the others (each done, and rotated once, above).
    for (const p of orphaned) expect(runs.find((r) => r.path === p)?.status, p).toBe('done');

    // No lockout: each role logs in with the password stored as current, and no longer with its first one.
    for (let i = 0; i < ROLES; i++) {
      const current = (await s.kt.store.get(`db/r${i}`, { stage: 'current' }))!.value as Credential;
      expect(await s.fx.logsIn(current), `db/r${i} logs in with its current password`).toBe(true);
      expect(current.username).toBe(s.roles[i]);
    }
    // Nothing is due any more: the next firing is a year away.
    expect(await s.kt.state.db.selectFrom('schedule_due').select('path').where('due_at', '<=', Date.now()).execute()).toEqual([]);

    for (const p of [servers[0]!, servers[2]!]) expect(await p.stop()).toBe(0);
    console.log(
      `scheduler-instances: ${APPS} app secrets + ${ROLES} PostgreSQL roles on 3 servers (one killed with ${held.length} rotations held, ${orphaned.length} leases left): all rotated once in ${seconds.toFixed(1)} s`,
    );
  });
});

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

/** `keyturn worker --json` as a real process; resolves once it says it started. */
async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--json'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then((code) => reject(new Error(`keyturn worker exited ${code} before starting: ${stderr}`)));
  });
  expect(JSON.parse(first)).toMatchObject({ worker: 'started', dialect: 'postgres' });
  return { child, exited, stderr: () => stderr };
}

/** The state of a process from /proc (T: stopped). */
function procState(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!;
}

describe('fencing: a worker paused past its lease', () => {
  it(
    'SIGSTOP just before it sets the password, past its lease: a second worker takes the run over and finishes it; resumed with SIGCONT, the first one is refused (KT_LEASE_LOST) and nothing is done twice',
    { timeout: WAIT_MS + 10 * SPAWN_MS },
    async () => {
      const s = await setup(0, 1);
      const path = 'db/r0';
      const env = { ...s.env, KEYTURN_LOG_LEVEL: 'info', KEYTURN_SCHEDULER_INTERVAL_SECONDS: '1', KEYTURN_SCHEDULER_CLAIM_SECONDS: '1', KEYTURN_LEASE_SECONDS: '3' };
      const workers: WorkerProcess[] = [];
      cleanups.push(() => {
        for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      });
      // The first worker stops itself (SIGSTOP) just before it sets the new password on the role.
      const first = await startWorker({ ...env, KEYTURN_CRASH_AT: 'set:before:stop' });
      workers.push(first);
      const pid = first.child.pid!;
      await s.apply(`{ cron: "${cronAt(new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000))}", timezone: UTC }`);
      await until(
        'the first worker stopped',
        async () => procState(pid) === 'T',
        () => first.stderr(),
      );
      const run = (await s.kt.state.db.selectFrom('runs').selectAll().where('path', '=', path).executeTakeFirst())!;
      expect(run).toMatchObject({ status: 'running', step: 'set' });
      const stolen = (await s.kt.state.db.selectFrom('leases').selectAll().where('name', '=', `secret:${path}`).executeTakeFirst())!;
      expect(stolen.holder.split(':')[1]).toBe(String(pid));

      // A second worker: once the lease has expired (the first one is alive but stopped), it resumes the run and finishes it.
      const second = await startWorker(env);
      workers.push(second);
      await until(
        'the second worker finished the run',
        async () => (await s.kt.state.db.selectFrom('runs').select('status').where('id', '=', run.id).executeTakeFirst())?.status === 'done',
        () => second.stderr(),
      );
      const lease = (await s.kt.state.db.selectFrom('leases').selectAll().where('name', '=', `secret:${path}`).executeTakeFirst())!;
      expect(Number(lease.token)).toBeGreaterThan(Number(stolen.token));
      const current = (await s.kt.store.get(path, { stage: 'current' }))!;

      // Resumed: it finds its lease taken over before it touches the role, and stops (KT_LEASE_LOST); any write of it would be refused too.
      first.child.kill('SIGCONT');
      await until(
        'the first worker refused with KT_LEASE_LOST',
        async () => first.stderr().includes('KT_LEASE_LOST'),
        () => first.stderr(),
      );
      const ev = await rotateEvents(s.kt);
      expect([ev.intent.get(path), ev.success.get(path), ev.failure.get(path)]).toEqual([1, 1, undefined]);
      const runs = await s.kt.state.db.selectFrom('runs').select(['id', 'status']).where('path', '=', path).execute();
      expect(runs).toEqual([{ id: run.id, status: 'done' }]);
      const after = (await s.kt.store.get(path, { stage: 'current' }))!;
      expect(after.id).toBe(current.id);
      expect(await s.kt.store.get(path, { stage: 'pending' })).toBeNull();
      expect(await s.fx.logsIn(after.value as Credential)).toBe(true);
      const versions = await s.kt.store.versions(path);
      expect(versions).toHaveLength(2);

      // Both drain on SIGTERM.
      for (const w of workers) {
        w.child.kill('SIGTERM');
        expect(await w.exited).toBe(0);
      }
    },
  );
});
