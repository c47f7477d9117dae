/**
 * `keyturn server` as a real process: HTTPS with the given certificate, a new certificate served
 * after SIGHUP (to new connections), bad TLS files refused with KT_TLS_INVALID, `--init-token`
 * bootstrapping the first admin token once, and logs at trace level that carry no value.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli, SPAWN_MS } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(async () => {
  tmp = tempDir();
  expect((await runCli(['init'], { env: { KEYTURN_HOME: join(tmp.dir, 'home') } })).code).toBe(0);
});
afterEach(() => tmp.remove());

/** A self-signed certificate for 127.0.0.1 and its key (openssl, on every machine). */
function selfSigned(name: string): { cert: string; key: string } {
  const cert = join(tmp.dir, `${name}.crt`);
  const key = join(tmp.dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** The serial of the certificate a new TLS connection to `port` gets. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(ca) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

function startServer(args: string[], logLevel = 'silent'): { child: ChildProcess; out: Interface; err: Interface; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'server', '--listen', '127.0.0.1:0', '--json', ...args], {
    env: { PATH: process.env.PATH ?? '', KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: createInterface({ input: child.stdout! }), err: createInterface({ input: child.stderr! }), exited };
}

const nextLine = (rl: Interface, match: (line: string) => boolean = () => true) =>
  new Promise<string>((resolve) => {
    const on = (line: string) => {
      if (!match(line)) return;
      rl.off('line', on);
      resolve(line);
    };
    rl.on('line', on);
  });

describe('keyturn server with TLS', () => {
  it('serves HTTPS, bootstraps an admin token once, and serves a new certificate after SIGHUP', { timeout: 6 * SPAWN_MS }, async () => {
    const one = selfSigned('one');
    const two = selfSigned('two');
    const certFile = join(tmp.dir, 'tls.crt');
    const keyFile = join(tmp.dir, 'tls.key');
    copyFileSync(one.cert, certFile);
    copyFileSync(one.key, keyFile);
    const s = startServer(['--tls-cert', certFile, '--tls-key', keyFile, '--init-token'], 'info');
    const first = JSON.parse(await nextLine(s.out)) as { token: string; subject: string; policies: string[] };
    expect(first).toMatchObject({ token: expect.stringMatching(/^kt_/), subject: 'root', policies: ['admin'] });
    const { listening, tls } = JSON.parse(await nextLine(s.out)) as { listening: string; tls: { serial: string } };
    expect(listening).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(listening).port);
    const dispatcher = new Agent({ connect: { ca: readFileSync(one.cert) } });
    const put = await fetch(`${listening}/v1/secrets/prod/app/token`, {
      method: 'PUT',
      dispatcher,
      headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'v1' }),
    });
    expect(put.status).toBe(200);
    expect(await servedSerial(port, one.cert)).toBe(tls.serial);

    // A renewed certificate: new files, SIGHUP, new connections get it.
    copyFileSync(two.cert, certFile);
    copyFileSync(two.key, keyFile);
    const reloaded = nextLine(s.err, (l) => l.includes('TLS certificate reloaded'));
    s.child.kill('SIGHUP');
    await reloaded;
    const serialTwo = await servedSerial(port, two.cert);
    expect(serialTwo).not.toBe(tls.serial);
    // A broken file on SIGHUP keeps the certificate being served.
    writeFileSync(keyFile, 'not a key');
    const kept = nextLine(s.err, (l) => l.includes('not reloaded'));
    s.child.kill('SIGHUP');
    expect(JSON.parse(await kept)).toMatchObject({ code: 'KT_TLS_INVALID' });
    expect(await servedSerial(port, two.cert)).toBe(serialTwo);
    await dispatcher.close();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);

    // --init-token again: an admin token is active, so none is created.
    const again = startServer(['--init-token']);
    const note = nextLine(again.err);
    const line = JSON.parse(await nextLine(again.out)) as Record<string, unknown>;
    expect(line).toHaveProperty('listening');
    expect(line).not.toHaveProperty('token');
    expect(await note).toMatch(/not created, an admin token is active/);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('refuses bad TLS options with a KT_ code before listening', async () => {
    const env = { KEYTURN_HOME: join(tmp.dir, 'home') };
    const one = selfSigned('one');
    const other = selfSigned('other');
    const run = async (args: string[]) => {
      const r = await runCli(['server', '--listen', '127.0.0.1:0', '--json', ...args], { env });
      return [r.code, (JSON.parse(r.stderr) as { error: { code: string } }).error.code];
    };
    expect(await run(['--tls-cert', one.cert])).toEqual([2, 'KT_USAGE']);
    expect(await run(['--tls-cert', join(tmp.dir, 'missing.crt'), '--tls-key', one.key])).toEqual([2, 'KT_TLS_INVALID']);
    expect(await run(['--tls-cert', one.cert, '--tls-key', other.key])).toEqual([2, 'KT_TLS_INVALID']);
    expect(await run(['--tls-cert', one.key, '--tls-key', one.key])).toEqual([2, 'KT_TLS_INVALID']);
  });
});

describe('keyturn server logs', () => {
  it('never carry a value, at the most verbose level, whatever the requests send', { timeout: 4 * SPAWN_MS }, async () => {
    const home = join(tmp.dir, 'home');
    const token = (await runCli(['token', 'create', '--policy', 'admin', '-q'], { env: { KEYTURN_HOME: home } })).stdout.trim();
    const s = startServer([], 'trace');
    const lines: string[] = [];
    s.err.on('line', (l) => lines.push(l));
    const { listening } = JSON.parse(await nextLine(s.out)) as { listening: string };
    const VALUES = ['value-put-ok-93f1', 'value-in-bad-body-5c2e', 'value-refused-path-7a0d', 'value-field-11b4'];
    const send = (method: string, path: string, body?: string, auth = token) =>
      fetch(`${listening}${path}`, { method, headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body }) });
    expect((await send('PUT', '/v1/secrets/prod/app/token', JSON.stringify({ value: { password: VALUES[0], other: VALUES[3] } }))).status).toBe(200);
    expect((await send('GET', '/v1/secrets/prod/app/token')).status).toBe(200);
    expect((await send('GET', '/v1/secrets/prod/app/token?field=password')).status).toBe(200);
    expect((await send('PUT', '/v1/secrets/prod/app/token', `{"value": "${VALUES[1]}", "extra": [`)).status).toBe(400);
    expect((await send('PUT', '/v1/secrets/prod/app/token', JSON.stringify({ value: VALUES[1], expectVersion: 'x' }))).status).toBe(400);
    expect((await send('PUT', '/v1/secrets/prod/app/other', JSON.stringify({ value: VALUES[2] }), `kt_${'B'.repeat(43)}`)).status).toBe(401);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    // The server did log (so the check below means something), and not one line carries a value or the token.
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(6);
    for (const secret of [...VALUES, token]) expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  });
});
