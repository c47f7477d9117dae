/**
 * Webhook notifications on a real home, in-process, against a real HTTP receiver on 127.0.0.1
 * that checks each request's signature as docs/notifications.md says (test/helpers/webhook-receiver.ts):
 * a failed rotation (a PostgreSQL target on a closed port) gives exactly one notification, signed,
 * with the run, the error code and message and never a value; a 500 then a 200 is retried and
 * delivered once; a Slack channel gets `{text, blocks}`; successes only where asked; path
 * prefixes; expiry warnings once per cycle and escalations once per failing period, on a manual
 * clock; a removed channel's notifications are dropped; two instances on one PostgreSQL send each
 * notification once. Passes are run by hand (`notifyPass`), so nothing waits on a timer.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { DAY_MS, manualClock, type ManualClock } from '../src/core/clock.js';
import { deliverOutbox } from '../src/notify/deliver.js';
import { fillFromAudit } from '../src/notify/fill.js';
import { notifyPass } from '../src/notify/pass.js';
import { engineAuditPort } from '../src/audit/hooks.js';
import { defaultContext } from '../src/audit/context.js';
import { refResolver } from '../src/notify/refs.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { applyYaml, dropSchema, PG_URL, tempDir } from './helpers/state.js';
import { docsSnippet, failingConfig, verifyKeyturnSignature, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import pg from 'pg';

/** Planted in every value: it must never reach a notification. */
const MARKER = 'VALUE-MARKER-7d1f0c';
const SECRET = 'whsec_test_signing_key';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh home opened in-process on `clock`, with HOOK_SECRET in its environment. */
async function home(options: { clock?: ManualClock; env?: Record<string, string> } = {}): Promise<{ kt: Keyturn; env: Record<string, string> }> {
  const tmp = tempDir('keyturn-notify-');
  const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', HOOK_SECRET: SECRET, ...options.env };
  await initHome(loadSettings(env));
  const kt = await openKeyturn(loadSettings(env), options.clock ? { clock: options.clock } : {});
  cleanups.push(async () => {
    await kt.close();
    tmp.remove();
  });
  return { kt, env };
}

async function receiver(): Promise<WebhookReceiver> {
  const r = await webhookReceiver({ secret: SECRET });
  cleanups.push(() => r.close());
  return r;
}

/** A keyturn.yaml with a dead PostgreSQL target (closed port, one attempt) and the channels given. */
function config(channels: string, extraSecrets = ''): string {
  const secrets = `  db/dead2:
    type: database-credential
    target: dead-pg
    rotation: { attempts: 1 }
    initial: { username: app2, password: "${MARKER}-pw2" }
  app/token:
    type: app-secret
${extraSecrets}`;
  return failingConfig({ password: `${MARKER}-pw`, channels, secrets });
}

function channel(name: string, url: string, extra = ''): string {
  return `    ${name}:\n      url: ${url}\n      signingSecret: "\${env:HOOK_SECRET}"\n      retry: { attempts: 3, backoffBaseMs: 1000, backoffCapMs: 1000 }\n${extra}`;
}

async function failRotation(kt: Keyturn, path = 'db/dead'): Promise<string> {
  const run = await (await kt.engine()).rotate(path);
  expect(run.status, JSON.stringify(run)).toBe('failed');
  return run.id;
}

async function outbox(kt: Keyturn) {
  return kt.state.db.selectFrom('notify_outbox').selectAll().orderBy('created_at').execute();
}

describe('notifications from failed rotations', () => {
  it('a failed rotation gives exactly one signed notification with the run, the error and no value', async () => {
    const hook = await receiver();
    const { kt } = await home();
    await applyYaml(kt, config(channel('ops', hook.url)));
    const runId = await failRotation(kt);
    const first = await notifyPass(kt);
    expect(first.queued.events).toBe(1);
    expect(first.sent.delivered).toBe(1);
    // More passes add nothing: the cursor moved, the row is delivered.
    await notifyPass(kt);
    await notifyPass(kt);
    expect(hook.received).toHaveLength(1);
    const r = hook.received[0]!;
    expect(r.verified).toBe(true);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['keyturn-event']).toBe('failure');
    expect(r.headers['keyturn-delivery']).toMatch(/^ntf_[0-9a-f]{32}$/);
    expect(r.headers['keyturn-attempt']).toBe('1');
    expect(r.json).toMatchObject({
      id: r.headers['keyturn-delivery'],
      type: 'failure',
      channel: 'ops',
      path: 'db/dead',
      runId,
      outcome: 'failure',
      error: { code: expect.stringMatching(/^KT_TARGET_/) as unknown, step: expect.any(String) as unknown },
      auditEventId: expect.stringMatching(/^ev_/) as unknown,
      details: null,
    });
    expect((r.json.error as { message: string }).message.length).toBeGreaterThan(0);
    expect(Date.parse(r.json.time as string)).toBeGreaterThan(0);
    expect(r.body).not.toContain(MARKER);
    expect(JSON.stringify(r.headers)).not.toContain(MARKER);
    expect(r.body + JSON.stringify(await outbox(kt))).not.toContain(SECRET);
    const rows = await outbox(kt);
    expect(rows.map((x) => [x.status, x.attempts, x.last_status])).toEqual([['delivered', 1, 204]]);
    // The docs' check refuses a changed body, another secret, and a timestamp outside the window.
    const header = String(r.headers['keyturn-signature']);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyKeyturnSignature(SECRET, r.body, header)).toBe(true);
    expect(verifyKeyturnSignature(SECRET, r.body.replace('failure', 'success'), header)).toBe(false);
    expect(verifyKeyturnSignature('another-secret', r.body, header)).toBe(false);
    const old = Math.floor(Date.now() / 1000) - 600;
    expect(verifyKeyturnSignature(SECRET, r.body, `t=${old},v1=${createHmac('sha256', SECRET).update(`${old}.${r.body}`).digest('hex')}`)).toBe(false);
    // The docs' Python check accepts the same request, and refuses it changed.
    // (.ci/run installs python3: this check never quietly drops out.)
    const program = `${docsSnippet('Python:')}\nimport sys\nbody = sys.stdin.buffer.read()\nprint(verify_keyturn_signature(sys.argv[1].encode(), body, sys.argv[2]), verify_keyturn_signature(sys.argv[1].encode(), body + b" ", sys.argv[2]))\n`;
    const out = spawnSync('python3', ['-c', program, SECRET, header], { input: r.body, encoding: 'utf8' });
    expect(out.error, 'python3 is needed (.ci/run installs it)').toBeUndefined();
    expect(out.stdout.trim(), out.stderr).toBe('True False');
  });

  it('a failed cleanup after grace (the previous credential still works) is a failure notification of its own, and opens no failing period', async () => {
    const hook = await receiver();
    const { kt } = await home();
    await applyYaml(kt, config(channel('ops', hook.url, '      format: slack\n')));
    // A done rotation of the app secret, then the engine's record of a refused cleanup of the version it replaced.
    const run = await (await kt.engine()).rotate('app/token');
    expect(run.status).toBe('done');
    const engine = await kt.engine();
    const detail = 'app/token: the current credential (app, version 2) does not log in, so its previous one is kept';
    await engine.runs.advance(run, {}, { step: 'cleanup', attempt: 1, outcome: 'failed', errorCode: 'KT_CLEANUP_UNSAFE', detail, startedAt: kt.clock.now() }, undefined, async (trx) => {
      await engineAuditPort(kt.audit, defaultContext()).record(
        { action: 'cleanup', path: 'app/token', outcome: 'failure', runId: run.id, correlationId: run.correlationId, versionId: run.fromVersionId, errorCode: 'KT_CLEANUP_UNSAFE' },
        trx,
      );
    });
    const pass = await notifyPass(kt);
    expect(pass.sent.delivered).toBe(1);
    const r = hook.received[0]!;
    expect(r.headers['keyturn-event']).toBe('failure');
    expect(r.json.text).toBe('Keyturn: the previous credential of app/token could not be ended after its grace period (KT_CLEANUP_UNSAFE)');
    expect(JSON.stringify(r.json.blocks)).toContain('at step `cleanup`');
    expect(JSON.stringify(r.json.blocks)).toContain('does not log in');
    expect(JSON.stringify(r.json.blocks)).toContain(`*versionId:* ${run.fromVersionId}`);
    expect(await kt.state.db.selectFrom('notify_failing').selectAll().execute()).toEqual([]);
  });

  it('a receiver answering 500 then 200 gets the notification retried and delivered once, with the same delivery id', async () => {
    const hook = await receiver();
    hook.answer(500);
    const clock = manualClock(Date.now());
    const { kt } = await home({ clock });
    await applyYaml(kt, config(channel('ops', hook.url)));
    await failRotation(kt);
    const first = await notifyPass(kt);
    expect(first.sent).toEqual({ delivered: 0, retrying: 1, failed: 0, dropped: 0 });
    let [row] = await outbox(kt);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_status: 500, last_error: 'HTTP 500' });
    // Not due yet: the backoff (at most 1 s here) is on the manual clock.
    expect(Number(row!.next_attempt_at)).toBeGreaterThanOrEqual(clock.now());
    expect(Number(row!.next_attempt_at)).toBeLessThanOrEqual(clock.now() + 1000);
    clock.advance(1000);
    const second = await notifyPass(kt);
    expect(second.sent.delivered).toBe(1);
    await notifyPass(kt);
    expect(hook.received.map((r) => r.answered)).toEqual([500, 204]);
    expect(hook.received[0]!.headers['keyturn-delivery']).toBe(hook.received[1]!.headers['keyturn-delivery']);
    expect(hook.received[1]!.headers['keyturn-attempt']).toBe('2');
    expect(hook.received[1]!.body).toBe(hook.received[0]!.body);
    expect(hook.received.every((r) => r.verified === true)).toBe(true);
    [row] = await outbox(kt);
    expect(row).toMatchObject({ status: 'delivered', attempts: 2, last_status: 204, last_error: null });
  });

  it("gives up after the channel's attempts, and at once on a 4xx", async () => {
    const hook = await receiver();
    hook.answer(503, 503, 503, 400);
    const clock = manualClock(Date.now());
    const { kt } = await home({ clock });
    await applyYaml(kt, config(channel('ops', hook.url)));
    await failRotation(kt);
    for (let i = 0; i < 3; i++) {
      await notifyPass(kt);
      clock.advance(1000);
    }
    expect((await outbox(kt)).map((r) => [r.status, r.attempts, r.last_error])).toEqual([['failed', 3, 'HTTP 503 (gave up after 3 tries)']]);
    await failRotation(kt, 'db/dead2');
    await notifyPass(kt);
    expect((await outbox(kt)).map((r) => [r.status, r.last_error])).toEqual([
      ['failed', 'HTTP 503 (gave up after 3 tries)'],
      ['failed', 'HTTP 400 (not retried)'],
    ]);
    expect(hook.received).toHaveLength(4);
  });

  it('a Slack channel gets {text, blocks}; successes only where asked; paths filter; a removed channel is dropped', async () => {
    const hook = await receiver();
    const { kt } = await home();
    const channels =
      channel('chat', hook.url.replace('/hook', '/slack'), '      format: slack\n      events: [failure, success]\n') +
      channel('db-only', hook.url.replace('/hook', '/db'), '      paths: [db]\n') +
      channel('app-only', hook.url.replace('/hook', '/app'), '      paths: [app]\n      events: [failure]\n');
    await applyYaml(kt, config(channels));
    await failRotation(kt);
    const ok = await (await kt.engine()).rotate('app/token');
    expect(ok.status).toBe('done');
    await notifyPass(kt);
    const slack = hook.received.filter((r) => r.path === '/slack');
    expect(slack.map((r) => r.headers['keyturn-event']).sort()).toEqual(['failure', 'success']);
    const failure = slack.find((r) => r.headers['keyturn-event'] === 'failure')!;
    expect(failure.verified).toBe(true);
    expect(Object.keys(failure.json).sort()).toEqual(['blocks', 'text']);
    expect(failure.json.text).toMatch(/^Keyturn: rotation of db\/dead failed \(KT_TARGET_[A-Z_]+\)$/);
    const blocks = failure.json.blocks as Array<{ type: string; text?: { type: string; text: string }; elements?: Array<{ text: string }> }>;
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(blocks[0]!.text).toMatchObject({ type: 'plain_text', text: ':x: Rotation failed: db/dead' });
    expect(blocks[1]!.text!.type).toBe('mrkdwn');
    expect(blocks[1]!.text!.text).toContain('*Secret:* `db/dead`');
    expect(blocks[2]!.elements![0]!.text).toContain(`delivery ${String(failure.headers['keyturn-delivery'])}`);
    const success = slack.find((r) => r.headers['keyturn-event'] === 'success')!;
    expect(success.json.text).toBe('Keyturn: app/token was rotated');
    // The JSON channels: db-only heard the failure of db/dead, app-only nothing (no app failure; no success asked).
    const plain = hook.received.filter((r) => r.path !== '/slack');
    expect(plain.map((r) => [r.path, r.json.channel, r.json.type, r.json.path])).toEqual([['/db', 'db-only', 'failure', 'db/dead']]);
    expect(hook.received.every((r) => !r.body.includes(MARKER))).toBe(true);

    // Removing a channel drops what it still had queued.
    hook.answer(500);
    await failRotation(kt, 'db/dead2');
    await notifyPass(kt);
    await applyYaml(kt, config(channel('app-only', hook.url.replace('/hook', '/app'), '      paths: [app]\n')));
    const pending = (await outbox(kt)).filter((r) => r.status === 'pending');
    expect(pending.length).toBeGreaterThan(0);
    await kt.state.db.updateTable('notify_outbox').set({ next_attempt_at: 0 }).where('status', '=', 'pending').execute();
    const after = await notifyPass(kt);
    expect(after.sent.dropped).toBe(pending.length);
  });
});

describe('expiry warnings and escalations on a manual clock', () => {
  it('an expiry warning is sent once per cycle, and again after the next rotation', async () => {
    const hook = await receiver();
    const clock = manualClock(Date.parse('2026-03-01T00:00:00Z'));
    const { kt } = await home({ clock });
    const schedule = '    schedule: { manual: true, maxAge: 10d, expiryWarning: 3d }\n';
    const yaml = config(channel('ops', hook.url, '      events: [expiry-warning]\n')).replace('  app/token:\n    type: app-secret\n', `  app/token:\n    type: app-secret\n${schedule}`);
    await applyYaml(kt, yaml);
    const created = clock.now();
    await notifyPass(kt);
    clock.set(created + 7 * DAY_MS - 1000);
    await notifyPass(kt);
    expect(hook.received).toHaveLength(0);
    clock.set(created + 7 * DAY_MS);
    expect((await notifyPass(kt)).queued.expiryWarnings).toBe(1);
    for (const t of [7.5, 9, 10, 12]) {
      // Still this cycle: warning, then overdue, never a second message.
      clock.set(created + t * DAY_MS);
      expect((await notifyPass(kt)).queued.expiryWarnings).toBe(0);
    }
    expect(hook.received).toHaveLength(1);
    const w = hook.received[0]!;
    expect(w.verified).toBe(true);
    expect(w.json).toMatchObject({
      type: 'expiry-warning',
      path: 'app/token',
      outcome: 'warning',
      runId: null,
      error: null,
      details: {
        status: 'warning',
        lastRotationAt: new Date(created).toISOString(),
        warningAt: new Date(created + 7 * DAY_MS).toISOString(),
        overdueAt: new Date(created + 10 * DAY_MS).toISOString(),
        maxAge: '10d',
        expiryWarning: '3d',
      },
    });
    // A rotation starts a new cycle: one more warning, 7 days after it.
    const rotatedAt = clock.now();
    expect((await (await kt.engine()).rotate('app/token')).status).toBe('done');
    clock.set(rotatedAt + 7 * DAY_MS - 1);
    await notifyPass(kt);
    expect(hook.received).toHaveLength(1);
    clock.set(rotatedAt + 11 * DAY_MS);
    await notifyPass(kt);
    await notifyPass(kt);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.json).toMatchObject({ outcome: 'overdue', details: { lastRotationAt: new Date(rotatedAt).toISOString() } });
    expect(hook.received.every((r) => !r.body.includes(MARKER))).toBe(true);
  });

  it('an escalation is sent once a secret has failed for escalateAfter, once per failing period', async () => {
    const hook = await receiver();
    const clock = manualClock(Date.now());
    const { kt } = await home({ clock });
    await applyYaml(kt, config(channel('ops', hook.url, '      events: [escalation]\n      escalateAfter: 6h\n')));
    const since = clock.now();
    const runId = await failRotation(kt);
    clock.set(since + 6 * 3_600_000 - 1000);
    expect((await notifyPass(kt)).queued.escalations).toBe(0);
    clock.set(since + 6 * 3_600_000);
    expect((await notifyPass(kt)).queued.escalations).toBe(1);
    clock.advance(DAY_MS);
    expect((await notifyPass(kt)).queued.escalations).toBe(0);
    expect(hook.received).toHaveLength(1);
    const e = hook.received[0]!;
    expect(e.verified).toBe(true);
    expect(e.json).toMatchObject({
      type: 'escalation',
      path: 'db/dead',
      runId,
      outcome: 'failing',
      error: { code: expect.stringMatching(/^KT_TARGET_/) as unknown },
      details: { failingSince: new Date(since).toISOString(), escalateAfter: '6h' },
    });
    expect(e.body).not.toContain(MARKER);
    // A success closes the failing period; the next failure opens a new one, escalated once more.
    const yaml = config(channel('ops', hook.url, '      events: [escalation]\n      escalateAfter: 6h\n'));
    await applyYaml(kt, yaml.replace(/ {2}db\/dead:\n( {4}.*\n)+/, '  db/dead:\n    type: app-secret\n'));
    expect((await (await kt.engine()).rotate('db/dead')).status).toBe('done');
    await notifyPass(kt);
    expect(await kt.state.db.selectFrom('notify_failing').selectAll().execute()).toEqual([]);
    await applyYaml(kt, yaml);
    const again = clock.now();
    await failRotation(kt);
    clock.set(again + 6 * 3_600_000);
    expect((await notifyPass(kt)).queued.escalations).toBe(1);
    expect((await notifyPass(kt)).queued.escalations).toBe(0);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.json).toMatchObject({ type: 'escalation', details: { failingSince: new Date(again).toISOString() } });
  });
});

describe('several instances on one PostgreSQL', () => {
  it('two instances queue and send concurrently, and every notification is sent once', async () => {
    const hook = await receiver();
    const schema = `kt_notify_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    cleanups.push(() => dropSchema(schema));
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const tmp = tempDir('keyturn-notify-pg-');
    cleanups.push(() => tmp.remove());
    const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', KEYTURN_DATABASE_URL: url.toString(), HOOK_SECRET: SECRET };
    await initHome(loadSettings(env));
    const a = await openKeyturn(loadSettings(env));
    const b = await openKeyturn(loadSettings(env));
    cleanups.push(async () => {
      await a.close();
      await b.close();
    });
    const n = 12;
    const secrets = Array.from(
      { length: n },
      (_, i) => `  db/dead-${i}:\n    type: database-credential\n    target: dead-pg\n    rotation: { attempts: 1 }\n    initial: { username: u${i}, password: "${MARKER}-${i}" }\n`,
    ).join('');
    await applyYaml(a, config(channel('ops', hook.url), secrets));
    for (let i = 0; i < n; i++) await failRotation(i % 2 === 0 ? a : b, `db/dead-${i}`);
    const pass = async (kt: Keyturn) => {
      await fillFromAudit(kt.state, { now: kt.clock.now() });
      await deliverOutbox(kt.state, { clock: kt.clock, refs: refResolver(kt.store, kt.settings.envVar), batch: 2, maxBatches: 1 });
    };
    const delivered = async () => (await a.state.db.selectFrom('notify_outbox').select('id').where('status', '=', 'delivered').execute()).length;
    while ((await delivered()) < n) await Promise.all([pass(a), pass(b), pass(a), pass(b)]);
    const ids = hook.received.map((r) => String(r.headers['keyturn-delivery']));
    expect(new Set(ids).size).toBe(n);
    expect(ids).toHaveLength(n);
    expect(hook.received.map((r) => r.json.path).sort()).toEqual(Array.from({ length: n }, (_, i) => `db/dead-${i}`).sort());
    expect(hook.received.every((r) => r.verified === true && !r.body.includes(MARKER))).toBe(true);
    // Both instances did part of the sending? Not asserted (scheduling decides); the count above is the point.
    expect(await a.state.db.selectFrom('notify_outbox').select('id').execute()).toHaveLength(n);
  });
});
