/**
 * `keyturn report audit` through the CLI on a real home (PostgreSQL target on the password
 * cluster): real reads of a secret whose value is a planted marker, a real rotation that succeeds
 * and a real one that fails (the stored admin password no longer logs in; attempts: 1, so the run
 * fails at once with KT_TARGET_AUTH_FAILED), real policy and token changes; and, appended through
 * the audit API because no local CLI path makes them (a denied read needs a token through a
 * server, break-glass needs the server's approvals, a cleanup needs an alternating pair): denied
 * reads, a cleanup, break-glass request and grant, and one read two days old. Then the report in
 * every format: counts, the window, escaping, no value anywhere, the refusal of a tampered log,
 * and the refusal through a server.
 */
import { AnomaliesRepo } from '../src/detect/anomalies-repo.js';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../src/audit/event.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { tempDir } from './helpers/state.js';

const MARKER = 'MARKER-d1c3a9-never-in-a-report';
const XSS = 'app/<script>alert(1)</script>';
const HOUR = 3_600_000;

let fx: RotationFixture<'postgres'>;
let env: Record<string, string>;
let work: ReturnType<typeof tempDir>;

async function ok(argv: string[], stdin?: string): Promise<CliResult> {
  const r = await runCli(argv, { env, ...(stdin === undefined ? {} : { stdin }) });
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

interface Report {
  events: number;
  window: { since: string; until: string };
  verification: { size: number; checkpointSize: number; checkpointRoot: string; checkpointTime: string | null };
  reads: { actor: string; path: string; success: number; denied: number; failure: number }[];
  rotations: { path: string; intent: number; success: number; failure: number; denied: number; errorCodes: Record<string, number> }[];
  cleanups: { path: string; intent: number; success: number; failure: number; errorCodes: Record<string, number> }[];
  failures: { events: { action: string; path: string | null; outcome: string; errorCode: string | null }[]; omitted: number };
  breakglass: { events: { action: string; path: string | null }[]; omitted: number };
  accessChanges: { events: { action: string }[]; omitted: number };
  anomalies: { events: { action: string; actor: string; path: string | null }[]; omitted: number };
}

beforeAll(async () => {
  work = tempDir('keyturn-report-');
  fx = await rotationFixture('postgres', 'single-user', { secretExtra: '    rotation: { attempts: 1 }\n' });
  env = { ...fx.env, KEYTURN_LOG_LEVEL: 'silent' };
  await ok(['secret', 'put', 'app/marker', '--value', MARKER]);
  await ok(['secret', 'get', 'app/marker']);
  await ok(['secret', 'get', 'app/marker', '--json']);
  const rotated = await ok(['rotate', fx.path, '--json']);
  expect(rotated.stdout).toContain('"done"');
  // A real failed rotation: the stored admin password no longer logs in.
  await ok(['secret', 'put', 'admin/db', '--field', `username=${fx.target.admin?.username ?? ''}`, '--field', 'password=not-the-password-1A!']);
  const failed = await runCli(['rotate', fx.path, '--json'], { env });
  expect(failed.code, failed.stderr).not.toBe(0);
  expect(failed.stderr).toContain('KT_TARGET_AUTH_FAILED');
  await ok(['policy', 'put', 'app-read', '-f', '-'], 'rules:\n  - path: app/*\n    capabilities: [read, list]\n');
  await ok(['token', 'create', '--policy', 'app-read', '--description', 'report test', '--json']);
  const kt = await openKeyturn(loadSettings(env), { audit: { actor: 'user:fixture', source: 'cli', correlationId: 'fixture' } });
  try {
    const now = Date.now();
    const a = kt.audit;
    await a.append({ actor: 'token:ci', action: 'secret.read', path: 'app/marker', outcome: 'denied', errorCode: 'KT_ACCESS_DENIED' });
    await a.append({ actor: 'token:ci', action: 'secret.read', path: 'app/marker', outcome: 'denied', errorCode: 'KT_ACCESS_DENIED' });
    await a.append({ actor: 'token:ci', action: 'secret.read', path: XSS, outcome: 'success' });
    await a.append({ actor: 'system:scheduler', action: 'secret.cleanup', path: fx.path, outcome: 'success', runId: 'run_clean' });
    await a.append({ actor: 'user:bob', action: 'breakglass.request', path: 'app/marker', outcome: 'success', runId: 'bg_1' });
    await a.append({ actor: 'user:carol', action: 'breakglass.grant', path: 'app/marker', outcome: 'success', runId: 'bg_1' });
    // An anomaly as keyturn server's detectors record it.
    await new AnomaliesRepo(kt.state, a, kt.clock).record({
      type: 'unusual-time',
      seq: (await a.head()).size - 1,
      time: now,
      actor: 'token:ci',
      path: 'app/marker',
      address: '203.0.113.9',
      score: 2,
      reason: 'token:ci read app/marker at an hour it was never active',
      details: { hourOfWeek: 3 },
    });
    // Two days old: outside --hours 24, inside --since three days ago.
    await a.append({ time: new Date(now - 48 * HOUR), actor: 'user:old', action: 'secret.read', path: 'app/old', outcome: 'success' });
    await a.checkpoint();
  } finally {
    await kt.close();
  }
}, 120_000);

afterAll(async () => {
  await fx?.close();
  work?.remove();
});

async function reportJson(extra: string[] = []): Promise<Report> {
  return JSON.parse((await ok(['report', 'audit', '--format', 'json', ...extra])).stdout) as Report;
}

describe('keyturn report audit', () => {
  it('counts reads by actor and path, allowed and denied, within --hours 24 only', async () => {
    const r = await reportJson(['--hours', '24']);
    const denied = r.reads.find((x) => x.actor === 'token:ci' && x.path === 'app/marker');
    expect(denied).toEqual({ actor: 'token:ci', path: 'app/marker', success: 0, denied: 2, failure: 0 });
    const allowed = r.reads.filter((x) => x.path === 'app/marker' && x.actor !== 'token:ci');
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ success: 2, denied: 0 });
    expect(r.reads.some((x) => x.path === 'app/old')).toBe(false);
    expect(r.anomalies.events.map((e) => [e.action, e.actor, e.path])).toEqual([['anomaly.unusual-time', 'token:ci', 'app/marker']]);
  });

  it('reports the real rotation, the failed one with its error code, and the cleanup', async () => {
    const r = await reportJson();
    expect(r.rotations).toEqual([{ path: fx.path, intent: 2, success: 1, failure: 1, denied: 0, errorCodes: { KT_TARGET_AUTH_FAILED: 1 } }]);
    expect(r.cleanups).toEqual([{ path: fx.path, intent: 0, success: 1, failure: 0, denied: 0, errorCodes: {} }]);
    expect(r.failures.events.map((e) => [e.action, e.path, e.outcome, e.errorCode])).toEqual([
      ['secret.rotate', fx.path, 'failure', 'KT_TARGET_AUTH_FAILED'],
      ['secret.read', 'app/marker', 'denied', 'KT_ACCESS_DENIED'],
      ['secret.read', 'app/marker', 'denied', 'KT_ACCESS_DENIED'],
    ]);
    expect(r.breakglass.events.map((e) => e.action)).toEqual(['breakglass.request', 'breakglass.grant']);
    expect(r.accessChanges.events.map((e) => e.action)).toEqual(['config.target.create', 'config.policy.create', 'config.policy.create', 'access.policy.put', 'access.token.create']);
  });

  it('names the checkpoint it verified against, and --since takes the older event in', async () => {
    const r = await reportJson(['--since', new Date(Date.now() - 72 * HOUR).toISOString()]);
    expect(r.reads.find((x) => x.path === 'app/old')).toMatchObject({ actor: 'user:old', success: 1 });
    const cp = JSON.parse((await ok(['audit', 'verify', '--json'])).stdout) as { latest: { size: number; root: string } };
    expect(r.verification.checkpointSize).toBe(cp.latest.size);
    expect(r.verification.checkpointRoot).toBe(cp.latest.root);
    expect(Date.parse(r.verification.checkpointTime ?? '')).toBeGreaterThan(0);
    const day = await reportJson(['--hours', '24']);
    expect(r.events).toBe(day.events + 1);
  });

  it('text, CSV (RFC 4180, CRLF) and HTML (escaped, no script) say the same, with no value', async () => {
    const text = (await ok(['report', 'audit'])).stdout;
    expect(text).toMatch(/Verified against the signed checkpoint at size \d+, root \S+, signed \d{4}-/);
    expect(text).toContain('KT_TARGET_AUTH_FAILED');
    expect(text).toMatch(/Access anomalies[^\n]*:\nSEQ[^\n]*\n[^\n]*token:ci +anomaly\.unusual-time +app\/marker/);
    const csv = (await ok(['report', 'audit', '--format', 'csv'])).stdout;
    const lines = csv.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(csv.replaceAll('\r\n', '')).not.toContain('\n');
    expect(lines[0]).toBe('"section","actor","path","action","outcome","errorCode","count","seq","time","detail"');
    expect(lines).toContain('"reads","token:ci","app/marker","secret.read","denied","","2","","",""');
    expect(lines).toContain(`"rotations","","${fx.path}","secret.rotate","failure","","1","","",""`);
    expect(lines).toContain(`"rotations","","${fx.path}","secret.rotate","","KT_TARGET_AUTH_FAILED","1","","",""`);
    const file = join(work.dir, 'report.html');
    const r = await ok(['report', 'audit', '--format', 'html', '--output', file]);
    expect(r.stdout).toBe('');
    const html = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(html).toContain('app/&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link|src=|href=/i);
    expect(html).toContain('<style>');
    const json = (await ok(['report', 'audit', '--json'])).stdout;
    // Stable keys: the top-level keys come sorted.
    expect(Object.keys(JSON.parse(json) as object)).toEqual([...Object.keys(JSON.parse(json) as object)].sort());
    for (const out of [text, csv, html, json]) expect(out).not.toContain(MARKER);
  });

  it('refuses to report on a tampered log (KT_AUDIT_VERIFY_FAILED, exit 1) and prints nothing', async () => {
    const tmp = tempDir();
    try {
      const { cpSync } = await import('node:fs');
      const home = join(tmp.dir, 'home');
      cpSync(fx.home, home, { recursive: true });
      const db = new DatabaseSync(join(home, 'keyturn.db'));
      try {
        const row = db.prepare('SELECT leaf FROM audit_leaves WHERE seq = 1').get() as { leaf: string };
        const forged = encodeEvent({ ...decodeEvent(Buffer.from(row.leaf, 'utf8')), actor: 'user:mallory' }).toString('utf8');
        db.prepare('UPDATE audit_leaves SET leaf = ? WHERE seq = 1').run(forged);
      } finally {
        db.close();
      }
      const r = await runCli(['report', 'audit', '--format', 'json'], { env: { ...env, KEYTURN_HOME: home } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('KT_AUDIT_VERIFY_FAILED');
      expect(r.stderr).not.toContain(MARKER);
    } finally {
      tmp.remove();
    }
  });

  it('is local only: through a server it is refused with KT_REMOTE_UNSUPPORTED', async () => {
    const r = await runCli(['report', 'audit', '--json'], { env: { ...env, KEYTURN_ADDR: 'http://127.0.0.1:9', KEYTURN_TOKEN: 'kt_unused' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('KT_REMOTE_UNSUPPORTED');
  });

  it('refuses bad usage and documents itself', async () => {
    const both = await runCli(['report', 'audit', '--hours', '1', '--since', '2025-01-01T00:00:00Z'], { env });
    expect(both.code).toBe(2);
    const fmt = await runCli(['report', 'audit', '--format', 'pdf'], { env });
    expect(fmt.code).toBe(2);
    const help = await runCli(['report', 'audit', '--help'], { env });
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('KT_AUDIT_VERIFY_FAILED');
  });
});

describe('keyturn report audit on a larger log (SQLite home, no target)', () => {
  it('reads the window across pages (10,005 events > one 10,000-row page) and caps each list at 1000', async () => {
    const tmp = tempDir();
    try {
      const home = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
      expect((await runCli(['init'], { env: home })).code).toBe(0);
      // A fresh home already reports: init signs the first checkpoint.
      const fresh = await runCli(['report', 'audit', '--json'], { env: home });
      expect(fresh.code, fresh.stderr).toBe(0);
      expect((JSON.parse(fresh.stdout) as Report).reads).toEqual([]);
      const kt = await openKeyturn(loadSettings(home), { audit: { actor: 'token:scanner', source: 'api', correlationId: null } });
      try {
        const denied = { action: 'secret.read', path: 'prod/db', outcome: 'denied' as const, errorCode: 'KT_ACCESS_DENIED' };
        for (let i = 0; i < 10; i++) await kt.audit.appendBatch(Array.from({ length: 1000 }, () => denied));
        await kt.audit.appendBatch(Array.from({ length: 5 }, () => denied));
        await kt.audit.checkpoint();
      } finally {
        await kt.close();
      }
      const r = JSON.parse((await runCli(['report', 'audit', '--json'], { env: home })).stdout) as Report;
      expect(r.reads).toEqual([{ actor: 'token:scanner', path: 'prod/db', success: 0, denied: 10_005, failure: 0 }]);
      expect(r.failures.events).toHaveLength(1000);
      expect(r.failures.omitted).toBe(9005);
      const text = (await runCli(['report', 'audit'], { env: home })).stdout;
      expect(text).toContain('… and 9005 more');
      expect(text).not.toContain('not yet under a signed checkpoint');
      // One more event, no checkpoint: the report says what the checkpoint does not cover.
      const kt2 = await openKeyturn(loadSettings(home), { audit: { actor: 'token:scanner', source: 'api', correlationId: null } });
      try {
        await kt2.audit.append({ action: 'secret.read', path: 'prod/db', outcome: 'success' });
      } finally {
        await kt2.close();
      }
      const later = (await runCli(['report', 'audit'], { env: home })).stdout;
      expect(later).toContain('1 entry after it was checked by their MACs but are not yet under a signed checkpoint');
    } finally {
      tmp.remove();
    }
  }, 60_000);
});
