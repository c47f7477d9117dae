/**
 * Test helper: an OpenLDAP `slapd` of this test process's own, on free loopback ports in a temp
 * folder (`.ci/run` installs the Debian packages slapd and ldap-utils). One server per process,
 * shared by the fixtures that hold it: the first `slapdServer()` starts it, the last `release()`
 * stops it (SIGTERM, then the folder is removed); a process that exits without releasing kills it.
 *
 * The server: slapd.conf with the core, cosine and inetorgperson schemas, an mdb database for
 * `dc=keyturn,dc=test` (entries `ou=people`, `ou=groups`), a root DN with a random password as the
 * admin, `password-hash {SSHA}` (the RFC 3062 Password Modify operation is built into slapd), the
 * ppolicy overlay with a default policy (`SLAPD_MIN_PASSWORD_LENGTH`, quality checked), and
 * the usual ACLs: a user may write its own userPassword, anyone may bind, nobody else reads or
 * writes a password, everything else is readable. It listens on ldap:// and ldaps://, with a
 * certificate for 127.0.0.1 from a CA made here with openssl (`caFile`), for StartTLS and LDAPS.
 *
 * @example
 * ```ts
 * const slapd = await slapdServer();
 * createTarget({ type: 'ldap', url: slapd.url, userDn: `uid={username},${slapd.people}` });
 * await slapd.release();
 * ```
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import type { Credential } from '../../src/targets/target.js';
import { exited, freePort, sharedDaemon, type Started } from './local-daemon.js';

export const SLAPD_SUFFIX = 'dc=keyturn,dc=test';
/** The default password policy: at least 8 characters, checked on every change (the root DN is exempt). */
export const SLAPD_POLICY = `cn=default,ou=policies,${SLAPD_SUFFIX}`;
export const SLAPD_MIN_PASSWORD_LENGTH = 8;

export interface SlapdServer {
  readonly host: string;
  /** ldap://127.0.0.1:PORT (plain, StartTLS offered). */
  readonly url: string;
  readonly port: number;
  /** ldaps://127.0.0.1:PORT. */
  readonly ldapsUrl: string;
  /** PEM file of the CA that signed the server's certificate (for 127.0.0.1). */
  readonly caFile: string;
  /** The root DN and its password. */
  readonly admin: Credential;
  readonly suffix: string;
  /** ou=people,<suffix>: where users live. */
  readonly people: string;
  /** ou=groups,<suffix>: where groups live. */
  readonly groups: string;
  /** Stops the server once every holder has released it. */
  release(): Promise<void>;
}

/** How long slapd gets to start answering (polled). */
const START_MS = 15_000;

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 20_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`${command} failed: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

/** A CA and a certificate for 127.0.0.1 it signed (openssl, on every machine). */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=keyturn-test-ca'], dir);
  await run('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

function slapdConf(dir: string, certs: { ca: string; cert: string; key: string }, admin: Credential): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile ${join(dir, 'slapd.pid')}
password-hash {SSHA}
TLSCACertificateFile ${certs.ca}
TLSCertificateFile ${certs.cert}
TLSCertificateKeyFile ${certs.key}
database mdb
maxsize 104857600
suffix "${SLAPD_SUFFIX}"
rootdn "${admin.username}"
rootpw ${admin.password}
directory ${join(dir, 'db')}
overlay ppolicy
ppolicy_default "${SLAPD_POLICY}"
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`;
}

/** Binds as the admin: true once the server answers. */
async function answers(url: string, admin: Credential): Promise<boolean> {
  const client = new Client({ url, connectTimeout: 1000, timeout: 2000 });
  try {
    await client.bind(admin.username, admin.password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function start(): Promise<Started<Omit<SlapdServer, 'release'>>> {
  const dir = mkdtempSync(join(tmpdir(), 'keyturn-slapd-'));
  const tmp = { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
  mkdirSync(join(tmp.dir, 'db'));
  const admin = { username: `cn=admin,${SLAPD_SUFFIX}`, password: `Admin-${randomBytes(12).toString('hex')}` };
  const conf = join(tmp.dir, 'slapd.conf');
  let certs: { ca: string; cert: string; key: string };
  try {
    certs = await makeCertificates(tmp.dir);
    writeFileSync(conf, slapdConf(tmp.dir, certs, admin), { mode: 0o600 });
    // slapd -d 0 prints nothing on a bad config: slaptest says what is wrong.
    await run('slaptest', ['-u', '-f', conf], tmp.dir);
  } catch (e) {
    tmp.remove();
    throw e;
  }
  // A port taken between freePort and slapd's bind (another test file) makes slapd exit: try again.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const ldapsPort = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    let log = '';
    // -d 0: stay in the foreground (this process holds it), log nothing but errors.
    const child = spawn('slapd', ['-f', conf, '-h', `${url}/ ldaps://127.0.0.1:${ldapsPort}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const deadline = performance.now() + START_MS;
    let up = false;
    while (!up && child.exitCode === null && performance.now() < deadline) {
      up = await answers(url, admin);
      if (!up) await Promise.race([new Promise((r) => setTimeout(r, 50)), spawnError]);
    }
    if (up) {
      const server = {
        host: '127.0.0.1',
        url,
        port,
        ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
        caFile: certs.ca,
        admin,
        suffix: SLAPD_SUFFIX,
        people: `ou=people,${SLAPD_SUFFIX}`,
        groups: `ou=groups,${SLAPD_SUFFIX}`,
      };
      await seed(server);
      return { server, children: [child], remove: tmp.remove };
    }
    child.kill('SIGKILL');
    await exited(child);
    if (attempt === 3) {
      tmp.remove();
      throw new Error(`slapd did not start (is it installed? .ci/run installs slapd): ${log.trim().split('\n').slice(-5).join(' | ')}`);
    }
  }
}

/** The suffix entry and the two organizational units. */
async function seed(server: Omit<SlapdServer, 'release'>): Promise<void> {
  const client = new Client({ url: server.url, timeout: 5000 });
  try {
    await client.bind(server.admin.username, server.admin.password);
    await client.add(server.suffix, { objectClass: ['dcObject', 'organization'], o: 'keyturn', dc: 'keyturn' });
    await client.add(server.people, { objectClass: 'organizationalUnit', ou: 'people' });
    await client.add(server.groups, { objectClass: 'organizationalUnit', ou: 'groups' });
    await client.add(`ou=policies,${server.suffix}`, { objectClass: 'organizationalUnit', ou: 'policies' });
    await client.add(SLAPD_POLICY, { objectClass: ['device', 'pwdPolicy'], cn: 'default', pwdAttribute: 'userPassword', pwdMinLength: String(SLAPD_MIN_PASSWORD_LENGTH), pwdCheckQuality: '2' });
  } finally {
    await client.unbind();
  }
}

const shared = sharedDaemon(start);

/** This process's slapd, started on first use; call `release()` when done with it. */
export function slapdServer(): Promise<SlapdServer> {
  return shared.acquire();
}
