/**
 * `keyturn ca init` and `keyturn ca show` through the CLI on a fresh home: init stores the root
 * and the intermediate as certificate values (the intermediate verifies to the root with real
 * openssl), audited like any secret write, and refuses a second init without changing anything;
 * show prints facts, and the root certificate with --pem; no private key is ever printed.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { asCertificateValue } from '../src/certs/value.js';
import { useCliHome } from './helpers/cli-home.js';

const run = promisify(execFile);
const home = useCliHome();

async function stored(path: string) {
  const got = await home.kt(['secret', 'get', path, '--json']);
  expect(got.code).toBe(0);
  return asCertificateValue(path, (JSON.parse(got.stdout) as { value: Record<string, string> }).value);
}

describe('keyturn ca', () => {
  it('init stores a root and an intermediate it signs, audited, and prints no key', async () => {
    const init = await home.kt(['ca', 'init', '--name', 'Acme Internal', '--root-validity', '5y', '--intermediate-validity', '400d']);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('Internal CA created under pki/ca');
    expect(init.stdout + init.stderr).not.toContain('PRIVATE KEY');
    const root = await stored('pki/ca/root');
    const intermediate = await stored('pki/ca/intermediate');
    expect(init.stdout).toContain(root.serial);
    expect(root.chain).toBe('');
    const rootFile = join(home.dir, 'root.pem');
    const intermediateFile = join(home.dir, 'intermediate.pem');
    writeFileSync(rootFile, root.cert);
    writeFileSync(intermediateFile, intermediate.cert);
    expect((await run('openssl', ['verify', '-CAfile', rootFile, intermediateFile])).stdout).toMatch(/: OK$/m);
    const text = (await run('openssl', ['x509', '-in', intermediateFile, '-noout', '-subject', '-enddate'])).stdout;
    expect(text).toMatch(/CN ?= ?Acme Internal Intermediate/);
    const days = (Date.parse(intermediate.notAfter) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(400);
    expect(Math.round((Date.parse(root.notAfter) - Date.now()) / 86_400_000)).toBe(5 * 365);
    // Written like any secret: two audited writes.
    const audit = await home.kt(['audit', 'tail', '-n', '5']);
    expect(audit.stdout).toMatch(/secret\.\S+\s+success.*pki\/ca\/root/);
    expect(audit.stdout).toMatch(/secret\.\S+\s+success.*pki\/ca\/intermediate/);
  });

  it('refuses a second init (KT_CA_EXISTS), changing nothing', async () => {
    expect((await home.kt(['ca', 'init'])).code).toBe(0);
    const before = home.dump();
    const again = await home.kt(['ca', 'init', '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr || again.stdout)).toMatchObject({ error: { code: 'KT_CA_EXISTS' } });
    expect(home.dump()).toEqual(before);
    // Another prefix is another CA.
    expect((await home.kt(['ca', 'init', '--prefix', 'pki/other-ca/'])).code).toBe(0);
    expect((await stored('pki/other-ca/intermediate')).serial).not.toBe((await stored('pki/ca/intermediate')).serial);
  });

  it('show prints the facts, --pem the root certificate alone; never a key', async () => {
    const init = await home.kt(['ca', 'init', '--json']);
    const made = JSON.parse(init.stdout) as { root: { fingerprint256: string; serial: string }; intermediate: { path: string } };
    expect(made.intermediate.path).toBe('pki/ca/intermediate');
    expect(init.stdout).not.toContain('PRIVATE KEY');
    const root = await stored('pki/ca/root');
    const show = await home.kt(['ca', 'show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(made.root.fingerprint256);
    const pem = await home.kt(['ca', 'show', '--pem']);
    expect(pem.stdout).toBe(root.cert);
    const json = await home.kt(['ca', 'show', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ root: { pem: root.cert, serial: made.root.serial }, intermediate: { path: 'pki/ca/intermediate' } });
    for (const out of [show, pem, json]) expect(out.stdout + out.stderr).not.toContain('PRIVATE KEY');
    expect((await home.kt(['ca', 'show', '--prefix', 'pki/none'])).code).toBe(3);
  });

  it('refuses bad validities and key types before storing anything', async () => {
    const before = home.dump();
    expect((await home.kt(['ca', 'init', '--root-validity', '10 years'])).code).toBe(2);
    expect((await home.kt(['ca', 'init', '--key-type', 'dsa'])).code).toBe(2);
    expect(home.dump()).toEqual(before);
  });
});
