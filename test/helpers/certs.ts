/**
 * Certificates for the TLS tests, made here with the openssl CLI (on every machine): a CA, and
 * leaves it signs with the names and validity a test asks for (`openssl ca`, which takes exact
 * start and end dates, so a leaf can be already expired). Each leaf has its key, its PEM
 * certificate, and the leaf with the CA after it (the chain a server serves).
 *
 * @example
 * ```ts
 * const ca = await makeCa(dir);
 * const ok = await makeLeaf(ca, { name: 'ok', cn: 'ok.test', sans: ['DNS:ok.test', 'IP:127.0.0.1'], days: 60 });
 * ```
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly pem: string;
}

export interface TestLeaf {
  readonly keyFile: string;
  readonly certFile: string;
  /** The leaf, then the CA. */
  readonly chainFile: string;
  readonly key: string;
  readonly cert: string;
  readonly x509: X509Certificate;
  /** notAfter, in milliseconds. */
  readonly notAfterMs: number;
}

/** A CA (CN=keyturn-test-ca) in `dir`, with the files `openssl ca` keeps. */
export async function makeCa(dir: string): Promise<TestCa> {
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca.key');
  await run('openssl', ['req', '-x509', ...EC, '-keyout', keyFile, '-out', certFile, '-days', '365', '-subj', '/CN=keyturn-test-ca'], { cwd: dir });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = kt',
      '[kt]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  return { dir, certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}

/** openssl's time format: YYYYMMDDHHMMSSZ. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * A leaf signed by `ca`: valid for `days` from now, or from `notBeforeMs` to `notAfterMs` when given.
 * One at a time per CA (openssl ca writes its index file).
 */
export async function makeLeaf(ca: TestCa, leaf: { name: string; cn: string; sans: readonly string[]; days?: number; notBeforeMs?: number; notAfterMs?: number }): Promise<TestLeaf> {
  const keyFile = join(ca.dir, `${leaf.name}.key`);
  const csr = join(ca.dir, `${leaf.name}.csr`);
  const certFile = join(ca.dir, `${leaf.name}.pem`);
  const ext = join(ca.dir, `${leaf.name}.ext`);
  await run('openssl', ['req', '-new', ...EC, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${leaf.cn}`], { cwd: ca.dir });
  writeFileSync(ext, `basicConstraints = CA:false\nsubjectAltName = ${leaf.sans.join(', ')}\n`);
  const validity =
    leaf.notAfterMs === undefined ? ['-days', String(leaf.days ?? 60)] : ['-startdate', asn1Time(leaf.notBeforeMs ?? leaf.notAfterMs - 30 * 86_400_000), '-enddate', asn1Time(leaf.notAfterMs)];
  await run('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-cert', ca.certFile, '-keyfile', ca.keyFile, '-in', csr, '-out', certFile, '-extfile', ext, '-rand_serial', '-notext', ...validity], {
    cwd: ca.dir,
  });
  const cert = readFileSync(certFile, 'utf8');
  const chainFile = join(ca.dir, `${leaf.name}.chain.pem`);
  writeFileSync(chainFile, `${cert.trimEnd()}\n${ca.pem}`);
  const x509 = new X509Certificate(cert);
  return { keyFile, certFile, chainFile, key: readFileSync(keyFile, 'utf8'), cert, x509, notAfterMs: Date.parse(x509.validTo) };
}
