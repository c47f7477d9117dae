/**
 * The acme target against a real ACME CA: Let's Encrypt's test server pebble (test/helpers/pebble.ts),
 * which validates the HTTP-01 challenge for real against the target's challenge server on
 * loopback (every name resolves to 127.0.0.1 through pebble-challtestsrv's DNS). Issued
 * certificates are verified with openssl against pebble's root; a second issue makes a new key and
 * serial; an unreachable CA, a wrong directory URL and an untrusted directory certificate are
 * KT_TARGET_UNAVAILABLE; a refused identifier and a failed validation are KT_ACME_ORDER_FAILED
 * with the ACME problem type; check() refuses a value whose key, names or chain are wrong; no
 * key reaches an error or a log line.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import type { SecretValue } from '../src/core/types.js';
import { createTarget } from '../src/targets/registry.js';
import { NotYet, type Renewer, type TargetContext } from '../src/targets/target.js';
import { freePort } from './helpers/local-daemon.js';
import { startPebble, type PebbleServer } from './helpers/pebble.js';
import { tempDir } from './helpers/state.js';

type CertValue = { cert: string; key: string; chain: string; notAfter: string; serial: string };

const accountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

let pebble: PebbleServer;
let tmp: { dir: string; remove(): void };
let rootFile: string;
let lines = '';

beforeAll(async () => {
  pebble = await startPebble();
  tmp = tempDir('keyturn-acme-');
  rootFile = join(tmp.dir, 'root.pem');
  writeFileSync(rootFile, await pebble.root());
}, 60_000);

afterAll(async () => {
  await pebble?.stop();
  tmp?.remove();
});

function ctx(adminValue: SecretValue | null = accountKey, signal: AbortSignal = AbortSignal.timeout(60_000)): TargetContext {
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((lines += chunk.toString()), done()) });
  return { strategy: 'renew', admin: null, adminValue, primaryUsername: '', log: createLogger('trace', sink), signal };
}

function renewer(over: Record<string, unknown> = {}): Renewer {
  return createTarget({
    type: 'acme',
    directoryUrl: pebble.directoryUrl,
    caBundle: pebble.caBundle,
    names: ['www.keyturn.test', 'keyturn.test'],
    challenge: { type: 'http-01', listen: `127.0.0.1:${pebble.challengePort}` },
    ...over,
  }).renewer!;
}

/** The error `fn` throws (it must throw a KeyturnError). */
async function failure(fn: () => Promise<unknown>): Promise<KeyturnError> {
  try {
    await fn();
  } catch (e) {
    if (isKeyturnError(e)) return e;
    throw e;
  }
  throw new Error('expected a KeyturnError');
}

/** `openssl verify` of the value's leaf against pebble's root and the value's chain, for `name`. */
function opensslVerify(value: CertValue, name: string): Promise<string> {
  const leaf = join(tmp.dir, `leaf-${value.serial}.pem`);
  const chain = join(tmp.dir, `chain-${value.serial}.pem`);
  writeFileSync(leaf, value.cert);
  writeFileSync(chain, value.chain);
  return new Promise((resolve, reject) => {
    execFile('openssl', ['verify', '-CAfile', rootFile, '-untrusted', chain, '-verify_hostname', name, '-purpose', 'sslserver', leaf], (err, stdout, stderr) =>
      err ? reject(new Error(`openssl verify failed: ${stdout}${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

const now = () => ({ pendingSince: Date.now(), now: Date.now() });

describe('acme target against pebble', () => {
  let first: CertValue;
  let second: CertValue;

  it('issues a certificate over a real HTTP-01 validation, which openssl verifies against the root', async () => {
    const r = renewer();
    first = (await r.issue(ctx(), null, 'run_1.g1')) as CertValue;
    expect(Object.keys(first).sort()).toEqual(['cert', 'chain', 'key', 'notAfter', 'serial']);
    expect(first.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(first.serial).toMatch(/^[0-9a-f]+$/);
    const leaf = new X509Certificate(first.cert);
    expect(first.serial).toBe(leaf.serialNumber.toLowerCase());
    expect(first.notAfter).toBe(new Date(leaf.validTo).toISOString());
    expect(leaf.subjectAltName).toBe('DNS:www.keyturn.test, DNS:keyturn.test');
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // The chain holds the intermediate, not the root.
    const root = new X509Certificate(await pebble.root());
    const chain = first.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new X509Certificate(p));
    expect(chain.length).toBeGreaterThanOrEqual(1);
    expect(chain.some((c) => c.fingerprint256 === root.fingerprint256)).toBe(false);
    expect(await opensslVerify(first, 'www.keyturn.test')).toMatch(/: OK$/);
    expect(await opensslVerify(first, 'keyturn.test')).toMatch(/: OK$/);
    await r.check(ctx(), first, now());
    // Pebble's certificates last five years: renewBefore 30d applies as is.
    expect(r.renewAt(first)).toBe(Date.parse(first.notAfter) - 30 * 86_400_000);
    expect(lines).toContain('acme certificate issued');
  });

  it('a second issue makes a new key and a new serial (rsa-2048 here), also verified', async () => {
    const r = renewer({ keyType: 'rsa-2048', renewBefore: '50%' });
    second = (await r.issue(ctx(), first, 'run_2.g1')) as CertValue;
    expect(second.serial).not.toBe(first.serial);
    expect(second.key).not.toBe(first.key);
    const leaf = new X509Certificate(second.cert);
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(await opensslVerify(second, 'www.keyturn.test')).toMatch(/: OK$/);
    await r.check(ctx(), second, now());
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    expect(r.renewAt(second)).toBe(notAfter - Math.floor((notAfter - notBefore) / 2));
  });

  it('check() refuses a key that is not the certificate key, names not covered, a missing chain, an expired certificate', async () => {
    const r = renewer();
    const mismatched = { ...first, key: second.key };
    const e = await failure(() => r.check(ctx(), mismatched, now()));
    expect(e.code).toBe('KT_ACME_CERT_INVALID');
    expect(e.message).toContain('key does not match');
    expect(e.message).not.toContain('PRIVATE KEY');

    const other = renewer({ names: ['www.keyturn.test', 'api.keyturn.test'] });
    expect((await failure(() => other.check(ctx(), first, now()))).message).toContain('does not cover api.keyturn.test');

    expect((await failure(() => r.check(ctx(), { ...first, chain: '' }, now()))).message).toContain('without its chain');
    expect((await failure(() => r.check(ctx(), { ...first, chain: second.cert }, now()))).message).toContain('not issued by the first certificate of its chain');
    const after = Date.parse(first.notAfter) + 1000;
    expect((await failure(() => r.check(ctx(), first, { pendingSince: after, now: after }))).message).toContain('expired');
    const before = Date.parse(new X509Certificate(first.cert).validFrom) - 60_000;
    await expect(r.check(ctx(), first, { pendingSince: before, now: before })).rejects.toBeInstanceOf(NotYet);
    expect((await failure(() => r.check(ctx(), 'just a string', now()))).code).toBe('KT_ACME_CERT_INVALID');
  });

  it('an identifier the CA refuses is KT_ACME_ORDER_FAILED with the ACME problem type', async () => {
    // Pebble refuses an IP address given as a DNS name (the target orders names as DNS identifiers).
    const e = await failure(() => renewer({ names: ['127.0.0.1'] }).issue(ctx(), null, 'run_3.g1'));
    expect(e.code).toBe('KT_ACME_ORDER_FAILED');
    expect(e.message).toMatch(/\(malformed\): .*IP address/);
    expect(e.details.problem).toBe('malformed');
  });

  it('a validation the CA cannot complete (nothing answers where it looks) is KT_ACME_ORDER_FAILED (connection)', async () => {
    // The challenge answers are served on another port than the one pebble fetches them from.
    const port = await freePort();
    const e = await failure(() => renewer({ challenge: { type: 'http-01', listen: `127.0.0.1:${port}` }, names: ['nobody.keyturn.test'] }).issue(ctx(), null, 'run_4.g2'));
    expect(e.code).toBe('KT_ACME_ORDER_FAILED');
    expect(e.details.problem).toBe('connection');
    expect(e.message).toContain('validate nobody.keyturn.test with http-01');
  });

  it('a challenge port already in use is KT_TARGET_FAILED naming the address', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(pebble.challengePort, '127.0.0.1', resolve));
    try {
      const e = await failure(() => renewer({ names: ['busy.keyturn.test'] }).issue(ctx(), null, 'run_5.g1'));
      expect(e.code).toBe('KT_TARGET_FAILED');
      expect(e.message).toContain(`cannot listen on 127.0.0.1:${pebble.challengePort} (EADDRINUSE)`);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('an unreachable CA, a wrong directory URL and an untrusted directory certificate are KT_TARGET_UNAVAILABLE', async () => {
    const port = await freePort();
    const refused = await failure(() => renewer({ directoryUrl: `https://127.0.0.1:${port}/dir` }).issue(ctx(), null, 'run_6.g1'));
    expect(refused.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(refused.message).toContain('connection refused');
    const wrong = await failure(() => renewer({ directoryUrl: pebble.directoryUrl.replace(/\/dir$/, '/nope') }).issue(ctx(), null, 'run_6.g2'));
    expect(wrong.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(wrong.message).toContain('is not an ACME directory');
    const untrusted = await failure(() => renewer({ caBundle: undefined }).issue(ctx(), null, 'run_6.g3'));
    expect(untrusted.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(untrusted.message).toContain('TLS handshake failed');
  });

  it('an aborted rotation stops the issue with KT_TARGET_UNAVAILABLE (aborted)', async () => {
    const controller = new AbortController();
    controller.abort();
    const e = await failure(() => renewer().issue(ctx(accountKey, controller.signal), null, 'run_7.g1'));
    expect(e.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(e.message).toContain('aborted');
  });

  it('without an admin secret (the account key) the issue is refused; a bad account key is KT_ACME_ACCOUNT_KEY_INVALID', async () => {
    expect((await failure(() => renewer().issue(ctx(null), null, 'run_8.g1'))).code).toBe('KT_TARGET_ADMIN_REQUIRED');
    expect((await failure(() => renewer().issue(ctx({ username: 'x', password: 'y' }), null, 'run_8.g2'))).code).toBe('KT_ACME_ACCOUNT_KEY_INVALID');
    expect((await failure(() => renewer().issue(ctx('not a key'), null, 'run_8.g3'))).code).toBe('KT_ACME_ACCOUNT_KEY_INVALID');
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect((await failure(() => renewer().issue(ctx(ed), null, 'run_8.g4'))).message).toContain('EC P-256 or P-384');
    // The same account key as a secret of fields works too.
    const value = (await renewer({ names: ['fields.keyturn.test'] }).issue(ctx({ accountKey }), null, 'run_8.g5')) as CertValue;
    expect(new X509Certificate(value.cert).subjectAltName).toBe('DNS:fields.keyturn.test');
  });

  it('no private key reached a log line', () => {
    expect(lines).not.toContain('PRIVATE KEY');
    expect(lines).not.toContain(first.key.split('\n')[1]!);
  });
});
