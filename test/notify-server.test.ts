/**
 * Notifications sent by `keyturn server` as a real process (the built CLI), to a real receiver
 * on 127.0.0.1 that checks the signature as docs/notifications.md says: a rotation that fails
 * while the server runs is delivered once by the server's job and counted in /metrics; one that
 * failed while no server ran is delivered when a server starts (the audit log is the source);
 * a server killed with SIGKILL in the middle of a delivery leaves it to the next server, which
 * sends it again with the same delivery id once the claim's lease is over (at least once).
 * Every wait is on a condition (the receiver's requests, the outbox), never a fixed sleep.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli, SPAWN_MS, startServerProcess, type ServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';
import { failingConfig, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = 'whsec_server_key_5b2a';
const MARKER = 'SERVER-VALUE-MARKER-99';
const WAIT = { timeout: 60_000, interval: 50 };

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(channelExtra = ''): Promise<{ env: Record<string, string>; hook: WebhookReceiver; dir: string }> {
  const tmp = tempDir('keyturn-notify-server-');
  cleanups.push(() => tmp.remove());
  const hook = await webhookReceiver({ secret: SECRET });
  cleanups.push(() => hook.close());
  const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', KEYTURN_NOTIFY_INTERVAL_MS: '100', HOOK_SECRET: SECRET };
  expect((await runCli(['init'], { env })).code).toBe(0);
  const yaml = failingConfig({
    password: MARKER,
    channels: `    ops:
      url: ${hook.url}
      signingSecret: "\${env:HOOK_SECRET}"
      retry: { attempts: 5, backoffBaseMs: 100, backoffCapMs: 200 }
${channelExtra}`,
  });
  const applied = await runCli(['apply', '-f', '-'], { env, stdin: yaml });
  expect(applied.code, applied.stderr).toBe(0);
  return { env, hook, dir: tmp.dir };
}

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await startServerProcess(env);
  cleanups.push(() => s.stop());
  return s;
}

function outbox(env: Record<string, string>): Array<{ id: string; status: string; attempts: number }> {
  const db = new DatabaseSync(join(env.KEYTURN_HOME!, 'keyturn.db'));
  try {
    return db.prepare('SELECT id, status, attempts FROM notify_outbox ORDER BY created_at').all() as Array<{ id: string; status: string; attempts: number }>;
  } finally {
    db.close();
  }
}

describe('keyturn server sends notifications', () => {
  it('a rotation failing while the server runs is delivered once, signed, and counted in /metrics', { timeout: 3 * SPAWN_MS }, async () => {
    const { env, hook } = await setup();
    const s = await server(env);
    const rotated = await runCli(['rotate', 'db/dead', '--json'], { env });
    expect(rotated.code).toBe(1);
    await hook.waitFor((r) => r.length >= 1);
    await vi.waitFor(() => expect(outbox(env).map((r) => r.status)).toEqual(['delivered']), WAIT);
    const r = hook.received[0]!;
    expect(r.verified).toBe(true);
    expect(r.json).toMatchObject({ type: 'failure', channel: 'ops', path: 'db/dead', outcome: 'failure' });
    expect(r.body).not.toContain(MARKER);
    // The event is behind the cursor and its row delivered: nothing more can come of it.
    const db = new DatabaseSync(join(env.KEYTURN_HOME!, 'keyturn.db'));
    try {
      const cursor = db.prepare("SELECT next_seq FROM notify_cursor WHERE name = 'audit'").get() as { next_seq: number };
      const seq = Number(String(r.json.auditEventId).split('_')[1]);
      expect(Number(cursor.next_seq)).toBeGreaterThan(seq);
    } finally {
      db.close();
    }
    const metrics = await (await fetch(`${s.listening}/metrics`)).text();
    expect(metrics).toContain('keyturn_notifications_total{channel="ops",result="delivered"} 1');
    expect(hook.received).toHaveLength(1);
  });

  it('a rotation that failed while no server ran is delivered when a server starts', { timeout: 3 * SPAWN_MS }, async () => {
    const { env, hook } = await setup();
    expect((await runCli(['rotate', 'db/dead'], { env })).code).toBe(1);
    expect(hook.received).toHaveLength(0);
    await server(env);
    await hook.waitFor((r) => r.length >= 1);
    await vi.waitFor(() => expect(outbox(env).map((r) => [r.status, r.attempts])).toEqual([['delivered', 1]]), WAIT);
    expect(hook.received[0]!.verified).toBe(true);
    expect(hook.received[0]!.json).toMatchObject({ type: 'failure', path: 'db/dead' });
  });

  it('a server killed with SIGKILL mid-delivery leaves the notification to the next server: sent again with the same delivery id', { timeout: 4 * SPAWN_MS }, async () => {
    // A 3 s request limit: the claim's lease is 2 × 3 s + 5 s.
    const { env, hook } = await setup('      timeoutMs: 3000\n');
    hook.hang(true);
    const first = await server(env);
    expect((await runCli(['rotate', 'db/dead'], { env })).code).toBe(1);
    await hook.waitFor((r) => r.length >= 1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(outbox(env).map((r) => r.status)).toEqual(['pending']);
    hook.hang(false);
    await server(env);
    await vi.waitFor(() => expect(outbox(env).map((r) => r.status)).toEqual(['delivered']), WAIT);
    const answered = hook.received.filter((r) => r.answered !== null);
    expect(answered).toHaveLength(1);
    expect(answered[0]!.headers['keyturn-delivery']).toBe(hook.received[0]!.headers['keyturn-delivery']);
    expect(answered[0]!.headers['keyturn-attempt']).toBe(String(outbox(env)[0]!.attempts));
    expect(answered[0]!.verified).toBe(true);
    expect(new Set(hook.received.map((r) => r.headers['keyturn-delivery'])).size).toBe(1);
  });
});
