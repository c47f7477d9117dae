/**
 * Anomaly detection in the server, end to end: refused requests and reads are audited with the
 * client's address and user agent, the detectors see them as they arrive, and an anomaly becomes
 * a row (`keyturn anomalies ls`), an `anomaly.<type>` audit event, a Prometheus count and, when the
 * secret's policy asks, a rotation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer, detectionOf } from '../src/server/app.js';
import { AnomaliesRepo } from '../src/detect/anomalies-repo.js';
import { notifyPass } from '../src/notify/pass.js';
import { apiHome } from './helpers/api-home.js';
import { runCli } from './helpers/cli.js';
import { webhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

let home: { close(): Promise<void> } | undefined;
let hook: WebhookReceiver | undefined;
afterEach(async () => {
  await home?.close();
  await hook?.close();
  home = undefined;
  hook = undefined;
});

describe('anomaly detection in keyturn server', () => {
  it.each([['sqlite'], ['postgres']])('records a burst of bad tokens from one address once, with its audit event and count (%s)', async (db) => {
    const h = await apiHome({
      postgres: db === 'postgres',
      tokens: { reader: ['admin'] },
      secrets: [['prod/db/app', 'v1']],
      server: { detection: { detectors: [{ type: 'failed-burst', threshold: 5 }], batchMs: 1, pollMs: 20 } },
    });
    home = h;
    const { app, kt } = h;
    for (let i = 0; i < 8; i++) {
      const r = await app.inject({ url: '/v1/secrets/prod/db/app', headers: { authorization: `Bearer kt_${'x'.repeat(43)}`, 'user-agent': 'curl/8.5.0' }, remoteAddress: '203.0.113.9' });
      expect(r.statusCode).toBe(401);
    }
    await detectionOf(app)!.caughtUp();
    const found = await new AnomaliesRepo(kt.state, kt.audit, kt.clock).list();
    // Bad tokens name no identity: the burst is the address's.
    expect(found.map((a) => [a.type, a.actor, a.address])).toEqual([['failed-burst', 'address:203.0.113.9', '203.0.113.9']]);
    const events = (await kt.audit.tail(20)).map((row) => JSON.parse(row.leaf) as Record<string, unknown>);
    const refused = events.filter((e) => e.action === 'access.authenticate');
    expect(refused).toHaveLength(8);
    expect(refused[0]).toMatchObject({ actor: 'anonymous', outcome: 'failure', errorCode: 'KT_TOKEN_INVALID', address: '203.0.113.9', userAgent: 'curl/8.5.0' });
    const anomaly = events.filter((e) => e.action === 'anomaly.failed-burst');
    expect(anomaly).toEqual([expect.objectContaining({ actor: 'address:203.0.113.9', source: 'detector', correlationId: found[0]!.id, address: '203.0.113.9' })]);
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('keyturn_anomalies_total{type="failed-burst"} 1');
  });

  it('a token probing a path it may not read: the anomaly rotates the secret (rotateOnAnomaly), notifies, and is listed', async () => {
    hook = await webhookReceiver();
    const h = await apiHome({
      config: `version: 1
secrets:
  app/payments:
    type: app-secret
    rotateOnAnomaly: [failed-burst]
notifications:
  channels:
    sec:
      url: ${hook.url}
      events: [anomaly]
`,
      policies: { 'app-other': 'rules:\n  - path: app/other\n    capabilities: [read]\n', audit: 'rules:\n  - path: "**"\n    capabilities: [audit]\n' },
      tokens: { prober: ['app-other'], auditor: ['audit'] },
      server: { detection: { detectors: [{ type: 'failed-burst', threshold: 5 }], batchMs: 1, pollMs: 20 } },
    });
    home = h;
    const { app, kt, ids } = h;
    const before = (await kt.store.get('app/payments'))!.id;
    for (let i = 0; i < 5; i++) {
      const r = await app.inject({ url: '/v1/secrets/app/payments', headers: { authorization: `Bearer ${h.tokens.prober}` }, remoteAddress: '198.51.100.4' });
      expect(r.statusCode).toBe(403);
    }
    await detectionOf(app)!.caughtUp();
    const [found, ...more] = await new AnomaliesRepo(kt.state, kt.audit, kt.clock).list();
    expect(more).toEqual([]);
    expect(found).toMatchObject({ type: 'failed-burst', actor: `token:${ids.prober}`, path: 'app/payments', address: '198.51.100.4', rotation: expect.stringMatching(/^run_/) });
    // The rotation it started made a new current version, as system:detector with the anomaly's id.
    const after = (await kt.store.get('app/payments'))!;
    expect(after.id).not.toBe(before);
    const run = await (await kt.engine()).runs.get(found!.rotation!);
    expect(run).toMatchObject({ status: 'done', correlationId: found!.id });
    // The notification, with the anomaly's details and no value.
    await notifyPass(kt);
    await hook.waitFor((r) => r.length >= 1);
    expect(hook.received[0]!.json).toMatchObject({
      type: 'anomaly',
      outcome: 'anomaly',
      path: 'app/payments',
      details: { anomalyId: found!.id, type: 'failed-burst', actor: `token:${ids.prober}`, address: '198.51.100.4' },
    });
    expect(hook.received[0]!.body).not.toContain(JSON.stringify(after.value).slice(1, -1));
    // Listed by the API (audit on **) and by the CLI through the server; refused without audit.
    const listed = await app.inject({ url: '/v1/anomalies?since=3600', headers: { authorization: `Bearer ${h.tokens.auditor}` } });
    expect(listed.json()).toEqual({ anomalies: [expect.objectContaining({ id: found!.id, type: 'failed-burst', rotation: found!.rotation, time: new Date(found!.time).toISOString() })] });
    const refused = await app.inject({ url: '/v1/anomalies', headers: { authorization: `Bearer ${h.tokens.prober}` } });
    expect(refused.statusCode).toBe(403);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const cli = await runCli(['anomalies', 'ls', '--since', '1h', '--json'], { env: { KEYTURN_ADDR: addr, KEYTURN_TOKEN: h.tokens.auditor, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as Array<{ id: string }>).map((a) => a.id)).toEqual([found!.id]);
    const local = await runCli(['anomalies', 'ls', '--type', 'unusual-time'], { env: h.env });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout.trim()).toBe('No anomalies in that time.');
  });

  it('learns from the log at start, raises what happened while it was down, and never the same anomaly twice', async () => {
    const h = await apiHome({ server: { detection: false } });
    home = h;
    const { kt } = h;
    const detection = { detectors: [{ type: 'failed-burst', threshold: 5 }], batchMs: 1, pollMs: 20 };
    const refusal = { actor: 'anonymous', source: 'api', address: '192.0.2.77', action: 'access.authenticate', outcome: 'failure', errorCode: 'KT_TOKEN_INVALID' } as const;
    const list = () => new AnomaliesRepo(kt.state, kt.audit, kt.clock).list();
    // First start ever: it begins at the end of the log (the 3 failures before it are learned from, not raised).
    for (let i = 0; i < 3; i++) await kt.audit.append(refusal);
    let server = await buildServer(kt, { detection });
    await detectionOf(server)!.caughtUp();
    expect(detectionOf(server)!.stats()).toMatchObject({ warmedUp: expect.any(Number), events: 0, anomalies: 0 });
    expect(detectionOf(server)!.stats().warmedUp).toBeGreaterThanOrEqual(3);
    await server.close();
    // Written while no server ran (another process): read at the next start, after the warm-up; the fifth failure is the burst.
    for (let i = 0; i < 2; i++) await kt.audit.append(refusal);
    server = await buildServer(kt, { detection });
    await detectionOf(server)!.caughtUp();
    expect(detectionOf(server)!.stats()).toMatchObject({ events: 2, anomalies: 1 });
    expect((await list()).map((a) => [a.type, a.address])).toEqual([['failed-burst', '192.0.2.77']]);
    await server.close();
    // Started again: everything is replayed to learn, nothing is raised again.
    server = await buildServer(kt, { detection });
    await detectionOf(server)!.caughtUp();
    expect(detectionOf(server)!.stats()).toMatchObject({ events: 0, anomalies: 0 });
    expect(await list()).toHaveLength(1);
    await server.close();
  });

  it('a policy widened over the API, then used: privilege escalation, naming the policy', async () => {
    const h = await apiHome({
      policies: { ops: 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n' },
      tokens: { reader: ['admin'], prober: ['ops'] },
      secrets: [
        ['prod/app/token', 'app-value'],
        ['prod/db/root', 'root-value'],
      ],
      server: { detection: { detectors: [{ type: 'privilege-escalation' }], batchMs: 1, pollMs: 20 } },
    });
    home = h;
    const { app, kt, ids } = h;
    const read = (path: string) => app.inject({ url: `/v1/secrets/${path}`, headers: { authorization: `Bearer ${h.tokens.prober}` }, remoteAddress: '10.1.2.3' });
    expect((await read('prod/app/token')).statusCode).toBe(200);
    expect((await read('prod/db/root')).statusCode).toBe(403);
    await detectionOf(app)!.caughtUp();
    const widened = await app.inject({
      method: 'PUT',
      url: '/v1/policies/ops',
      headers: { authorization: `Bearer ${h.tokens.reader}` },
      payload: { document: 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n  - path: prod/db/*\n    capabilities: [read]\n' },
    });
    expect(widened.statusCode).toBe(200);
    await detectionOf(app)!.caughtUp();
    // What it could read before is no escalation; what only the change allows is.
    expect((await read('prod/app/token')).statusCode).toBe(200);
    expect((await read('prod/db/root')).statusCode).toBe(200);
    await detectionOf(app)!.caughtUp();
    const found = await new AnomaliesRepo(kt.state, kt.audit, kt.clock).list();
    expect(found.map((a) => [a.type, a.actor, a.path, a.address])).toEqual([['privilege-escalation', `token:${ids.prober}`, 'prod/db/root', '10.1.2.3']]);
    expect(found[0]!.reason).toContain('policy ops');
    expect(found[0]!.reason).not.toContain('root-value');
  });

  it('a refusal records the path asked for only when it is a valid secret path (anything else may be a pasted value)', async () => {
    const h = await apiHome({ policies: { narrow: 'rules:\n  - path: app/other\n    capabilities: [read]\n' }, tokens: { prober: ['narrow'] } });
    home = h;
    const size = (await h.kt.audit.head()).size;
    for (const url of ['/v1/secrets/app/payments', '/v1/secrets/app/pasted%20s3cret%20value']) {
      const r = await h.app.inject({ url, headers: { authorization: `Bearer ${h.tokens.prober}` } });
      expect(r.statusCode).toBe(403);
    }
    const events = (await h.kt.audit.between(size)).map((row) => JSON.parse(row.leaf) as Record<string, unknown>);
    expect(events.map((e) => [e.action, e.path])).toEqual([
      ['access.denied', 'app/payments'],
      ['access.denied', null],
    ]);
    expect(JSON.stringify(events)).not.toContain('s3cret');
  });
});
