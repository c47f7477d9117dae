/**
 * The web dashboard (ui/, served at /ui by `keyturn server`) end to end in Debian's Chromium
 * (playwright-core, /usr/bin/chromium): an operator logs in with a token, finds the overdue
 * secret (a PostgreSQL credential on the password-auth cluster, 55432, whose policy's maxAge of
 * one day has passed: the server's clock runs two days ahead), rotates it from the secret page,
 * watches the run's steps appear while its exec consumer waits on a gate file the test opens,
 * and sees the new version, which logs in at the server, while an inventory left open in a second
 * tab drops the secret's overdue status through the change stream (no reload); the confirmation
 * opens and backs out by keyboard; the audit page verifies and tails the rotation's events. An
 * approver approves a break-glass request from its page; a user logs in with an OIDC identity
 * token. A token without `rotate` sees no rotate button and gets 403 from the API when it calls
 * it anyway. A stopped run offers Resume and Cancel; Cancel cancels it. axe-core checks every
 * page: no serious or critical violation.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { loadSettings } from '../src/config/settings.js';
import { DAY_MS } from '../src/core/clock.js';
import { openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer } from '../src/server/app.js';
import type { FastifyInstance } from 'fastify';
import { axeViolations, launchChromium, logIn } from './helpers/browser.js';
import { jwksServer, newKey } from './helpers/jwks.js';
import { OidcRepo } from '../src/access/oidc-repo.js';
import { SignJWT } from 'jose';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { stoppedRun } from './helpers/stopped-run.js';

let fx: RotationFixture<'postgres'>;
let kt: Keyturn;
let app: FastifyInstance;
let base = '';
let browser: Browser;
const tokens = { admin: '', viewer: '' };
let gate = '';
let gateDir = '';
let viewerId = '';

beforeAll(async () => {
  // The consumer waits for the gate file: the test sees the run under way before it lets it end.
  gateDir = mkdtempSync(join(tmpdir(), 'keyturn-ui-gate-'));
  gate = join(gateDir, 'open');
  fx = await rotationFixture('postgres', 'single-user', {
    secretExtra: `    schedule: { every: 12h, maxAge: 1d }\n    consumers:\n      - type: exec\n        argv: [/bin/sh, -c, "while [ ! -e \\"$GATE\\" ]; do sleep 0.05; done"]\n        env: { GATE: ${JSON.stringify(gate)} }\n        timeoutMs: 60000\n`,
  });
  // The server's clock runs two days ahead: app/db (maxAge 1d) is overdue.
  kt = await openKeyturn(loadSettings(fx.env), { clock: { now: () => Date.now() + 2 * DAY_MS } });
  const access = new AccessRepo(kt.state, kt.clock);
  await access.putPolicy('viewer', 'rules:\n  - path: "**"\n    capabilities: [list, read]\n');
  await access.putPolicy('oncall', 'rules:\n  - path: app/db\n    capabilities: [read]\n    breakGlass: true\n');
  tokens.admin = (await access.createToken({ policies: ['admin'], subject: 'alice' })).token;
  const viewer = await access.createToken({ policies: ['viewer'], subject: 'victor' });
  tokens.viewer = viewer.token;
  viewerId = viewer.info.id;
  const oncall = (await access.createToken({ policies: ['oncall'], subject: 'bob' })).token;
  app = await buildServer(kt, { detection: false, breakGlassSweepMs: false, notifyMs: false, replicaMs: false, auditDeliveryMs: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const asked = await app.inject({
    method: 'POST',
    url: '/v1/breakglass',
    headers: { authorization: `Bearer ${oncall}` },
    payload: { path: 'app/db', reason: 'INC-1: the app cannot log in', ttl: '30m' },
  });
  expect(asked.statusCode, asked.body).toBe(201);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  app?.server.closeAllConnections();
  await app?.close();
  await kt?.close();
  await fx?.close();
  if (gateDir) rmSync(gateDir, { recursive: true, force: true });
});

async function accessible(page: Page, name: string): Promise<void> {
  expect([name, await axeViolations(page)]).toEqual([name, []]);
}

describe('the dashboard in Chromium', () => {
  it('logs in, finds the overdue secret, rotates it, shows the run live and the new version; every page passes axe', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/ui/`);
    await page.getByLabel('API token', { exact: true }).waitFor();
    await accessible(page, 'login');
    await logIn(page, base, tokens.admin);
    await page.getByLabel('Status').selectOption('overdue');
    const row = page.getByRole('row').filter({ hasText: 'app/db' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.innerText()).toMatch(/postgres|db/);
    expect(await row.getByText('overdue').count()).toBe(1);
    await accessible(page, 'inventory');

    await row.getByRole('link', { name: 'app/db' }).click();
    await page.getByRole('heading', { name: /Secret app\/db/ }).waitFor();
    await expect.poll(() => page.getByTestId('current-version').innerText()).toBe('1');
    await accessible(page, 'secret');
    const before = (await kt.store.get('app/db'))!;
    // By keyboard: the button opens the confirmation, Escape backs out, and nothing is rotated.
    await page.getByRole('button', { name: 'Rotate now' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect((await kt.store.get('app/db'))!.id).toBe(before.id);
    // A second tab keeps the inventory open: the rotation reaches it through the change stream, without a reload.
    const watcher = await browser.newPage();
    await logIn(watcher, base, tokens.admin);
    const watched = watcher.getByRole('row').filter({ hasText: 'app/db' });
    await expect.poll(() => watched.getByText('overdue').count()).toBe(1);

    await page.getByRole('button', { name: 'Rotate now' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Rotate now' }).click();
    // The page follows the run (its id from the change stream) while the consumer waits on the gate.
    await page.getByRole('heading', { name: /^Run run_/ }).waitFor();
    const steps = page.getByTestId('steps').locator('li.step');
    await expect.poll(() => page.getByTestId('steps').locator('li[data-step="finish"]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('run-status').innerText()).toBe('running');
    const shownWhileRunning = await steps.count();
    expect(existsSync(gate)).toBe(false);
    writeFileSync(gate, '');
    await expect.poll(() => page.getByTestId('run-status').innerText(), { timeout: 30_000 }).toBe('done');
    expect(await steps.count()).toBeGreaterThan(shownWhileRunning);
    expect(await page.getByTestId('steps').locator('li[data-step="propagate"]').count()).toBeGreaterThan(0);
    await accessible(page, 'run');

    await page.getByRole('link', { name: 'app/db' }).click();
    await expect.poll(() => page.getByTestId('current-version').innerText()).toBe('2');
    const after = (await kt.store.get('app/db'))!;
    expect(after.number).toBe(before.number + 1);
    expect(await fx.logsIn(after.value as { username: string; password: string })).toBe(true);
    const now = (await app.inject({ url: '/v1/inventory', headers: { authorization: `Bearer ${tokens.admin}` } })).json() as { secrets: Array<{ path: string; status: string }> };
    const status = now.secrets.find((x) => x.path === 'app/db')!.status;
    expect(status).not.toBe('overdue');
    await expect.poll(() => watched.locator('.badge').allInnerTexts(), { timeout: 15_000 }).toEqual([status]);
    await watcher.close();

    for (const [link, heading] of [
      ['Compliance', 'Compliance'],
      ['Audit', 'Audit log'],
      ['Break-glass', 'Break-glass requests'],
      ['Anomalies', 'Anomalies'],
    ] as const) {
      await page.getByRole('navigation').getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      if (link === 'Audit') {
        await expect.poll(() => page.getByTestId('verify').count()).toBe(1);
        expect(await page.getByTestId('verify').innerText()).toContain('The log verifies');
        expect(await page.getByTestId('audit-tail').getByText('secret.rotate').count()).toBeGreaterThan(0);
      }
      if (link === 'Break-glass') {
        const request = page.getByRole('row').filter({ hasText: 'INC-1' });
        await request.getByRole('button', { name: 'Approve' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
        await expect.poll(() => request.getByRole('cell').nth(5).innerText()).toBe('alice');
      }
      await accessible(page, link);
    }
    await page.close();
  }, 120_000);

  it('logs in with an OIDC identity token: the session has the policies the issuer’s rule gives', async () => {
    const jwks = await jwksServer();
    try {
      const key = await newKey('RS256', 'ci-1');
      jwks.sets.set('/ci/jwks', [key.jwk]);
      const iss = 'https://ci.example.test';
      await new OidcRepo(kt.state, kt.clock, new AccessRepo(kt.state, kt.clock)).put(
        'ci',
        `issuer: ${iss}\njwksUrl: ${jwks.url}/ci/jwks\naudiences: [keyturn]\nrules:\n  - claims:\n      sub: "team:*"\n    policies: [viewer]\n`,
      );
      // The server's clock runs two days ahead: the JWT's times are the server's.
      const at = Math.floor(kt.clock.now() / 1000);
      const jwt = await new SignJWT({ iss, sub: 'team:carol', aud: ['keyturn'], iat: at, nbf: at, exp: at + 600 }).setProtectedHeader({ alg: 'RS256', kid: 'ci-1', typ: 'JWT' }).sign(key.privateKey);
      const page = await browser.newPage();
      await page.goto(`${base}/ui/`);
      await page.getByLabel('Identity token (JWT)').fill(jwt);
      await page.getByRole('button', { name: 'Log in with OIDC' }).click();
      await page.getByRole('heading', { name: 'Inventory' }).waitFor();
      expect(await page.locator('header .who').innerText()).toContain('oidc:ci:team:carol');
      // The rule's policy (viewer: list and read everywhere): the secrets, but no audit pages.
      await expect.poll(() => page.getByRole('row').filter({ hasText: 'app/db' }).count()).toBe(1);
      expect(await page.getByRole('navigation').getByRole('link', { name: 'Audit' }).count()).toBe(0);
      const session = await page.evaluate(() => sessionStorage.getItem('keyturn.token'));
      expect(session).toMatch(/^kt_/);
      expect(session).not.toBe(jwt);
      await page.close();
    } finally {
      await jwks.close();
    }
  }, 60_000);

  it('a token without rotate sees no rotate button, and the API refuses it with 403; its reveal is an audited read', async () => {
    const page = await browser.newPage();
    await logIn(page, base, tokens.viewer);
    await page.goto(`${base}/ui/#/secret/app/db`);
    await expect.poll(() => page.getByTestId('current-version').innerText()).not.toBe('—');
    // Reveal is a normal read: the value shows, and the audit log has the token's secret.read.
    const reads = async () =>
      (await kt.audit.between(0)).map((row) => JSON.parse(row.leaf) as { action: string; actor: string }).filter((e) => e.action === 'secret.read' && e.actor === `token:${viewerId}`).length;
    const readsBefore = await reads();
    await page.getByRole('button', { name: 'Reveal value' }).click();
    const shown = JSON.parse(await page.getByTestId('secret-value').innerText()) as { password: string };
    expect(shown.password).toBe(((await kt.store.get('app/db'))!.value as { password: string }).password);
    expect(await reads()).toBe(readsBefore + 1);
    await page.getByRole('button', { name: 'Hide value' }).click();
    expect(await page.getByTestId('secret-value').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Rotate now' }).count()).toBe(0);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Audit' }).count()).toBe(0);
    const status = await page.evaluate(
      async () =>
        (await fetch('/v1/rotations/app/db', { method: 'POST', headers: { authorization: `Bearer ${sessionStorage.getItem('keyturn.token')}`, 'content-type': 'application/json' }, body: '{}' }))
          .status,
    );
    expect(status).toBe(403);
    await page.close();
  }, 60_000);

  it('offers Resume and Cancel on a stopped run, and cancels it through the API', async () => {
    writeFileSync(gate, '');
    const run = await stoppedRun(kt, 'app/db');
    expect(run).toMatchObject({ status: 'retrying', step: 'set' });
    const page = await browser.newPage();
    await logIn(page, base, tokens.admin);
    await page.goto(`${base}/ui/#/run/${run.id}`);
    await expect.poll(() => page.getByTestId('run-status').innerText()).toBe('retrying');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel run' }).click();
    await expect.poll(() => page.getByTestId('run-status').innerText()).toBe('cancelled');
    const after = (await app.inject({ url: `/v1/runs/${run.id}`, headers: { authorization: `Bearer ${tokens.admin}` } })).json() as { status: string };
    expect(after.status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    await page.close();
  }, 60_000);
});
