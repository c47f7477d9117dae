/**
 * The scan linkage through a server (src/scan/link/routes.ts): `POST /v1/scan/match` answers
 * which candidate values are managed secrets, only on paths the token has `audit` on, never
 * echoing a value; `POST /v1/scan/leaked` also needs `rotate` on each current match, records
 * `secret.leaked` naming the token, and rotates with a real run. `linkAndMaybeRotate` with
 * KEYTURN_ADDR goes through a real listening server and gives the same results as locally.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { createApp } from '../src/cli/app.js';
import { linkAndMaybeRotate } from '../src/scan/link/index.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { apiHome, listeningServer, type ApiHome } from './helpers/api-home.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';
import { loadSettings } from '../src/config/settings.js';
import { initHome } from '../src/runtime/keyturn.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CONFIG = `version: 1
secrets:
  app/token:
    type: app-secret
  other/key:
    type: app-secret
`;

const policy = (path: string, caps: string) => `rules:\n  - path: ${path}\n    capabilities: [${caps}]\n`;

const candidate = (value: string, n = 1) => ({ value, ruleId: 'generic-api-key', fingerprint: `fp-${n}`, file: `deploy/app-${n}.env`, line: n });

async function leakEvents(kt: Keyturn): Promise<Record<string, unknown>[]> {
  const rows = await kt.state.db.selectFrom('audit_leaves').select('leaf').orderBy('seq').execute();
  return rows.map((r) => JSON.parse(r.leaf) as Record<string, unknown>).filter((e) => e.action === 'secret.leaked');
}

type Who = 'scanner' | 'auditor' | 'stranger';

describe('POST /v1/scan/match and /v1/scan/leaked', () => {
  let h: ApiHome<Who>;
  let value: string;

  beforeEach(async () => {
    value = `tok_${randomBytes(16).toString('hex')}`;
    h = await apiHome<Who>({
      config: CONFIG,
      policies: { scan: policy('app/**', 'audit, rotate'), audit: policy('app/**', 'audit'), other: policy('other/**', 'audit, rotate') },
      tokens: { scanner: ['scan'], auditor: ['audit'], stranger: ['other'] },
    });
    await h.kt.store.put('app/token', value, { stages: ['current'] });
  });
  afterEach(async () => h.close());

  it('match: the secret for a token with audit on its path, no match for one without; the value is never echoed', async () => {
    const version = (await h.kt.store.versions('app/token'))[0]!;
    const seen = await h.call('POST', '/v1/scan/match', 'auditor', { candidates: [candidate(value), candidate('unrelated-value-123', 2)] });
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.json()).toEqual({
      results: [
        { match: { path: 'app/token', versionId: version.id, stage: 'current', label: 'managed secret app/token' }, also: [] },
        { match: null, also: [] },
      ],
    });
    expect(seen.body).not.toContain(value);

    const hidden = await h.call('POST', '/v1/scan/match', 'stranger', { candidates: [candidate(value)] });
    expect(hidden.json()).toEqual({ results: [{ match: null, also: [] }] });
    expect(await leakEvents(h.kt)).toEqual([]);
    // Nothing was rotated by a match.
    expect((await h.kt.store.get('app/token'))!.value).toBe(value);
  });

  it('leaked: refused without rotate on the matched path (recorded, nothing done); with it, recorded as the token and rotated', async () => {
    const denied = await h.call('POST', '/v1/scan/leaked', 'auditor', { candidates: [candidate(value)] });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('KT_ACCESS_DENIED');
    expect(await leakEvents(h.kt)).toEqual([]);

    const done = await h.call('POST', '/v1/scan/leaked', 'scanner', { candidates: [candidate(value, 7)] });
    expect(done.statusCode, done.body).toBe(200);
    const [r] = done.json().results as Array<{ match: { stage: string }; action: { action: string; runStatus: string } }>;
    expect(r!.match.stage).toBe('current');
    expect(r!.action).toMatchObject({ action: 'rotated', runStatus: 'done' });
    expect((await h.kt.store.get('app/token'))!.value).not.toBe(value);
    expect(await leakEvents(h.kt)).toEqual([expect.objectContaining({ actor: `token:${h.ids.scanner}`, source: 'api', path: 'app/token', fingerprint: 'fp-7', location: 'deploy/app-7.env:7' })]);
    const leaves = (await h.kt.state.db.selectFrom('audit_leaves').select('leaf').execute()).map((l) => l.leaf).join('\n');
    expect(leaves).not.toContain(value);
  });

  it('refuses a body without candidates or with an empty value (KT_USAGE) and is in /openapi.json', async () => {
    for (const payload of [{ candidates: [] }, { candidates: [candidate('')] }, { candidates: [{ ...candidate(value), extra: 1 }] }]) {
      const r = await h.call('POST', '/v1/scan/match', 'scanner', payload);
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('KT_USAGE');
      expect(r.body).not.toContain(value);
    }
    const doc = (await h.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/scan/match']!)).toEqual(['post']);
    expect(Object.keys(doc.paths['/v1/scan/leaked']!)).toEqual(['post']);
  });
});

describe('linkAndMaybeRotate with KEYTURN_ADDR', () => {
  it('links and rotates through a real server, as locally', async () => {
    const tmp = tempDir();
    const home = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
    await initHome(loadSettings(home));
    writeFileSync(join(tmp.dir, 'keyturn.yaml'), CONFIG);
    const applied = await runCli(['apply', '-f', join(tmp.dir, 'keyturn.yaml')], { env: home });
    expect(applied.code, applied.stderr).toBe(0);
    const value = `tok_${randomBytes(16).toString('hex')}`;
    const server = await listeningServer(home);
    try {
      await server.kt.store.put('app/token', value, { stages: ['current'] });
      const access = new AccessRepo(server.kt.state, server.kt.clock);
      await access.putPolicy('scan', policy('app/**', 'audit, rotate'));
      const token = (await access.createToken({ policies: ['scan'] })).token;
      const env = { KEYTURN_ADDR: server.base, KEYTURN_TOKEN: token, KEYTURN_LOG_LEVEL: 'silent' };
      const app = createApp({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env });
      const findings = [
        { ruleId: 'generic-api-key', secret: value, fingerprint: 'fp-a', file: 'a.env', line: 3 },
        { ruleId: 'generic-api-key', secret: '', fingerprint: 'fp-b', file: 'b.env', line: 4 },
      ];
      const matched = await linkAndMaybeRotate(findings, { rotate: false, app, opts: {} });
      expect(matched.map((l) => [l.match?.label ?? null, l.action])).toEqual([
        ['managed secret app/token', null],
        [null, null],
      ]);
      const rotated = await linkAndMaybeRotate(findings, { rotate: true, app, opts: {} });
      expect(rotated[0]!.action).toMatchObject({ path: 'app/token', action: 'rotated', runStatus: 'done' });
      expect((await server.kt.store.get('app/token'))!.value).not.toBe(value);
      const again = await linkAndMaybeRotate(findings.slice(0, 1), { rotate: false, app, opts: {} });
      expect(again[0]!.match).toMatchObject({ stage: 'previous', label: 'old value of app/token' });
    } finally {
      await server.close();
      tmp.remove();
    }
  });
});
