/**
 * Certificates renewed for real and served by a real nginx: the internal CA (`keyturn ca init`),
 * a `certificate` secret on an internal-ca target whose consumers write the full chain and the
 * key where nginx reads them and send nginx's master SIGHUP (a graceful reload), and a client
 * that makes TLS handshakes one after another the whole time (verifying the chain against the
 * root and the name). Across 10 renewals: 0 failed handshakes, and each new serial is served.
 * Then the scheduler part of issue #14: 61 days on (a clock moved ahead), the certificate is past
 * its renewBefore and one scheduler pass renews it without anyone asking; nginx serves it.
 *
 * nginx comes from Debian's package (.ci/run installs it); each nginx here has its own config,
 * pid file and logs in a temp folder and one loopback port.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { manualClock } from '../src/core/clock.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { Scheduler, type DueOutcome } from '../src/schedule/scheduler.js';
import { runCli } from './helpers/cli.js';
import { hasNginx, startNginx, type Nginx } from './helpers/nginx.js';
import { tempDir } from './helpers/state.js';

const RENEWALS = 10;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One TLS handshake: the serial served, or the error. */
function handshake(port: number, ca: string): Promise<{ serial: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'web.test', ca, timeout: 10_000 }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber.toLowerCase() ?? '';
      socket.end();
      resolve({ serial });
    });
    socket.on('timeout', () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', (e) => resolve({ error: e.message }));
  });
}

describe.skipIf(!hasNginx)(`certificates renewed under a real nginx${hasNginx ? '' : ' (skipped: nginx is not installed; .ci/run installs it)'}`, () => {
  const tmp = tempDir();
  const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
  const tls = join(tmp.dir, 'tls');
  const nginxDir = join(tmp.dir, 'nginx');
  let nginx: Nginx | undefined;
  let port = 0;
  let root = '';

  const kt = async (argv: string[]) => {
    const r = await runCli(argv, { env });
    return r;
  };
  const serialOf = async (path = 'tls/web') => {
    const got = await kt(['secret', 'get', path, '--json']);
    expect(got.code, got.stderr).toBe(0);
    return (JSON.parse(got.stdout) as { value: { serial: string } }).value.serial;
  };

  beforeAll(async () => {
    mkdirSync(tls, { recursive: true });
    mkdirSync(nginxDir, { recursive: true });
    port = await freePort();
    expect((await kt(['init'])).code).toBe(0);
    const init = await kt(['ca', 'init', '--prefix', 'pki/ca']);
    expect(init.code, init.stderr).toBe(0);
    root = (await kt(['ca', 'show', '--prefix', 'pki/ca', '--pem'])).stdout;
    expect(root).toContain('BEGIN CERTIFICATE');
    const yaml = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(
      yaml,
      `version: 1
targets:
  web-ca: { type: internal-ca, admin: pki/ca/intermediate, commonName: web.test, dnsNames: [web.test], validity: 90d, renewBefore: 30d }
secrets:
  tls/web:
    type: certificate
    target: web-ca
    schedule: { every: 365d }
    consumers:
      # Key and full chain in one file, written atomically: never a new certificate next to an old key.
      - { type: file, path: ${tls}/web.pem, template: "{{key}}{{cert}}{{chain}}", mode: "0600" }
      - { type: signal, pidFile: ${nginxDir}/nginx.pid, signal: SIGHUP }
`,
    );
    const applied = await kt(['apply', '-f', yaml]);
    expect(applied.code, applied.stderr).toBe(0);
    // The first certificate (nginx is not running yet: its reload is the one delivery that fails).
    await kt(['rotate', 'tls/web']);
    nginx = await startNginx({ dir: nginxDir, port, serverName: 'web.test', certFile: `${tls}/web.pem`, keyFile: `${tls}/web.pem` });
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    tmp.remove();
  });

  it(`${RENEWALS} renewals with a client connecting continuously: 0 failed handshakes, every new serial served`, async () => {
    const first = await handshake(port, root);
    expect(first).toEqual({ serial: await serialOf() });
    let stop = false;
    let handshakes = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    const client = (async () => {
      while (!stop) {
        const r = await handshake(port, root);
        handshakes += 1;
        if ('error' in r) failures.push(r.error);
        else seen.add(r.serial);
      }
    })();
    const serials = [(first as { serial: string }).serial];
    try {
      for (let i = 0; i < RENEWALS; i++) {
        const r = await kt(['rotate', 'tls/web']);
        expect(r.code, r.stderr).toBe(0);
        const serial = await serialOf();
        expect(serials).not.toContain(serial);
        serials.push(serial);
        // nginx serves the new certificate once its reload is done: wait for the client to see it (each handshake is a new look).
        while (!seen.has(serial) && failures.length === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      stop = true;
      await client;
    }
    expect(failures).toEqual([]);
    expect(serials).toHaveLength(RENEWALS + 1);
    for (const s of serials) expect(seen.has(s) || s === serials[0], `serial ${s} was never served`).toBe(true);
    expect(handshakes).toBeGreaterThan(RENEWALS);
    console.info(`cert-renew-nginx: ${handshakes} handshakes across ${RENEWALS} renewals, ${failures.length} failed`);
  }, 300_000);

  it('61 days on, past its renewBefore, the scheduler renews it by itself, and nginx serves the new one', async () => {
    const before = await serialOf();
    /** One scheduler pass in this process, as keyturn server and `rotate --due` run it, at `now`. */
    const pass = async (now: number) => {
      const kt = await openKeyturn(loadSettings(env), { clock: manualClock(now) });
      try {
        const engine = await kt.engine();
        const scheduler = new Scheduler({ state: kt.state, clock: kt.clock, log: kt.log, engine: async () => engine }, { ...kt.settings.scheduler, concurrency: 1 });
        const outcomes: DueOutcome[] = [];
        await scheduler.runOnce((o) => {
          outcomes.push(o);
        });
        return outcomes;
      } finally {
        await kt.close();
      }
    };
    // `schedule show` says when it renews by itself: 60 days after it was made, before the yearly schedule.
    const show = await kt(['schedule', 'show', 'tls/web', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const due = (JSON.parse(show.stdout) as { next: { reason: string; dueAt: string } }).next;
    expect(due.reason).toBe('renew');
    expect(Math.round((Date.parse(due.dueAt) - Date.now()) / 86_400_000)).toBe(60);
    // Now: 90 days left, a yearly schedule: nothing is due.
    expect((await pass(Date.now())).filter((o) => o.run !== null)).toEqual([]);
    expect(await serialOf()).toBe(before);
    // 61 days on: 29 days left, past renewBefore (30d).
    const outcomes = await pass(Date.now() + 61 * 86_400_000);
    expect(outcomes.map((o) => ({ path: o.path, status: o.run?.status, error: o.error }))).toEqual([{ path: 'tls/web', status: 'done', error: null }]);
    const after = await serialOf();
    expect(after).not.toBe(before);
    let served = await handshake(port, root);
    while ('serial' in served && served.serial !== after) served = await handshake(port, root);
    expect(served).toEqual({ serial: after });
  });
});
