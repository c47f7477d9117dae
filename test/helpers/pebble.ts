/**
 * Test helper: Let's Encrypt's ACME test server `pebble` (Debian package `pebble`, which `.ci/run`
 * installs) of this test file's own, on free loopback ports in a temp folder, with
 * `pebble-challtestsrv` (same package) as its DNS server answering every A query with 127.0.0.1
 * (and no AAAA), so any name (`www.keyturn.test`) resolves to loopback and pebble validates the
 * HTTP-01 challenge for real against `challengePort` on 127.0.0.1, where the acme target's
 * challenge server listens (`challenge.listen: 127.0.0.1:<challengePort>`).
 *
 * Pebble runs with `PEBBLE_VA_NOSLEEP=1` (validation at once), `PEBBLE_AUTHZREUSE=0` (every order
 * is validated afresh; no valid authorization is reused) and its default nonce rejection (5% of
 * good nonces refused with badNonce: the client must retry them). Its directory is served over
 * HTTPS with a certificate for 127.0.0.1 made here with openssl (`caBundle`). Pebble makes a new
 * root at each start; `root()` fetches it from the management interface (`/roots/0`).
 *
 * @example
 * ```ts
 * const pebble = await startPebble();
 * createTarget({ type: 'acme', directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, names: ['www.keyturn.test'], challenge: { type: 'http-01', listen: `127.0.0.1:${pebble.challengePort}` } });
 * const rootPem = await pebble.root();
 * await pebble.stop();
 * ```
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { exited, freePort, stopChildren } from './local-daemon.js';

export interface PebbleServer {
  /** https://127.0.0.1:PORT/dir */
  readonly directoryUrl: string;
  /** PEM file of the CA of the directory's HTTPS certificate (not the issuing root). */
  readonly caBundle: string;
  /** The port pebble validates HTTP-01 challenges on (at 127.0.0.1, where every name resolves). */
  readonly challengePort: number;
  /** The folder of this server's files (removed by stop()). */
  readonly dir: string;
  /** The root the issued certificates chain to (PEM), from the management interface. */
  root(): Promise<string>;
  /** Pebble's output so far (for a failed test's message). */
  log(): string;
  stop(): Promise<void>;
}

/** How long pebble gets to answer its directory (polled). */
const START_MS = 20_000;

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 20_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`${command} failed: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

/** A CA and a certificate for 127.0.0.1 it signed, for pebble's HTTPS listeners. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=keyturn-pebble-test-ca'], dir);
  await run('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

async function answers(url: string, agent: Agent): Promise<boolean> {
  try {
    const res = await fetch(url, { dispatcher: agent, signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts a pebble and its DNS server; throws (with their output) when they do not come up. */
export async function startPebble(): Promise<PebbleServer> {
  const dir = mkdtempSync(join(tmpdir(), 'keyturn-pebble-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  let certs: { ca: string; cert: string; key: string };
  try {
    certs = await makeCertificates(dir);
  } catch (e) {
    remove();
    throw e;
  }
  const agent = new Agent({ connect: { ca: await readFile(certs.ca, 'utf8') } });
  // A port taken between freePort and the bind (another test file) makes a server exit: try again.
  for (let attempt = 1; ; attempt++) {
    const [wfe, management, challengePort, tlsPort, dns, dnsManagement] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    const config = join(dir, 'pebble-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${wfe}`,
          managementListenAddress: `127.0.0.1:${management}`,
          certificate: certs.cert,
          privateKey: certs.key,
          httpPort: challengePort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    let output = '';
    const keep = (child: ChildProcess) => {
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      return child;
    };
    const challtestsrv = keep(
      spawn(
        'pebble-challtestsrv',
        ['-dns01', `127.0.0.1:${dns}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsManagement}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    const pebble = keep(
      spawn('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dns}`], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0' },
      }),
    );
    const children = [challtestsrv, pebble];
    const killOnExit = () => children.forEach((c) => c.kill('SIGKILL'));
    process.once('exit', killOnExit);
    const directoryUrl = `https://127.0.0.1:${wfe}/dir`;
    const deadline = performance.now() + START_MS;
    let up = false;
    const failed = new Promise<void>((resolve) => children.forEach((c) => c.once('exit', () => resolve())));
    while (!up && children.every((c) => c.exitCode === null) && performance.now() < deadline) {
      up = await answers(directoryUrl, agent);
      if (!up) await Promise.race([new Promise((r) => setTimeout(r, 50)), failed]);
    }
    if (up) {
      return {
        directoryUrl,
        caBundle: certs.ca,
        challengePort,
        dir,
        log: () => output,
        async root() {
          const res = await fetch(`https://127.0.0.1:${management}/roots/0`, { dispatcher: agent });
          if (res.status !== 200) throw new Error(`pebble /roots/0 answered ${res.status}`);
          return res.text();
        },
        async stop() {
          await stopChildren(children);
          process.removeListener('exit', killOnExit);
          await agent.close();
          remove();
        },
      };
    }
    process.removeListener('exit', killOnExit);
    children.forEach((c) => c.kill('SIGKILL'));
    await Promise.all(children.map(exited));
    if (attempt === 3) {
      await agent.close();
      remove();
      throw new Error(`pebble did not start (is it installed? .ci/run installs pebble): ${output.trim().split('\n').slice(-5).join(' | ')}`);
    }
  }
}
