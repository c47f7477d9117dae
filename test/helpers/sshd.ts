/**
 * Test helper: an OpenSSH server (`/usr/sbin/sshd -D -e -f <dir>/sshd_config`) of this test
 * process's own, on a free loopback port, with an Ed25519 host key made in its folder (`.ci/run`
 * installs the Debian package openssh-server; no system sshd is used). One per process, shared by
 * the fixtures that hold it (./local-daemon.ts): the first `sshdServer()` starts it, the last
 * `release()` stops it and removes the folder; a process that exits without releasing kills it.
 *
 * The server: public key logins only (PasswordAuthentication and keyboard-interactive off),
 * `PermitRootLogin prohibit-password`, StrictModes as default (yes), `UsePAM no`, and
 * `AuthorizedKeysFile .ssh/authorized_keys <dir>/keys/%u`: the accounts' own files, plus root's
 * key (the admin, a fresh Ed25519 key held in memory) in the folder, never in /root. StrictModes
 * checks every folder above that file, so the folder lives under /run (root's, mode 0755), not
 * under the world-writable /tmp. Accounts are real system accounts (`useradd`, see
 * test/fixtures/targets/ssh.ts); with UsePAM off sshd refuses locked ones (`!` password), so they
 * are made with the password field `*` (no password, not locked).
 *
 * @example
 * ```ts
 * const sshd = await sshdServer();
 * createTarget({ type: 'ssh', host: sshd.host, port: sshd.port, hostKey: sshd.hostKey });
 * await sshd.release();
 * ```
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fingerprintOf, newPrivateKey, publicKeyOf } from '../../src/targets/ssh/keys.js';
import type { Credential } from '../../src/targets/target.js';
import { freePort, sharedDaemon, stopChildren, type Started } from './local-daemon.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshdServer {
  readonly host: string;
  readonly port: number;
  /** The host key's fingerprint (`SHA256:...`): the tests pin it. */
  readonly hostKey: string;
  /** root and its private key (its public key is in the folder's keys/root). */
  readonly admin: Credential;
  /** Stops the server once every holder has released it. */
  release(): Promise<void>;
}

/** How long the server gets to start answering (polled). */
const START_MS = 15_000;

/** True once something at 127.0.0.1:port sends an SSH banner. */
function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\n')) done(text.startsWith('SSH-2.0-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

async function start(): Promise<Started<Omit<SshdServer, 'release'>>> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing (openssh-server; .ci/run installs it)`);
  // sshd's privilege separation folder (the package makes it at boot only).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync('/run/keyturn-sshd-');
  chmodSync(dir, 0o755);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const hostKeyFile = join(dir, 'host_ed25519');
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'keyturn-test', '-f', hostKeyFile], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
    const hostBlob = Buffer.from(readFileSync(`${hostKeyFile}.pub`, 'utf8').split(' ')[1]!, 'base64');
    const admin = { username: 'root', password: newPrivateKey() };
    mkdirSync(join(dir, 'keys'), { mode: 0o755 });
    writeFileSync(join(dir, 'keys', 'root'), `${(await publicKeyOf(admin.password)).line} keyturn-test-admin\n`, { mode: 0o600 });
    // A port taken between freePort and sshd's bind (another test file) makes it exit: try again.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      writeFileSync(
        config,
        `ListenAddress 127.0.0.1:${port}
HostKey ${hostKeyFile}
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AuthorizedKeysFile .ssh/authorized_keys ${join(dir, 'keys')}/%u
MaxStartups 200:30:400
MaxAuthTries 6
LogLevel VERBOSE
`,
      );
      let log = '';
      const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
      child.once('error', (e) => (log += `${e.message}\n`));
      const deadline = performance.now() + START_MS;
      let up = false;
      while (!up && child.exitCode === null && performance.now() < deadline) {
        up = await banner(port);
        if (!up) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (up) return { server: { host: '127.0.0.1', port, hostKey: fingerprintOf(hostBlob), admin }, children: [child], remove };
      await stopChildren([child]);
      if (attempt === 3) throw new Error(`sshd did not start: ${log.trim().split('\n').slice(-5).join(' | ')}`);
    }
  } catch (e) {
    remove();
    throw e;
  }
}

const shared = sharedDaemon(start);

/** This process's sshd, started on first use; call `release()` when done with it. */
export function sshdServer(): Promise<SshdServer> {
  return shared.acquire();
}
