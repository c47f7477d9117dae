// Writes docs/ui/*.png: a screenshot of each page of the web dashboard (docs/ui.md), in Debian's
// Chromium (/usr/bin/chromium, playwright-core), over a fresh home made for it: 40 app secrets
// under three teams with schedules (the server's clock runs 20 days ahead, so some are in warning
// or overdue), one rotated (a run), one marked deprecated, a break-glass request waiting for
// approval. Run by `npm run ui:screenshots` (after `npm run build`).
/* global fetch -- Node's; sessionStorage is the page's: */
/* global sessionStorage */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadSettings } from '../dist/config/settings.js';
import { openKeyturn } from '../dist/runtime/keyturn.js';
import { AccessRepo } from '../dist/access/access-repo.js';
import { buildServer } from '../dist/server/app.js';

const DAY = 86_400_000;
const out = new URL('../docs/ui/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'keyturn-ui-shots-'));
const env = { ...process.env, KEYTURN_HOME: join(dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
const cli = (...argv) => execFileSync(process.execPath, [new URL('../bin/keyturn.js', import.meta.url).pathname, ...argv], { env, stdio: ['ignore', 'ignore', 'inherit'] });

const schedules = ['{ every: 30d, maxAge: 45d }', '{ every: 14d, maxAge: 21d, expiryWarning: 5d }', '{ every: 7d, maxAge: 10d }', '{ every: 90d, maxAge: 120d }', '{ manual: true }'];
const teams = ['payments', 'search', 'identity'];
let yaml = 'version: 1\nsecrets:\n';
for (let i = 0; i < 40; i += 1)
  yaml += `  prod/${teams[i % 3]}/service-${String(i).padStart(2, '0')}:\n    type: app-secret\n    owner: team-${teams[i % 3]}\n    password: { length: 32 }\n    schedule: ${schedules[i % schedules.length]}\n`;
writeFileSync(join(dir, 'keyturn.yaml'), yaml);
cli('init');
cli('apply', '-f', join(dir, 'keyturn.yaml'));

const kt = await openKeyturn(loadSettings({ KEYTURN_HOME: env.KEYTURN_HOME, KEYTURN_LOG_LEVEL: 'silent' }), { clock: { now: () => Date.now() + 20 * DAY } });
const access = new AccessRepo(kt.state, kt.clock);
await access.putPolicy('oncall', 'rules:\n  - path: prod/**\n    capabilities: [read, list]\n  - path: prod/payments/**\n    capabilities: [read]\n    breakGlass: true\n');
const admin = (await access.createToken({ policies: ['admin'], subject: 'alice' })).token;
const oncall = (await access.createToken({ policies: ['oncall'], subject: 'bob' })).token;
const app = await buildServer(kt, { breakGlassSweepMs: false, notifyMs: false, replicaMs: false, auditDeliveryMs: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${app.server.address().port}`;
const call = async (token, method, url, body) => {
  const r = await fetch(base + url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${await r.text()}`);
  return r.json();
};
const run = await call(admin, 'POST', '/v1/rotations/prod/search/service-01', {});
await call(admin, 'POST', '/v1/status/prod/identity/service-02', { status: 'deprecated' });
await call(oncall, 'POST', '/v1/breakglass', { path: 'prod/payments/service-00', reason: 'INC-4312: payments API returns 401 for every merchant', ttl: '30m' });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
try {
  mkdirSync(out, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/ui/`);
  await page.getByLabel('API token', { exact: true }).waitFor();
  await page.screenshot({ path: join(out, 'login.png') });
  await page.evaluate((t) => sessionStorage.setItem('keyturn.token', t), admin);
  const shots = [
    ['inventory', '#/inventory', 'Inventory'],
    ['secret', '#/secret/prod/search/service-01', /Secret/],
    ['run', `#/run/${run.id}`, /^Run /],
    ['audit', '#/audit', 'Audit log'],
    ['breakglass', '#/breakglass', 'Break-glass requests'],
    ['anomalies', '#/anomalies', 'Anomalies'],
    ['compliance', '#/compliance', 'Compliance'],
  ];
  for (const [name, hash, heading] of shots) {
    await page.goto(`${base}/ui/${hash}`);
    await page.reload();
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    // The page's data and its live stream settle (no network-idle moment: the change stream stays open).
    await page.waitForTimeout(700);
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: name === 'run' || name === 'secret' });
    console.log(`docs/ui/${name}.png`);
  }
} finally {
  await browser.close();
  app.server.closeAllConnections();
  await app.close();
  await kt.close();
  rmSync(dir, { recursive: true, force: true });
}
