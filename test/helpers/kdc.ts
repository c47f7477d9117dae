/**
 * Test helper: an MIT Kerberos KDC (`krb5kdc`) and admin server (`kadmind`, which also serves
 * kpasswd) of this test process's own, on free loopback ports in a temp folder, with a realm of
 * its own (`.ci/run` installs the Debian packages krb5-kdc, krb5-admin-server and krb5-user). One
 * pair per process, shared by the fixtures that hold it: the first `kdcServer()` starts it, the
 * last `release()` stops it (SIGTERM, then the folder is removed); a process that exits without
 * releasing kills them.
 *
 * The realm: a krb5.conf and a kdc.conf in the folder (the tools find them through
 * `KRB5_CONFIG` and `KRB5_KDC_PROFILE`, set in `env`, never in this process's own environment), a
 * database made by `kdb5_util create -s` with a random master password given on its stdin, AES
 * keys with the normal salt, preauthentication required for every principal, and a kadm5.acl:
 * `admin/admin` (the admin, random password) has every privilege and `e` (extract keys), and
 * principals `kt_adm*` may only inquire (the weak admins).
 *
 * @example
 * ```ts
 * const kdc = await kdcServer();
 * await kdc.kadminLocal('addprinc kt_app', ['First-pass-1', 'First-pass-1']);
 * createTarget({ type: 'kerberos', realm: kdc.realm, host: kdc.host, port: kdc.port, adminPort: kdc.adminPort, kpasswdPort: kdc.kpasswdPort });
 * await kdc.release();
 * ```
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Credential } from '../../src/targets/target.js';
import { freePort, sharedDaemon, stopChildren, type Started } from './local-daemon.js';

export const KDC_REALM = 'KEYTURN.TEST';

export interface KdcServer {
  readonly realm: string;
  readonly host: string;
  /** The KDC (UDP and TCP). */
  readonly port: number;
  /** kadmind. */
  readonly adminPort: number;
  /** kadmind's password-change service. */
  readonly kpasswdPort: number;
  /** admin/admin and its password. */
  readonly admin: Credential;
  /** The folder's krb5.conf and kdc.conf. */
  readonly krb5Conf: string;
  readonly kdcProfile: string;
  /** KRB5_CONFIG and KRB5_KDC_PROFILE for a tool run against this realm. */
  readonly env: Record<string, string>;
  /** Runs a tool with this realm's env, `stdin` lines on its prompts; resolves with its exit code and output. */
  tool(command: string, args: readonly string[], stdin?: readonly string[], extraEnv?: Record<string, string>): Promise<ToolRun>;
  /** Runs one kadmin.local query (stdin lines for its prompts); throws when it prints a failure. */
  kadminLocal(query: string, stdin?: readonly string[]): Promise<string>;
  /** Stops the servers once every holder has released them. */
  release(): Promise<void>;
}

export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How long the servers get to start answering (polled). */
const START_MS = 15_000;

const TOOL_PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

function runTool(env: Record<string, string>, command: string, args: readonly string[], stdin: readonly string[] = []): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: TOOL_PATH, LANG: 'C', LC_ALL: 'C', ...env }, stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin.map((l) => `${l}\n`).join(''));
  });
}

function krb5Conf(ports: { kdc: number; admin: number; kpasswd: number }): string {
  return `[libdefaults]
  default_realm = ${KDC_REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false

[realms]
  ${KDC_REALM} = {
    kdc = 127.0.0.1:${ports.kdc}
    admin_server = 127.0.0.1:${ports.admin}
    kpasswd_server = 127.0.0.1:${ports.kpasswd}
  }
`;
}

function kdcConf(dir: string, ports: { kdc: number; admin: number; kpasswd: number }): string {
  return `[kdcdefaults]
  kdc_listen = 127.0.0.1:${ports.kdc}
  kdc_tcp_listen = 127.0.0.1:${ports.kdc}

[realms]
  ${KDC_REALM} = {
    database_name = ${join(dir, 'principal')}
    key_stash_file = ${join(dir, 'stash')}
    acl_file = ${join(dir, 'kadm5.acl')}
    kadmind_listen = 127.0.0.1:${ports.admin}
    kpasswd_listen = 127.0.0.1:${ports.kpasswd}
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    default_principal_flags = +preauth
  }

[logging]
  kdc = FILE:${join(dir, 'kdc.log')}
  admin_server = FILE:${join(dir, 'kadmind.log')}
`;
}

async function start(): Promise<Started<Omit<KdcServer, 'release'>>> {
  const dir = mkdtempSync(join(tmpdir(), 'keyturn-kdc-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const admin = { username: 'admin/admin', password: `Admin-${randomBytes(12).toString('hex')}` };
  // A port taken between freePort and the daemons' bind (another test file) makes them exit: try again.
  for (let attempt = 1; ; attempt++) {
    const ports = { kdc: await freePort(), admin: await freePort(), kpasswd: await freePort() };
    const krb5 = join(dir, 'krb5.conf');
    const profile = join(dir, 'kdc.conf');
    writeFileSync(krb5, krb5Conf(ports));
    writeFileSync(profile, kdcConf(dir, ports));
    writeFileSync(join(dir, 'kadm5.acl'), `admin/admin@${KDC_REALM} *e\nkt_adm*@${KDC_REALM} i\n`);
    const env = { KRB5_CONFIG: krb5, KRB5_KDC_PROFILE: profile, KRB5CCNAME: `FILE:${join(dir, 'ccache')}` };
    const tool: KdcServer['tool'] = (command, args, stdin, extraEnv) => runTool({ ...env, ...extraEnv }, command, args, stdin);
    const kadminLocal: KdcServer['kadminLocal'] = async (query, stdin = []) => {
      const r = await tool('kadmin.local', ['-r', KDC_REALM, '-q', query], stdin);
      if (r.code !== 0 || /^[a-z_]+: .+ while /m.test(r.stderr)) throw new Error(`kadmin.local ${query.split(' ')[0]} failed: ${r.stderr.trim().split('\n').pop()}`);
      return r.stdout;
    };
    try {
      if (attempt === 1) {
        const master = randomBytes(18).toString('base64url');
        const made = await tool('kdb5_util', ['create', '-s', '-r', KDC_REALM], [master, master]);
        if (made.code !== 0) throw new Error(`kdb5_util create failed (is krb5-kdc installed? .ci/run installs it): ${made.stderr.trim()}`);
        await kadminLocal('addprinc admin/admin', [admin.password, admin.password]);
      }
    } catch (e) {
      remove();
      throw e;
    }
    let log = '';
    const daemonEnv = { PATH: TOOL_PATH, LANG: 'C', ...env };
    // -n / -nofork: stay in the foreground (this process holds them).
    const children = [
      spawn('krb5kdc', ['-n', '-r', KDC_REALM], { env: daemonEnv, stdio: ['ignore', 'ignore', 'pipe'] }),
      spawn('kadmind', ['-nofork', '-r', KDC_REALM], { env: daemonEnv, stdio: ['ignore', 'ignore', 'pipe'] }),
    ];
    for (const c of children) {
      c.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      c.once('error', (e) => (log += `${e.message}\n`));
    }
    const deadline = performance.now() + START_MS;
    let up = false;
    while (!up && children.every((c) => c.exitCode === null) && performance.now() < deadline) {
      // kadmind answering an admin query needs both: the admin's ticket comes from the KDC.
      const r = await tool('kadmin', ['-r', KDC_REALM, '-s', `127.0.0.1:${ports.admin}`, '-p', admin.username, '-q', 'getprinc admin/admin'], [admin.password]);
      up = r.code === 0 && r.stdout.includes('Principal: admin/admin');
      if (!up) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (up) {
      const server = {
        realm: KDC_REALM,
        host: '127.0.0.1',
        port: ports.kdc,
        adminPort: ports.admin,
        kpasswdPort: ports.kpasswd,
        admin,
        krb5Conf: krb5,
        kdcProfile: profile,
        env,
        tool,
        kadminLocal,
      };
      return { server, children, remove };
    }
    await stopChildren(children);
    if (attempt === 3) {
      remove();
      throw new Error(`the KDC did not start (is krb5-kdc / krb5-admin-server installed? .ci/run installs them): ${log.trim().split('\n').slice(-5).join(' | ')}`);
    }
  }
}

const shared = sharedDaemon(start);

/** This process's KDC and kadmind, started on first use; call `release()` when done with them. */
export function kdcServer(): Promise<KdcServer> {
  return shared.acquire();
}
