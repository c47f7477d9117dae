/**
 * Notification channels in keyturn.yaml and the `keyturn notify` commands, through the CLI on a
 * real home: every problem of a channel is KT_CONFIG_FILE_INVALID at its dot-path (a credential
 * written in clear, http:// off loopback, an unknown key or event); apply plans and stores a
 * channel with its references, never what they stand for; `notify test` sends a signed test
 * notification to a real receiver and reports each channel's answer (exit 1 when any fails, 3 for
 * an unknown channel, KT_NOTIFY_SECRET_UNAVAILABLE for an unset variable); `notify ls` shows the
 * channels and the deliveries; `notify deliver` queues and sends a failed rotation's notification
 * without a server.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { isKeyturnError } from '../src/core/errors.js';
import { useCliHome } from './helpers/cli-home.js';
import { runCli } from './helpers/cli.js';
import { failingConfig, webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const home = useCliHome();
const SECRET = 'whsec_cli_key_0e1d';
const MARKER = 'CLI-VALUE-MARKER-42';

const hooks: WebhookReceiver[] = [];
afterEach(async () => {
  for (const h of hooks.splice(0)) await h.close();
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await webhookReceiver({ secret: SECRET });
  hooks.push(r);
  return r;
}

const kt = (argv: string[], env: Record<string, string> = {}, stdin?: string) => runCli(argv, { env: { ...home.env, KEYTURN_LOG_LEVEL: 'silent', ...env }, ...(stdin === undefined ? {} : { stdin }) });

function parseError(yaml: string): string {
  try {
    parseConfig(yaml, {});
  } catch (e) {
    if (isKeyturnError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('parsed');
}

const yamlWith = (channel: string) => `version: 1\nnotifications:\n  channels:\n    ops:\n${channel}`;

describe('notifications: in keyturn.yaml', () => {
  it('refuses each mistake at its dot-path', () => {
    const cases: Array<[string, string]> = [
      ['      url: https://h.example/x\n      signingSecret: hunter2-in-clear\n', 'notifications.channels.ops.signingSecret: a credential is never written in keyturn.yaml'],
      ['      url: http://hooks.example.com/x\n', 'notifications.channels.ops.url: plain http:// is only for 127.0.0.1'],
      ['      url: https://user:pw@hooks.example.com/x\n', 'notifications.channels.ops.url: must not carry a user or password'],
      ['      url: ftp://hooks.example.com/x\n', 'notifications.channels.ops.url: must start with https://'],
      ['      url: https://h.example/x\n      events: [failure, outage]\n', 'notifications.channels.ops.events.1:'],
      ['      url: https://h.example/x\n      events: [failure, failure]\n', 'notifications.channels.ops.events: lists an event twice'],
      ['      url: https://h.example/x\n      colour: red\n', 'notifications.channels.ops: Unrecognized key: "colour"'],
      ['      url: https://h.example/x\n      escalateAfter: 1 day\n', 'notifications.channels.ops.escalateAfter: must be a duration'],
      ['      url: https://h.example/x\n      headers: { Authorization: "Bearer abc" }\n', 'notifications.channels.ops.headers.Authorization: carries a credential'],
      ['      url: https://h.example/x\n      headers: { Keyturn-Signature: x }\n', 'notifications.channels.ops.headers.Keyturn-Signature: is set by Keyturn itself'],
      ['      url: https://h.example/x\n      paths: [/prod]\n', 'notifications.channels.ops.paths.0: must be a secret path prefix'],
      ['      url: https://h.example/x\n      format: teams\n', 'notifications.channels.ops.format:'],
      ['      url: https://h.example/x\n      signingSecret: { secret: notify/key, colour: red }\n', 'notifications.channels.ops.signingSecret'],
    ];
    for (const [channel, expected] of cases) {
      const message = parseError(yamlWith(channel));
      expect(message, channel).toMatch(/^KT_CONFIG_FILE_INVALID: keyturn\.yaml:\d+: /);
      expect(message, channel).toContain(expected);
    }
    expect(parseError('version: 1\nnotifications:\n  channels:\n    "bad name":\n      url: https://h.example/x\n')).toContain('channel names are 1 to 64 of [A-Za-z0-9_-]');
    expect(parseError('version: 1\nnotifications:\n  webhooks: {}\n')).toContain('notifications: Unrecognized key: "webhooks"');
  });

  it('accepts references and fills the defaults', () => {
    const config = parseConfig(
      yamlWith('      url: "${env:OPS_URL}"\n      signingSecret: { secret: notify/ops, field: key }\n      headers: { Authorization: "${env:OPS_AUTH}", X-Team: platform }\n      format: slack\n'),
      {},
    );
    expect(config.notifications!.channels.ops).toEqual({
      url: '${env:OPS_URL}',
      format: 'slack',
      signingSecret: { secret: 'notify/ops', field: 'key' },
      headers: { Authorization: '${env:OPS_AUTH}', 'X-Team': 'platform' },
      events: ['failure'],
      escalateAfter: '24h',
      retry: { attempts: 10, backoffBaseMs: 10_000, backoffCapMs: 3_600_000 },
      timeoutMs: 10_000,
    });
  });

  it('apply plans channels (create, change, remove) and stores the references, never what they stand for', async () => {
    const yaml = yamlWith('      url: http://127.0.0.1:9/hook\n      signingSecret: "${env:HOOK_SECRET}"\n');
    const created = await kt(['apply', '-f', '-', '--json'], { HOOK_SECRET: SECRET }, yaml);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).plan).toEqual([{ kind: 'channel', name: 'ops', action: 'create' }]);
    const changed = await kt(['apply', '-f', '-', '--json'], {}, yaml.replace('9/hook', '10/hook'));
    expect(JSON.parse(changed.stdout).plan).toEqual([{ kind: 'channel', name: 'ops', action: 'change', changed: ['url'] }]);
    const db = new DatabaseSync(join(home.dir, 'keyturn.db'));
    try {
      const rows = db.prepare('SELECT name, config FROM notify_channels').all() as Array<{ name: string; config: string }>;
      expect(rows).toHaveLength(1);
      expect(JSON.parse(rows[0]!.config)).toMatchObject({ url: 'http://127.0.0.1:10/hook', signingSecret: '${env:HOOK_SECRET}' });
      expect(JSON.stringify(db.prepare('SELECT * FROM notify_channels').all())).not.toContain(SECRET);
      const events = db.prepare("SELECT leaf FROM audit_leaves WHERE leaf LIKE '%config.channel%'").all() as Array<{ leaf: string }>;
      expect(events.map((e) => (JSON.parse(e.leaf) as { action: string }).action)).toEqual(['config.channel.create', 'config.channel.change']);
    } finally {
      db.close();
    }
    const removed = await kt(['apply', '-f', '-', '--json', '--yes'], {}, 'version: 1\n');
    expect(JSON.parse(removed.stdout).plan).toEqual([{ kind: 'channel', name: 'ops', action: 'remove' }]);
  });
});

describe('keyturn notify', () => {
  it('test sends a signed test notification to each channel and reports the answers; exit 1 when one fails', async () => {
    const good = await receiver();
    const bad = await receiver();
    bad.answer(500);
    const yaml = `version: 1
notifications:
  channels:
    good:
      url: ${good.url}
      signingSecret: "\${env:HOOK_SECRET}"
    chat:
      url: "\${env:CHAT_URL}"
      format: slack
      signingSecret: { secret: notify/chat, field: key }
      headers: { X-Team: platform }
    bad:
      url: ${bad.url}
`;
    expect((await kt(['apply', '-f', '-'], {}, yaml)).code).toBe(0);
    expect((await kt(['secret', 'put', 'notify/chat', '--field', `key=${SECRET}`])).code).toBe(0);
    const env = { HOOK_SECRET: SECRET, CHAT_URL: good.url.replace('/hook', '/chat') };
    const r = await kt(['notify', 'test', '--json'], env);
    expect(r.code, r.stderr).toBe(1);
    const results = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(results.map((x) => [x.channel, x.ok, x.status, x.url])).toEqual([
      ['bad', false, 500, 'http://127.0.0.1:' + String(bad.port) + '/…'],
      ['chat', true, 204, '${env:CHAT_URL}'],
      ['good', true, 204, 'http://127.0.0.1:' + String(good.port) + '/…'],
    ]);
    expect(results[0]!.error).toEqual({ code: 'KT_NOTIFY_DELIVERY_FAILED', message: 'HTTP 500' });
    expect(good.received).toHaveLength(2);
    const plain = good.received.find((x) => x.path === '/hook')!;
    const chat = good.received.find((x) => x.path === '/chat')!;
    expect(plain.verified).toBe(true);
    expect(chat.verified).toBe(true);
    expect(plain.json).toMatchObject({ type: 'test', channel: 'good', outcome: 'test', path: null, runId: null, error: null });
    expect(plain.headers['keyturn-event']).toBe('test');
    expect(chat.headers['x-team']).toBe('platform');
    expect(chat.json).toMatchObject({ text: 'Keyturn: test notification for channel chat' });
    expect(bad.received[0]!.headers['keyturn-signature']).toBeUndefined();

    const one = await kt(['notify', 'test', 'good'], env);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^CHANNEL\s+FORMAT\s+URL\s+RESULT\s+STATUS\s+MS\s+ERROR\ngood\s+json\s+http:\/\/127\.0\.0\.1:\d+\/…\s+delivered\s+204\s+\d+\s+-\n$/);

    // Without the variable, the reference cannot be resolved in this process: said, not sent.
    const unset = await kt(['notify', 'test', 'chat', '--json']);
    expect(unset.code).toBe(1);
    expect(JSON.parse(unset.stdout)[0]).toMatchObject({ channel: 'chat', ok: false, status: null, error: { code: 'KT_NOTIFY_SECRET_UNAVAILABLE' } });
    expect(JSON.parse(unset.stdout)[0].error.message).toContain('${env:CHAT_URL}: the environment variable CHAT_URL is not set');

    const missing = await kt(['notify', 'test', 'nope', '--json']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stderr).error).toMatchObject({ code: 'KT_NOTIFY_CHANNEL_NOT_FOUND', message: 'no notification channel "nope" is applied; applied: bad, chat, good' });
    expect([r.stdout, r.stderr, one.stdout, unset.stdout].join('')).not.toContain(SECRET);

    const remote = await kt(['notify', 'test'], { KEYTURN_ADDR: 'http://127.0.0.1:1' });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/^error KT_REMOTE_UNSUPPORTED: notify test works on a local home/);
  });

  it('deliver queues and sends a failed rotation without a server; ls shows channels and deliveries', async () => {
    const hook = await receiver();
    const yaml = failingConfig({
      password: MARKER,
      channels: `    ops:
      url: ${hook.url}
      signingSecret: "\${env:HOOK_SECRET}"
      events: [failure, escalation]
      paths: [db]
`,
    });
    expect((await kt(['apply', '-f', '-'], {}, yaml)).code).toBe(0);
    const empty = await kt(['notify', 'ls']);
    expect(empty.stdout).toContain('No notifications yet.');
    expect((await kt(['rotate', 'db/dead'])).code).toBe(1);
    const d = await kt(['notify', 'deliver', '--json'], { HOOK_SECRET: SECRET });
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ channels: 1, queued: { events: 1, escalations: 0, expiryWarnings: 0 }, sent: { delivered: 1, retrying: 0, failed: 0, dropped: 0 } });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.verified).toBe(true);
    expect(hook.received[0]!.json).toMatchObject({ type: 'failure', path: 'db/dead' });
    expect(hook.received[0]!.body).not.toContain(MARKER);
    const again = await kt(['notify', 'deliver'], { HOOK_SECRET: SECRET });
    expect(again.stdout).toBe('Queued 0 for rotation outcomes, 0 escalations, 0 expiry warnings; sent: 0 delivered, 0 to retry, 0 failed, 0 dropped.\n');
    expect(hook.received).toHaveLength(1);

    const ls = await kt(['notify', 'ls', '--json']);
    const listing = JSON.parse(ls.stdout) as { channels: Array<Record<string, unknown>>; deliveries: Array<Record<string, unknown>> };
    expect(listing.channels).toEqual([
      { name: 'ops', format: 'json', url: `http://127.0.0.1:${hook.port}/…`, signed: true, events: ['failure', 'escalation'], paths: ['db'], escalateAfter: '24h', pending: 0 },
    ]);
    expect(listing.deliveries).toMatchObject([
      { id: hook.received[0]!.headers['keyturn-delivery'], channel: 'ops', event: 'failure', path: 'db/dead', status: 'delivered', attempts: 1, lastStatus: 204, lastError: null, nextAttemptAt: null },
    ]);
    const text = await kt(['notify', 'ls']);
    expect(text.stdout).toMatch(/^CHANNEL\s+FORMAT\s+URL\s+SIGNED\s+EVENTS\s+PATHS\s+PENDING\nops\s+json\s+http:\/\/127\.0\.0\.1:\d+\/…\s+yes\s+failure,escalation\s+db\s+0\n\nDELIVERY\s+CHANNEL/);
    expect(text.stdout).toMatch(/\nntf_[0-9a-f]{32}\s+ops\s+failure\s+db\/dead\s+delivered\s+1\s+HTTP 204\s+\d{4}-/);
  });
});
