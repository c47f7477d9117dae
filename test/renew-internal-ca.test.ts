/**
 * The internal-ca target through the two shared renew suites:
 *
 * - `runRenewContract` (src/contracts/renew-contract.ts) against an intermediate made with
 *   createRootCa/createIntermediateCa; the foreign value is a leaf of another CA for the same
 *   names. The idempotence test is skipped by name: the internal CA has no outside effect (no
 *   `retire`).
 * - `crashRenewSuite` (test/helpers/crash-renew.ts): a real home (`keyturn init`, `keyturn ca
 *   init`, `keyturn apply`) whose secret `tls/web` (`type: certificate`) has two FILE consumers,
 *   `web.crt` (`{{cert}}{{chain}}`, the full chain nginx serves) and `web.key` (`{{key}}`), a
 *   real `keyturn rotate` SIGKILLed at each step boundary and at seeded random moments.
 *
 * What is checked when: right after a kill, the STORED current value passes the target's check
 * against the CA (`usable`). The FILES are checked only after recovery (`afterRecovery`): they
 * hold the current value, the key file's key is the cert file's leaf's, and the leaf verifies to
 * the root with the rest of the cert file as its chain (`openssl verify -CAfile root -untrusted
 * chain -purpose sslserver -verify_hostname web.test`). Not right after a kill, because that
 * window is real: the consumers write the two files one after the other (each atomically), and a
 * kill between the two writes leaves the NEW certificate next to the OLD key until recovery
 * rewrites both. The last describe block aims kills at that window (SIGKILL as soon as fs.watch
 * sees a new web.crt) and shows it: 14 of 15 such kills (three runs) left a mismatched pair
 * (the other child had finished both writes), and recovery mended each. A server (re)loading
 * its files in that window would fail to start its TLS listener; closing it takes one file
 * holding key and certificate, or a consumer writing both files as one step.
 *
 * The same suite runs a second time with ONE file consumer writing key and full chain into
 * web.pem (atomically, a rename): there `usable` also checks the file on disk right after every
 * kill, so the endpoint's files are a valid pair at every instant (docs/certificates.md
 * recommends this form).
 */
import { execFile, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa } from '../src/certs/issue/ca.js';
import { issueLeaf } from '../src/certs/issue/leaf.js';
import { asCertificateValue, pemCertificates, type CertificateValue } from '../src/certs/value.js';
import { runRenewContract } from '../src/contracts/renew-contract.js';
import { createLogger } from '../src/core/logger.js';
import type { SecretValue } from '../src/core/types.js';
import { createTarget } from '../src/targets/registry.js';
import { NotYet, type Renewer, type TargetContext } from '../src/targets/target.js';
import { BIN, runCli, SPAWN_MS } from './helpers/cli.js';
import { crashRenewSuite, type RenewHome } from './helpers/crash-renew.js';
import { tempDir } from './helpers/state.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const YEAR = 365 * DAY;
const TARGET = { type: 'internal-ca' as const, commonName: 'web.test', dnsNames: ['web.test'], ipAddresses: ['127.0.0.1'] };

runRenewContract({
  name: 'internal-ca',
  make: async () => {
    const root = await createRootCa({ name: 'KT Contract CA', validityMs: 10 * YEAR });
    const intermediate = await createIntermediateCa(root, { name: 'KT Contract CA', validityMs: 3 * YEAR });
    const otherRoot = await createRootCa({ name: 'Other CA', validityMs: YEAR });
    const otherIntermediate = await createIntermediateCa(otherRoot, { name: 'Other CA', validityMs: YEAR });
    return {
      target: createTarget(TARGET),
      adminValue: intermediate,
      secretParts: (v: SecretValue) => [(v as CertificateValue).key],
      // Same names and usages, another CA: only the issuer is wrong.
      foreign: () => issueLeaf(otherIntermediate, { commonName: 'web.test', dnsNames: ['web.test'], ipAddresses: ['127.0.0.1'], validityMs: 30 * DAY }),
      close: async () => {},
    };
  },
  skip: {
    'with an outside effect (retire), an issue retried for one version id leaves one live value, and retire is idempotent':
      'the internal CA has no outside effect: each issue is a new key and certificate, an old one simply expires (no retire)',
  },
});

/** A Keyturn home with the internal CA and `tls/web` written to web.crt and web.key in `dir`. */
interface CaHome extends RenewHome {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Why the files on disk are not a valid pair now, or null when they are. */
  filesProblem(): Promise<string | null>;
}

function ctx(adminValue: SecretValue): TargetContext {
  return { strategy: 'renew', admin: null, adminValue, primaryUsername: '', log: createLogger('silent'), signal: AbortSignal.timeout(60_000) };
}

/** check, at the time a NotYet names when it throws one (what the engine would wait for). */
async function checks(renewer: Renewer, adminValue: SecretValue, value: SecretValue): Promise<void> {
  const now = Date.now();
  try {
    await renewer.check(ctx(adminValue), value, { pendingSince: now, now });
  } catch (e) {
    if (!(e instanceof NotYet)) throw e;
    await renewer.check(ctx(adminValue), value, { pendingSince: now, now: e.at });
  }
}

async function cli(env: Record<string, string>, argv: string[]): Promise<string> {
  const r = await runCli(argv, { env: { ...env, KEYTURN_LOG_LEVEL: 'silent' } });
  if (r.code !== 0) throw new Error(`keyturn ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The PEM private key block of a file that may hold certificates too. */
function keyBlock(text: string): string {
  const m = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(text);
  return m ? m[0] : '';
}

/**
 * The home of the crash suite. `oneFile`: a single file consumer writes the key and the full chain
 * into web.pem (atomically), which nginx can load as both its certificate and its key; otherwise
 * two files, web.crt and web.key, one after the other.
 */
async function caHome(oneFile = false): Promise<CaHome> {
  const tmp = tempDir('keyturn-renew-ica-');
  try {
    const home = join(tmp.dir, 'home');
    const dir = join(tmp.dir, 'tls');
    mkdirSync(dir);
    const certFile = join(dir, oneFile ? 'web.pem' : 'web.crt');
    const keyFile = join(dir, oneFile ? 'web.pem' : 'web.key');
    const consumers = oneFile
      ? `      - type: file
        path: ${certFile}
        template: "{{key}}{{cert}}{{chain}}"
        mode: "0600"`
      : `      - type: file
        path: ${certFile}
        template: "{{cert}}{{chain}}"
      - type: file
        path: ${keyFile}
        template: "{{key}}"
        mode: "0600"`;
    const env = { KEYTURN_HOME: home };
    await cli(env, ['init']);
    await cli(env, ['ca', 'init', '--name', 'KT Crash CA']);
    const config = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(
      config,
      `version: 1
targets:
  web-tls: ${JSON.stringify({ ...TARGET, admin: 'pki/ca/intermediate' })}
secrets:
  tls/web:
    type: certificate
    target: web-tls
    consumers:
${consumers}
`,
    );
    await cli(env, ['apply', '-f', config]);
    const rootFile = join(tmp.dir, 'root.pem');
    writeFileSync(rootFile, await cli(env, ['ca', 'show', '--pem']));
    const intermediate = asCertificateValue('pki/ca/intermediate', (JSON.parse(await cli(env, ['secret', 'get', 'pki/ca/intermediate', '--json'])) as { value: SecretValue }).value);
    const renewer = createTarget(TARGET).renewer!;
    const leafFile = join(tmp.dir, 'leaf.pem');
    const chainFile = join(tmp.dir, 'chain.pem');

    const filesProblem = async (): Promise<string | null> => {
      const blocks = pemCertificates(readFileSync(certFile, 'utf8'));
      if (blocks.length < 2) return `web.crt holds ${blocks.length} certificate(s), not a leaf and its chain`;
      const leaf = new X509Certificate(blocks[0]!);
      if (!leaf.checkPrivateKey(createPrivateKey(keyBlock(readFileSync(keyFile, 'utf8'))))) return `web.key is not the key of the certificate in web.crt (serial ${leaf.serialNumber.toLowerCase()})`;
      writeFileSync(leafFile, blocks[0]!);
      writeFileSync(chainFile, blocks.slice(1).join(''));
      try {
        await run('openssl', ['verify', '-CAfile', rootFile, '-untrusted', chainFile, '-purpose', 'sslserver', '-verify_hostname', 'web.test', leafFile]);
      } catch (e) {
        return `openssl verify refuses web.crt: ${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? String(e)}`;
      }
      return null;
    };

    return {
      env,
      path: 'tls/web',
      dir,
      certFile,
      keyFile,
      filesProblem,
      async usable(value) {
        await checks(renewer, intermediate, value);
        // Two files may be a mismatched pair right after a kill (see the header); one file never is: what nginx would load is checked too.
        if (oneFile) expect(await filesProblem(), 'right after the kill, web.pem is not a valid key and chain').toBeNull();
        return true;
      },
      async afterRecovery() {
        const problem = await filesProblem();
        expect(problem, 'after recovery, the files on disk are not a valid pair').toBeNull();
        const current = asCertificateValue('tls/web', (JSON.parse(await cli(env, ['secret', 'get', 'tls/web', '--json'])) as { value: SecretValue }).value);
        if (oneFile) expect(readFileSync(certFile, 'utf8'), 'after recovery, web.pem is not the current key and chain').toBe(current.key + current.cert + current.chain);
        else {
          expect(readFileSync(certFile, 'utf8'), 'after recovery, web.crt is not the current certificate and chain').toBe(current.cert + current.chain);
          expect(readFileSync(keyFile, 'utf8'), 'after recovery, web.key is not the current key').toBe(current.key);
        }
      },
      close: async () => tmp.remove(),
    };
  } catch (e) {
    tmp.remove();
    throw e;
  }
}

crashRenewSuite('internal-ca', () => caHome());
// Key and full chain in one file: right after every kill, the file on disk is a valid pair (what an endpoint loads).
crashRenewSuite('internal-ca (one file: key and full chain)', () => caHome(true));

/**
 * The window between the two consumer writes, aimed at: a `keyturn rotate` is SIGKILLed as soon
 * as a new web.crt appears (fs.watch on the folder sees the rename), then the files are read
 * before any recovery. Each attempt records whether the pair on disk was mismatched.
 */
/** The cert file's text, or null when it cannot be read now. */
function certNow(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

describe('kill -9 between the two consumer files of tls/web', () => {
  let h: CaHome;
  beforeAll(async () => {
    h = await caHome();
    expect((await runCli(['rotate', h.path], { env: h.env })).code).toBe(0);
  }, 2 * SPAWN_MS);
  afterAll(async () => {
    await h?.close();
  });

  it('a kill right after web.crt is replaced leaves the files mismatched until recovery, which mends them (5 tries)', { timeout: 10 * SPAWN_MS }, async () => {
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = readFileSync(h.certFile, 'utf8');
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'rotate', h.path], { env: { PATH: process.env.PATH ?? '', ...h.env, KEYTURN_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
        const watcher = watch(h.dir, () => {
          const now = certNow(h.certFile);
          if (now !== null && now !== before) {
            child.kill('SIGKILL');
            watcher.close();
          }
        });
        child.on('exit', (_code, sig) => {
          watcher.close();
          resolve(sig);
        });
      });
      const problem = await h.filesProblem();
      outcomes.push(signal === 'SIGKILL' ? (problem === null ? 'killed: pair valid' : `killed: ${problem}`) : 'finished before the kill');
      // Recovery rewrites both files.
      expect((await runCli(['rotate', h.path], { env: { ...h.env, KEYTURN_LOG_LEVEL: 'silent' } })).code).toBe(0);
      expect(await h.filesProblem()).toBeNull();
    }
    console.log(`kill after web.crt was replaced, before recovery:\n  ${outcomes.join('\n  ')}`);
    // Not asserted: that each kill left a mismatch (the child may finish both writes first), only
    // that the window was reached at all. The files are only checked after recovery above.
    expect(outcomes.filter((o) => o.startsWith('killed')).length, outcomes.join('; ')).toBeGreaterThan(0);
  });
});
