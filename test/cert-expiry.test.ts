/**
 * Certificate expiry in `keyturn report compliance` and `/metrics` (issue #14): certificates made
 * by openssl with exact dates (test/helpers/certs.ts), stored as secret values of the `renew`
 * shape `{ cert, key, chain, notAfter, serial }`. One 10 days from expiry is `warning` in the
 * report and counted as warning in `/metrics`, one 60 days away `ok`, an expired one `overdue`
 * (exit 1); the expiry is the certificate's notAfter (not the `notAfter` field, used only when the
 * PEM does not parse); other secrets have none, and string values are never decrypted. The gauge
 * is notAfter in Unix seconds; no key material reaches any output, and no read is audited.
 *
 * The CLI runs on the real clock (its dates are days from the margins that matter); the server
 * runs on a manual clock at the instant the certificates were made relative to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { certificateExpiry, certificateReads } from '../src/certs/secret-expiry.js';
import { loadSettings } from '../src/config/settings.js';
import { DAY_MS, manualClock } from '../src/core/clock.js';
import type { SecretValue } from '../src/core/types.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer } from '../src/server/app.js';
import { makeCa, makeLeaf, type TestLeaf } from './helpers/certs.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Whole seconds, as certificates hold their dates. */
const NOW = Math.floor(Date.now() / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

let certDir: ReturnType<typeof tempDir>;
let soon: TestLeaf;
let later: TestLeaf;
let expired: TestLeaf;
/** path -> value; the certificate secrets' notAfter (ms) by path. */
let values: Record<string, SecretValue>;
let notAfter: Record<string, number>;

function certValue(leaf: TestLeaf, overrides: Partial<Record<'cert' | 'notAfter', string>> = {}): SecretValue {
  return {
    cert: leaf.cert,
    key: leaf.key,
    chain: readFileSync(leaf.chainFile, 'utf8'),
    notAfter: iso(leaf.notAfterMs),
    serial: leaf.x509.serialNumber,
    ...overrides,
  };
}

beforeAll(async () => {
  certDir = tempDir();
  const ca = await makeCa(certDir.dir);
  soon = await makeLeaf(ca, { name: 'soon', cn: 'soon.test', sans: ['DNS:soon.test'], notBeforeMs: NOW - DAY_MS, notAfterMs: NOW + 10 * DAY_MS });
  later = await makeLeaf(ca, { name: 'later', cn: 'later.test', sans: ['DNS:later.test'], notBeforeMs: NOW - DAY_MS, notAfterMs: NOW + 60 * DAY_MS });
  expired = await makeLeaf(ca, { name: 'expired', cn: 'expired.test', sans: ['DNS:expired.test'], notBeforeMs: NOW - 40 * DAY_MS, notAfterMs: NOW - 2 * DAY_MS });
  values = {
    'app/db': { username: 'app', password: 'db-password-Xq81' },
    'app/token': 'token-value-Vb27',
    'certs/damaged': { ...(certValue(later) as Json), cert: '-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n', notAfter: iso(NOW + 20 * DAY_MS) },
    'certs/expired': certValue(expired),
    'certs/later': certValue(later),
    // The field says 5 days; the certificate says 60: the certificate wins.
    'certs/lying': certValue(later, { notAfter: iso(NOW + 5 * DAY_MS) }),
    'certs/soon': certValue(soon),
  };
  notAfter = {
    'certs/damaged': NOW + 20 * DAY_MS,
    'certs/expired': expired.notAfterMs,
    'certs/later': later.notAfterMs,
    'certs/lying': later.notAfterMs,
    'certs/soon': soon.notAfterMs,
  };
}, 60_000);

afterAll(() => certDir?.remove());

async function storeAll(kt: Keyturn): Promise<void> {
  for (const [path, value] of Object.entries(values)) await kt.store.put(path, value);
}

/** No private key, password or token value appears in `text`. */
function expectNoValues(text: string): void {
  expect(text).not.toContain('PRIVATE KEY');
  for (const leaf of [soon, later, expired]) expect(text).not.toContain(leaf.key.split('\n')[1]!);
  expect(text).not.toContain('db-password-Xq81');
  expect(text).not.toContain('token-value-Vb27');
}

describe('certificateExpiry', () => {
  it("is the leaf certificate's notAfter, the field only when the PEM does not parse, and null for anything else", () => {
    expect(certificateExpiry(values['certs/soon']!)).toEqual({ notAfterMs: soon.notAfterMs, source: 'certificate' });
    expect(certificateExpiry(values['certs/lying']!)).toEqual({ notAfterMs: later.notAfterMs, source: 'certificate' });
    expect(certificateExpiry(values['certs/damaged']!)).toEqual({ notAfterMs: NOW + 20 * DAY_MS, source: 'field' });
    // The leaf first: `cert` holding the whole chain still gives the leaf's date, not the CA's.
    expect(certificateExpiry({ cert: readFileSync(soon.chainFile, 'utf8') })).toEqual({ notAfterMs: soon.notAfterMs, source: 'certificate' });
    expect(certificateExpiry({ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', notAfter: 'tomorrow' })).toBeNull();
    expect(certificateExpiry({ cert: 'not a pem', notAfter: iso(NOW) })).toBeNull();
    expect(certificateExpiry(values['app/db']!)).toBeNull();
    expect(certificateExpiry('-----BEGIN CERTIFICATE-----')).toBeNull();
  });
});

describe('keyturn report compliance', () => {
  it('shows a certificate 10 days from expiry as warning with its expiresAt, 60 days ok, expired overdue (exit 1); reads only JSON values, audits no read', async () => {
    const tmp = tempDir();
    const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
    try {
      expect((await runCli(['init'], { env })).code).toBe(0);
      const kt = await openKeyturn(loadSettings(env));
      await storeAll(kt);
      const auditBefore = (await kt.audit.head()).size;
      await kt.close();

      const reads = certificateReads.count;
      const all = await runCli(['report', 'compliance', '--json'], { env });
      expect(all.code, all.stderr).toBe(1);
      // Six JSON values read; the string value never.
      expect(certificateReads.count - reads).toBe(6);
      const r = JSON.parse(all.stdout) as Json;
      expect(r.certWarnMs).toBe(30 * DAY_MS);
      expect(r.secrets.map((s: Json) => [s.path, s.status, s.expiresAt])).toEqual([
        ['app/db', 'ok', null],
        ['app/token', 'ok', null],
        ['certs/damaged', 'warning', iso(notAfter['certs/damaged']!)],
        ['certs/expired', 'overdue', iso(expired.notAfterMs)],
        ['certs/later', 'ok', iso(later.notAfterMs)],
        ['certs/lying', 'ok', iso(later.notAfterMs)],
        ['certs/soon', 'warning', iso(soon.notAfterMs)],
      ]);
      expect(r.counts).toEqual({ ok: 4, warning: 2, overdue: 1, failing: 0 });
      expect(r.overdue).toBe(1);
      expectNoValues(all.stdout + all.stderr);

      const text = await runCli(['report', 'compliance', '--prefix', 'certs'], { env });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^PATH +TYPE +AGE +MAX +STATUS +LIFECYCLE +LAST RESULT +LAST ROTATION +EVENT +CERT EXPIRES$/m);
      expect(text.stdout).toMatch(new RegExp(`^certs/soon +.* warning +active .* ${iso(soon.notAfterMs).replace(/\./g, '\\.')}$`, 'm'));
      expect(text.stdout).toContain('5 secrets: 2 ok, 2 warning, 0 failing, 1 overdue');
      expectNoValues(text.stdout + text.stderr);

      const csv = await runCli(['report', 'compliance', '--csv', '--prefix', 'certs/soon'], { env });
      expect(csv.code).toBe(0);
      const lines = csv.stdout.trimEnd().split('\r\n');
      expect(lines[0]).toMatch(/,"overdueAt","expiresAt"$/);
      expect(lines[1]).toMatch(new RegExp(`^"certs/soon",.*,"warning",.*,"${iso(soon.notAfterMs)}"$`));

      // Nothing overdue below certs/later: exit 0.
      const ok = await runCli(['report', 'compliance', '--json', '--prefix', 'certs/later'], { env });
      expect(ok.code).toBe(0);
      expect((JSON.parse(ok.stdout) as Json).secrets).toMatchObject([{ path: 'certs/later', status: 'ok', expiresAt: iso(later.notAfterMs) }]);

      const after = await openKeyturn(loadSettings(env));
      try {
        // The report reads values without a secret.read event (nothing of them leaves but notAfter).
        expect((await after.audit.head()).size).toBe(auditBefore);
      } finally {
        await after.close();
      }
    } finally {
      tmp.remove();
    }
  }, 60_000);
});

describe('/metrics', () => {
  let tmp: ReturnType<typeof tempDir>;
  let kt: Keyturn;
  const clock = manualClock(NOW);
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' });
    await initHome(settings);
    kt = await openKeyturn(settings, { clock });
    await storeAll(kt);
  });

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close();
    await kt?.close();
    tmp?.remove();
  });

  async function scrape(app: FastifyInstance): Promise<{ text: string; value(name: string, labels?: Record<string, string>): number | undefined; paths(name: string): string[] }> {
    const r = await app.inject({ url: '/metrics' });
    expect(r.statusCode, r.body).toBe(200);
    const samples = r.body
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(l)!;
        return { name: m[1]!, labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!])), value: Number(m[3]) };
      });
    const match = (name: string, labels: Record<string, string>) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return {
      text: r.body,
      value: (name, labels = {}) => {
        const found = match(name, labels);
        expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
        return found[0]?.value;
      },
      paths: (name) => match(name, {}).map((s) => s.labels.path!),
    };
  }

  it('exports each certificate secret notAfter in Unix seconds and the count by status; a 10-day one is warning; values decrypted once per version', async () => {
    const app = await buildServer(kt, { metrics: { cacheMs: 5000 } });
    apps.push(app);
    const auditBefore = (await kt.audit.head()).size;
    let s = await scrape(app);
    // Soonest first; no series for secrets that are not certificates.
    expect(s.paths('keyturn_certificate_expiry_timestamp_seconds')).toEqual(['certs/expired', 'certs/soon', 'certs/damaged', 'certs/later', 'certs/lying']);
    for (const [path, ms] of Object.entries(notAfter)) expect([path, s.value('keyturn_certificate_expiry_timestamp_seconds', { path })]).toEqual([path, ms / 1000]);
    expect(s.value('keyturn_certificate_expiry_timestamp_seconds', { path: 'certs/soon' })).toBe(NOW / 1000 + 10 * 86_400);
    expect(s.value('keyturn_certificates', { status: 'warning' })).toBe(2);
    expect(s.value('keyturn_certificates', { status: 'ok' })).toBe(2);
    expect(s.value('keyturn_certificates', { status: 'expired' })).toBe(1);
    expectNoValues(s.text);
    expect((await kt.audit.head()).size).toBe(auditBefore);

    // 31 days on: the 10-day one has expired, the 60-day ones are inside the warning. No value is read again.
    const reads = certificateReads.count;
    clock.advance(31 * DAY_MS);
    s = await scrape(app);
    expect(s.value('keyturn_certificates', { status: 'expired' })).toBe(3);
    expect(s.value('keyturn_certificates', { status: 'warning' })).toBe(2);
    expect(s.value('keyturn_certificates', { status: 'ok' })).toBe(0);
    expect(certificateReads.count).toBe(reads);

    // A renewed certificate: its new version is read once, and the gauge follows it.
    await kt.store.put('certs/soon', values['certs/later']!);
    clock.advance(5000);
    s = await scrape(app);
    expect(certificateReads.count).toBe(reads + 1);
    expect(s.value('keyturn_certificate_expiry_timestamp_seconds', { path: 'certs/soon' })).toBe(later.notAfterMs / 1000);
    expect(s.value('keyturn_certificates', { status: 'expired' })).toBe(2);
    await kt.store.put('certs/soon', values['certs/soon']!);
    clock.advance(-31 * DAY_MS - 5000);
  });

  it('keeps the per-path series to the path limit (soonest first), the counts covering all; the API report agrees', async () => {
    const app = await buildServer(kt, { metrics: { cacheMs: 0, secretPaths: 2 } });
    apps.push(app);
    const s = await scrape(app);
    expect(s.paths('keyturn_certificate_expiry_timestamp_seconds')).toEqual(['certs/expired', 'certs/soon']);
    expect(s.value('keyturn_certificates', { status: 'ok' })).toBe(2);
    const none = await buildServer(kt, { metrics: { cacheMs: 0, secretPaths: 0 } });
    apps.push(none);
    expect((await scrape(none)).paths('keyturn_certificate_expiry_timestamp_seconds')).toEqual([]);

    const { token } = await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'] });
    const r = await app.inject({ url: '/v1/reports/compliance?prefix=certs', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode, r.body).toBe(200);
    expect((JSON.parse(r.body) as Json).secrets.map((x: Json) => [x.path, x.status, x.expiresAt])).toEqual([
      ['certs/damaged', 'warning', iso(notAfter['certs/damaged']!)],
      ['certs/expired', 'overdue', iso(expired.notAfterMs)],
      ['certs/later', 'ok', iso(later.notAfterMs)],
      ['certs/lying', 'ok', iso(later.notAfterMs)],
      ['certs/soon', 'warning', iso(soon.notAfterMs)],
    ]);
    expectNoValues(r.body);
  });
});
