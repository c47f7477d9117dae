/**
 * The internal CA and the internal-ca target, checked with real openssl: leaves issued from an
 * intermediate verify to the root (`openssl verify -CAfile root -untrusted chain leaf`), carry
 * the names and usages configured, get a new key and serial each issue, never outlive their CA;
 * check() refuses a certificate of another CA, a swapped key, an expired one and other names;
 * renewAt follows renewBefore (duration, percentage, a third of a short lifetime).
 */
import { execFile } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa } from '../src/certs/issue/ca.js';
import { issueLeaf } from '../src/certs/issue/leaf.js';
import { asCertificateValue, type CertificateValue } from '../src/certs/value.js';
import { isKeyturnError, type ErrorCode } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import type { SecretValue } from '../src/core/types.js';
import { createTarget, parseTargetConfig } from '../src/targets/registry.js';
import type { Renewer, TargetContext } from '../src/targets/target.js';
import { makeCa, makeLeaf } from './helpers/certs.js';
import { tempDir } from './helpers/state.js';
import { configProblems } from './helpers/target-config.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const YEAR = 365 * DAY;

let tmp: ReturnType<typeof tempDir>;
let root: CertificateValue;
let intermediate: CertificateValue;
let otherIntermediate: CertificateValue;

beforeAll(async () => {
  tmp = tempDir();
  root = await createRootCa({ name: 'KT Test CA', validityMs: 10 * YEAR });
  intermediate = await createIntermediateCa(root, { name: 'KT Test CA', validityMs: 3 * YEAR });
  const otherRoot = await createRootCa({ name: 'Other CA', validityMs: YEAR });
  otherIntermediate = await createIntermediateCa(otherRoot, { name: 'Other CA', validityMs: YEAR });
});
afterAll(() => tmp?.remove());

function ctx(adminValue: SecretValue | null): TargetContext {
  return { strategy: 'renew', admin: null, adminValue, primaryUsername: '', log: createLogger('silent'), signal: new AbortController().signal };
}

function renewer(config: Record<string, unknown>): Renewer {
  return createTarget(parseTargetConfig({ type: 'internal-ca', commonName: 'web.test', dnsNames: ['web.test', '*.web.test'], ipAddresses: ['127.0.0.1', '::1'], ...config })).renewer!;
}

let fileNo = 0;
function write(text: string): string {
  const file = join(tmp.dir, `f${(fileNo += 1)}.pem`);
  writeFileSync(file, text);
  return file;
}

/** `openssl verify` of a leaf value against the root, with its chain as the untrusted intermediates. */
async function opensslVerify(leaf: CertificateValue, rootPem: string): Promise<string> {
  const { stdout } = await run('openssl', ['verify', '-CAfile', write(rootPem), '-untrusted', write(leaf.chain), write(leaf.cert)]);
  return stdout.trim();
}

async function code(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isKeyturnError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a KeyturnError');
}

describe('internal CA issuing', () => {
  it('makes a root and an intermediate openssl accepts as CAs (pathLen, key usage, key ids)', async () => {
    const { stdout: ok } = await run('openssl', ['verify', '-CAfile', write(root.cert), write(intermediate.cert)]);
    expect(ok).toMatch(/: OK$/m);
    const { stdout: text } = await run('openssl', ['x509', '-in', write(intermediate.cert), '-noout', '-text']);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec((await run('openssl', ['x509', '-in', write(root.cert), '-noout', '-text'])).stdout)![1];
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
    expect((await run('openssl', ['x509', '-in', write(root.cert), '-noout', '-text'])).stdout).toMatch(/CA:TRUE, pathlen:1/);
    expect(root.chain).toBe('');
    expect(root.serial).toMatch(/^[0-9a-f]{32}$/);
    expect(new X509Certificate(root.cert).serialNumber.toLowerCase()).toBe(root.serial);
    expect(asCertificateValue('root', { ...root })).toEqual(root);
  });

  it.each(['ec-p256', 'rsa-2048', 'ed25519'] as const)('issues a %s leaf that openssl verifies to the root, with the names and usages configured', async (keyType) => {
    const r = renewer({ keyType, extendedKeyUsage: ['serverAuth', 'clientAuth'], validity: '30d' });
    const leaf = asCertificateValue('leaf', await r.issue(ctx({ ...intermediate }), null, 'run_1.g1'));
    expect(await opensslVerify(leaf, root.cert)).toMatch(/: OK$/);
    expect(leaf.chain).toBe(intermediate.cert);
    const { stdout: text } = await run('openssl', ['x509', '-in', write(leaf.cert), '-noout', '-text']);
    expect(text).toContain('DNS:web.test, DNS:*.web.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(keyType === 'rsa-2048' ? /Key Usage: critical\s+Digital Signature, Key Encipherment\n/ : /Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Subject: CN ?= ?web\.test\n/);
    const x = new X509Certificate(leaf.cert);
    expect(x.publicKey.asymmetricKeyType).toBe({ 'ec-p256': 'ec', 'rsa-2048': 'rsa', ed25519: 'ed25519' }[keyType]);
    expect(leaf.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPublicKey(leaf.key).export({ format: 'der', type: 'spki' })).toEqual(x.publicKey.export({ format: 'der', type: 'spki' }));
    // Backdated a minute, valid 30 days.
    const from = Date.parse(x.validFrom);
    expect(Date.parse(x.validTo) - from).toBeGreaterThanOrEqual(30 * DAY + 59_000);
    expect(Date.parse(x.validTo) - from).toBeLessThanOrEqual(30 * DAY + 61_000);
    expect(leaf.notAfter).toBe(new Date(x.validTo).toISOString());
    await r.check(ctx(intermediate), leaf, { pendingSince: Date.now(), now: Date.now() });
  });

  it('gives a new key and a new serial on each issue; serverAuth only by default', async () => {
    const r = renewer({});
    const a = asCertificateValue('a', await r.issue(ctx(intermediate), null, 'run_1.g1'));
    const b = asCertificateValue('b', await r.issue(ctx(intermediate), a, 'run_2.g1'));
    expect(b.key).not.toBe(a.key);
    expect(b.serial).not.toBe(a.serial);
    expect(new X509Certificate(b.cert).publicKey.equals(new X509Certificate(a.cert).publicKey)).toBe(false);
    expect(new X509Certificate(a.cert).keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it("never outlives the issuing CA: the leaf's notAfter is clamped to the CA's, and still verifies", async () => {
    const shortCa = await createIntermediateCa(root, { name: 'Short', validityMs: 10 * DAY });
    const leaf = asCertificateValue('leaf', await renewer({ validity: '90d' }).issue(ctx(shortCa), null, 'run_1.g1'));
    expect(leaf.notAfter).toBe(shortCa.notAfter);
    expect(await opensslVerify(leaf, root.cert)).toMatch(/: OK$/);
    // An intermediate asked to outlive its root is clamped the same way.
    const longCa = await createIntermediateCa(root, { name: 'Long', validityMs: 50 * YEAR });
    expect(longCa.notAfter).toBe(root.notAfter);
  });

  it('refuses without a CA, with a value that is not one, with a leaf, and with an expired CA', async () => {
    const r = renewer({});
    expect(await code(r.issue(ctx(null), null, 'v'))).toMatchObject({ code: 'KT_TARGET_ADMIN_REQUIRED', message: expect.stringContaining('admin: pki/ca/intermediate') });
    expect((await code(r.issue(ctx({ username: 'u', password: 'p' }), null, 'v'))).code).toBe('KT_CERT_VALUE_INVALID');
    expect((await code(r.issue(ctx('a string'), null, 'v'))).code).toBe('KT_CERT_VALUE_INVALID');
    const leaf = await r.issue(ctx(intermediate), null, 'v');
    expect(await code(r.issue(ctx(leaf), null, 'v'))).toMatchObject({ code: 'KT_CA_INVALID', message: expect.stringContaining('not a CA certificate') });
    const oldRoot = await createRootCa({ name: 'Old', validityMs: DAY, now: Date.now() - 3 * DAY });
    expect(await code(r.issue(ctx(oldRoot), null, 'v'))).toMatchObject({ code: 'KT_CA_INVALID', message: expect.stringContaining('expired') });
    expect((await code(createIntermediateCa(oldRoot, { name: 'x', validityMs: DAY }))).code).toBe('KT_CA_INVALID');
    // A key that does not belong to the CA certificate.
    expect((await code(r.issue(ctx({ ...intermediate, key: otherIntermediate.key }), null, 'v'))).code).toBe('KT_CERT_VALUE_INVALID');
  });
});

describe('internal-ca check', () => {
  it("refuses another CA's certificate, a swapped key, an expired one, other names, a broken chain", async () => {
    const r = renewer({ validity: '30d' });
    const leaf = asCertificateValue('leaf', await r.issue(ctx(intermediate), null, 'v'));
    const now = Date.now();
    const when = { pendingSince: now, now };
    await r.check(ctx(intermediate), leaf, when);

    const foreign = await r.issue(ctx(otherIntermediate), null, 'v');
    expect(await code(r.check(ctx(intermediate), foreign, when))).toMatchObject({ code: 'KT_CERT_CHECK_FAILED', message: expect.stringContaining('chain does not start with the issuing CA') });
    // The right chain pasted on a certificate another CA signed.
    expect(await code(r.check(ctx(intermediate), { ...(foreign as Record<string, string>), chain: intermediate.cert }, when))).toMatchObject({
      code: 'KT_CERT_CHECK_FAILED',
      message: expect.stringContaining('not signed by the issuing CA'),
    });
    const other = asCertificateValue('other', await r.issue(ctx(intermediate), null, 'v'));
    const swapped = await code(r.check(ctx(intermediate), { ...leaf, key: other.key }, when));
    expect(swapped).toMatchObject({ code: 'KT_CERT_VALUE_INVALID', message: expect.stringContaining('"key" is not the private key of "cert"') });
    expect(swapped.message).not.toContain('PRIVATE KEY');
    expect(await code(r.check(ctx(intermediate), leaf, { pendingSince: now, now: Date.parse(leaf.notAfter) }))).toMatchObject({
      code: 'KT_CERT_CHECK_FAILED',
      message: expect.stringContaining('expired'),
    });
    expect(await code(r.check(ctx(intermediate), leaf, { pendingSince: now, now: now - 3_600_000 }))).toMatchObject({
      code: 'KT_CERT_CHECK_FAILED',
      message: expect.stringContaining('not valid before'),
    });
    expect(await code(renewer({ dnsNames: ['web.test'] }).check(ctx(intermediate), leaf, when))).toMatchObject({ code: 'KT_CERT_CHECK_FAILED', message: expect.stringContaining('DNS names') });
    expect(await code(renewer({ ipAddresses: ['0:0:0:0:0:0:0:1', '127.0.0.1', '10.0.0.1'] }).check(ctx(intermediate), leaf, when))).toMatchObject({
      code: 'KT_CERT_CHECK_FAILED',
      message: expect.stringContaining('IP addresses'),
    });
    // The same names written otherwise (an expanded IPv6, another order, upper case) are the same names.
    await renewer({ dnsNames: ['*.WEB.test', 'web.test'], ipAddresses: ['0:0:0:0:0:0:0:1', '127.0.0.1'] }).check(ctx(intermediate), leaf, when);
    expect(await code(renewer({ commonName: 'api.test' }).check(ctx(intermediate), leaf, when))).toMatchObject({ code: 'KT_CERT_CHECK_FAILED', message: expect.stringContaining('common name') });
    expect(await code(renewer({ extendedKeyUsage: ['serverAuth', 'clientAuth'] }).check(ctx(intermediate), leaf, when))).toMatchObject({
      code: 'KT_CERT_CHECK_FAILED',
      message: expect.stringContaining('extended key usages'),
    });
    expect((await code(r.check(ctx(null), leaf, when))).code).toBe('KT_TARGET_ADMIN_REQUIRED');
  });

  it('refuses a certificate openssl made for the same names from another CA', async () => {
    const ca = await makeCa(tmp.dir);
    const made = await makeLeaf(ca, { name: 'web', cn: 'web.test', sans: ['DNS:web.test'], days: 30 });
    const value = { cert: made.cert, key: made.key, chain: ca.pem, notAfter: new Date(made.notAfterMs).toISOString(), serial: made.x509.serialNumber.toLowerCase().replace(/^0+/, '') };
    expect(asCertificateValue('openssl leaf', value)).toEqual(value);
    expect((await code(renewer({ dnsNames: ['web.test'], ipAddresses: [] }).check(ctx(intermediate), value, { pendingSince: Date.now(), now: Date.now() }))).code).toBe('KT_CERT_CHECK_FAILED');
  });
});

describe('internal-ca renewAt', () => {
  it('is notAfter − renewBefore: a duration, a percentage of the lifetime, a third of a lifetime shorter than renewBefore', async () => {
    const leaf = asCertificateValue('leaf', await renewer({ validity: '90d' }).issue(ctx(intermediate), null, 'v'));
    const x = new X509Certificate(leaf.cert);
    const notAfter = Date.parse(x.validTo);
    const lifetime = notAfter - Date.parse(x.validFrom); // 90 days and the minute of backdating
    expect(lifetime).toBe(90 * DAY + 60_000);
    expect(renewer({}).renewAt(leaf)).toBe(notAfter - 30 * DAY);
    expect(renewer({ renewBefore: '7d' }).renewAt(leaf)).toBe(notAfter - 7 * DAY);
    expect(renewer({ renewBefore: '33%' }).renewAt(leaf)).toBe(Math.round(notAfter - lifetime * 0.33));
    expect(renewer({ renewBefore: '50%' }).renewAt(leaf)).toBe(notAfter - lifetime / 2);
    // 90d is still shorter than the lifetime (90 days and a minute): renewed a minute after issue.
    expect(renewer({ renewBefore: '90d' }).renewAt(leaf)).toBe(notAfter - 90 * DAY);
    expect(renewer({ renewBefore: '91d' }).renewAt(leaf)).toBe(Math.round(notAfter - lifetime / 3));
    expect(renewer({ renewBefore: '120d' }).renewAt(leaf)).toBe(Math.round(notAfter - lifetime / 3));
    // A certificate clamped to a CA that ends in 10 days: 30d is longer than its life.
    const shortCa = await createIntermediateCa(root, { name: 'Short', validityMs: 10 * DAY });
    const short = asCertificateValue('short', await renewer({}).issue(ctx(shortCa), null, 'v'));
    const s = new X509Certificate(short.cert);
    expect(renewer({}).renewAt(short)).toBe(Math.round(Date.parse(s.validTo) - (Date.parse(s.validTo) - Date.parse(s.validFrom)) / 3));
  });

  it("puts the CA's certificate and then the CA's own chain in the leaf's chain", async () => {
    const leaf = await issueLeaf({ ...intermediate, chain: root.cert }, { commonName: 'x', dnsNames: ['x.test'], validityMs: DAY });
    expect(leaf.chain).toBe(`${intermediate.cert}${root.cert}`);
    expect((await issueLeaf(intermediate, { commonName: 'x', dnsNames: ['x.test'], validityMs: DAY })).chain).toBe(intermediate.cert);
  });
});

describe('internal-ca config', () => {
  it('fills in the defaults and refuses bad names, durations and percentages', () => {
    expect(parseTargetConfig({ type: 'internal-ca', commonName: 'web.test', dnsNames: ['web.test'] })).toEqual({
      type: 'internal-ca',
      commonName: 'web.test',
      dnsNames: ['web.test'],
      ipAddresses: [],
      keyType: 'ec-p256',
      validity: '90d',
      renewBefore: '30d',
      extendedKeyUsage: ['serverAuth'],
    });
    expect(createTarget({ type: 'internal-ca', commonName: 'web.test', dnsNames: ['web.test'] }).strategies).toEqual(['renew']);
    const bad = (input: Record<string, unknown>): string => configProblems({ type: 'internal-ca', commonName: 'web.test', ...input });
    expect(bad({})).toContain('dnsNames: a server certificate needs at least one name');
    expect(bad({ dnsNames: ['bad name'] })).toContain('must be a DNS name');
    expect(bad({ dnsNames: ['a.test'], ipAddresses: ['300.1.1.1'] })).toContain('must be an IPv4 or IPv6 address');
    expect(bad({ dnsNames: ['a.test'], renewBefore: '100%' })).toContain('renewBefore: must be a duration (30d) or a percentage');
    expect(bad({ dnsNames: ['a.test'], validity: '3 months' })).toContain('validity: must be a duration');
    expect(bad({ dnsNames: ['a.test'], keyType: 'dsa' })).toContain('keyType: must be one of ec-p256, rsa-2048, ed25519');
    expect(bad({ dnsNames: ['a.test'], extra: 1 })).toContain('extra');
    // A client certificate may go without names.
    expect(parseTargetConfig({ type: 'internal-ca', commonName: 'svc-a', extendedKeyUsage: ['clientAuth'] }).type).toBe('internal-ca');
  });
});

describe('the certificate value', () => {
  it('refuses a value of another shape, extra fields, and parts that do not agree; never quoting the key', async () => {
    const leaf = await issueLeaf(intermediate, { commonName: 'v', dnsNames: ['v.test'], validityMs: DAY });
    const problem = (value: unknown): string => {
      try {
        asCertificateValue('pki/web', value as SecretValue);
      } catch (e) {
        if (isKeyturnError(e, 'KT_CERT_VALUE_INVALID')) return e.message;
        throw e;
      }
      throw new Error('expected KT_CERT_VALUE_INVALID');
    };
    expect(problem('text')).toBe('pki/web: is not a certificate value: expected a JSON object with the fields cert, key, chain, notAfter, serial');
    expect(problem({ cert: leaf.cert })).toBe('pki/web: is not a certificate value: "key", "chain", "notAfter", "serial" are missing or not a string');
    expect(problem({ ...leaf, extra: 'x' })).toContain('has fields a certificate value does not have: "extra"');
    expect(problem({ ...leaf, cert: leaf.cert + intermediate.cert })).toContain('"cert" must hold exactly one PEM certificate, it holds 2');
    expect(problem({ ...leaf, key: 'not a key' })).toContain('"key" must be one PEM PKCS#8 private key');
    expect(problem({ ...leaf, notAfter: '2030-01-01T00:00:00.000Z' })).toContain('"notAfter" (2030-01-01T00:00:00.000Z) is not the certificate\'s');
    expect(problem({ ...leaf, notAfter: 'tomorrow' })).toContain('"notAfter" must be an ISO-8601 time');
    expect(problem({ ...leaf, serial: leaf.serial.toUpperCase() })).toContain('"serial" must be lowercase hex');
    expect(problem({ ...leaf, serial: 'abc' })).toContain('"serial" (abc) is not the certificate\'s');
    expect(problem({ ...leaf, chain: 'garbage' })).toContain('"chain" must be PEM certificates, or empty');
    // The messages name the field, never its text.
    const keyBody = intermediate.key.split('\n')[1]!;
    const mangled = `-----BEGIN PRIVATE KEY-----\n${keyBody}x\n-----END PRIVATE KEY-----\n`;
    for (const bad of [
      { ...leaf, key: intermediate.key },
      { ...leaf, key: mangled },
    ])
      expect(problem(bad)).not.toContain(keyBody.slice(0, 20));
  });
});
