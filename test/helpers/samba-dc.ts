/**
 * Test helper: a Samba Active Directory domain controller of this test process's own (`.ci/run`
 * installs the Debian package samba). One DC per process, shared by the fixtures that hold it: the
 * first `sambaDc()` starts it, the last `release()` stops it and removes its folder (./local-daemon.ts).
 *
 * Provisioning (`samba-tool domain provision`, realm KEYTURN.TEST, NetBIOS domain KEYTURN, no DNS
 * server, only the `ldap` service) takes about 10 s, so it is done once per machine into a cached
 * template folder in the temp directory, keyed by the Samba version and `TEMPLATE_VERSION`; each
 * DC is a copy of it with its paths and address rewritten in its smb.conf. The template's admin
 * password is the one `samba-tool` generates and prints when no `--adminpass` is given (so it is
 * never in any process's argv); it is kept in the template folder (mode 0600). The template also
 * sets the domain's minimum password age to 0 (the tests change a password several times a day);
 * the rest of the password policy is Samba's default: complexity on, at least 7 characters, a
 * history of 24, no lockout.
 *
 * Samba's LDAP ports are fixed (389, 636, 3268, 3269): each DC listens on an address of its own in
 * 127.11.0.0/16 (`interfaces = <address>/8`, `bind interfaces only`; the /8 makes Samba take an
 * address that is not on an interface, since Linux routes all of 127/8 to the loopback), so DCs of
 * parallel test files and anything on 127.0.0.1 never clash. The LDAPS certificate is the one Samba
 * generates on first start for its host name (`KTDC.keyturn.test`, no IP in it), signed by its own
 * CA (`<dir>/private/tls/ca.pem`): a client checks it with `caFile` and `tlsServerName`.
 * Samba runs as the test's user and binds ports below 1024: the tests run as root, as `.ci/run` does.
 *
 * @example
 * ```ts
 * const dc = await sambaDc();
 * createTarget({ type: 'active-directory', url: dc.url, caFile: dc.caFile, tlsServerName: dc.hostName, baseDn: dc.baseDn, domain: dc.realm });
 * await dc.release();
 * ```
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import type { Credential } from '../../src/targets/target.js';
import { exited, pollUntil, sharedDaemon, type Started } from './local-daemon.js';

/** Bump when the template's provisioning changes: a new cached template is made. */
const TEMPLATE_VERSION = 2;
export const SAMBA_REALM = 'keyturn.test';
export const SAMBA_DOMAIN = 'KEYTURN';
const HOST = 'ktdc';
/** Samba's default domain policy, as the template keeps it (minimum age set to 0). */
export const SAMBA_MIN_PASSWORD_LENGTH = 7;

export interface SambaDc {
  /** The DC's own loopback address (127.11.x.y). */
  readonly host: string;
  /** ldaps://<host> (port 636). */
  readonly url: string;
  /** The name on the DC's certificate (`tlsServerName`). */
  readonly hostName: string;
  /** PEM file of the CA Samba made for its certificate. */
  readonly caFile: string;
  /** `Administrator@keyturn.test` and its password. */
  readonly admin: Credential;
  /** DC=keyturn,DC=test. */
  readonly baseDn: string;
  /** CN=Users,<baseDn>: where the fixtures make users and groups. */
  readonly users: string;
  readonly realm: string;
  readonly domain: string;
  /** Stops the DC once every holder has released it. */
  release(): Promise<void>;
}

const START_MS = 60_000;

function run(command: string, args: string[], timeout = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} ${args[0] ?? ''} failed: ${(stderr || err.message).trim().split('\n').slice(-5).join(' | ')}`)) : resolve(`${stdout}${stderr}`),
    );
  });
}

/** The cached, provisioned template folder (made here when missing); returns it and its admin password. */
async function template(): Promise<{ dir: string; password: string }> {
  const version = await run('samba', ['--version']).catch(() => {
    throw new Error('samba is not installed (.ci/run installs the Debian package samba)');
  });
  const stamp = createHash('sha256').update(`${version}\n${TEMPLATE_VERSION}`).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `keyturn-samba-template-${stamp}`);
  const passwordFile = join(dir, 'keyturn-admin-password');
  if (!existsSync(passwordFile)) {
    // Provisioned aside and renamed into place, so a parallel test process sees a whole template or none.
    const work = mkdtempSync(`${dir}.tmp-`);
    try {
      const empty = join(work, 'empty.conf');
      writeFileSync(empty, '');
      // No --adminpass: samba-tool generates the password and prints it, so it is in no argv.
      const out = await run('samba-tool', [
        'domain',
        'provision',
        `--configfile=${empty}`,
        '--use-rfc2307',
        `--realm=${SAMBA_REALM.toUpperCase()}`,
        `--domain=${SAMBA_DOMAIN}`,
        '--server-role=dc',
        '--dns-backend=NONE',
        `--host-name=${HOST}`,
        `--targetdir=${work}`,
        '--option=interfaces = 127.11.0.1/8',
        '--option=bind interfaces only = yes',
        '--option=server services = ldap',
        `--option=log file = ${work}/log.%m`,
        `--option=pid directory = ${work}/run`,
        `--option=ncalrpc dir = ${work}/run/ncalrpc`,
      ]);
      const password = /Admin password:[ \t]+(.+)$/m.exec(out)?.[1];
      if (!password) throw new Error('samba-tool domain provision printed no admin password');
      const conf = join(work, 'etc', 'smb.conf');
      await run('samba-tool', ['domain', 'passwordsettings', 'set', '--min-pwd-age=0', `--configfile=${conf}`, `-H`, `tdb://${join(work, 'private', 'sam.ldb')}`]);
      writeFileSync(join(work, 'template-path'), work);
      writeFileSync(join(work, 'keyturn-admin-password'), password, { mode: 0o600 });
      try {
        renameSync(work, dir);
      } catch {
        rmSync(work, { recursive: true, force: true }); // another process made it first
      }
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    }
  }
  return { dir, password: readFileSync(passwordFile, 'utf8') };
}

/** True when something accepts connections at host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Binds over LDAPS as the admin: true once the DC answers. */
async function answers(dc: Omit<SambaDc, 'release'>): Promise<boolean> {
  if (!existsSync(dc.caFile)) return false;
  const client = new Client({ url: dc.url, connectTimeout: 1000, timeout: 5000, tlsOptions: { ca: readFileSync(dc.caFile), servername: dc.hostName } });
  try {
    await client.bind(dc.admin.username, dc.admin.password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function start(): Promise<Started<Omit<SambaDc, 'release'>>> {
  const tpl = await template();
  const templatePath = readFileSync(join(tpl.dir, 'template-path'), 'utf8');
  for (let attempt = 1; ; attempt++) {
    const host = `127.11.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    if (await listening(host, 636)) continue;
    const dir = mkdtempSync(join(tmpdir(), 'keyturn-samba-'));
    const remove = () => rmSync(dir, { recursive: true, force: true });
    cpSync(tpl.dir, dir, { recursive: true });
    rmSync(join(dir, 'keyturn-admin-password'));
    const conf = join(dir, 'etc', 'smb.conf');
    // Samba takes a user's previous password for an hour after a change (NTLM's old password
    // allowed period, which it applies to LDAP simple binds too; provisioning does not keep it): off.
    const settings = readFileSync(conf, 'utf8')
      .split(templatePath)
      .join(dir)
      .replace(/^(\s*interfaces = ).*$/m, `$1${host}/8`);
    writeFileSync(conf, settings.replace(/^\[global\]$/m, '[global]\n\told password allowed period = 0'));
    mkdirSync(join(dir, 'run'), { recursive: true });
    chmodSync(dir, 0o700);
    const server = {
      host,
      url: `ldaps://${host}`,
      hostName: `${HOST}.${SAMBA_REALM}`.toUpperCase(),
      caFile: join(dir, 'private', 'tls', 'ca.pem'),
      admin: { username: `Administrator@${SAMBA_REALM}`, password: tpl.password },
      baseDn: SAMBA_REALM.split('.')
        .map((p) => `DC=${p}`)
        .join(','),
      users: `CN=Users,${SAMBA_REALM.split('.')
        .map((p) => `DC=${p}`)
        .join(',')}`,
      realm: SAMBA_REALM,
      domain: SAMBA_DOMAIN,
    };
    let log = '';
    // -M single: one process to stop; --foreground and --no-process-group: this process holds it.
    const child = spawn('samba', ['--configfile', conf, '--foreground', '--no-process-group', '-M', 'single', '--debug-stdout', '--debuglevel=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const up = await pollUntil(child, () => answers(server), START_MS, 100);
    if (up) return { server, children: [child], remove };
    child.kill('SIGKILL');
    await exited(child);
    remove();
    if (attempt >= 3) throw new Error(`samba did not start (is it installed? .ci/run installs samba): ${log.trim().split('\n').slice(-5).join(' | ')}`);
  }
}

const shared = sharedDaemon(start);

/** This process's Samba DC, started on first use; call `release()` when done with it. */
export function sambaDc(): Promise<SambaDc> {
  return shared.acquire();
}
