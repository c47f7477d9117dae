/**
 * A file template that cannot render the next value is caught before anything changes: at
 * `apply` (with the key path of the template), at `rotate --dry-run` (a problem, exit non-zero)
 * and at the engine's prepare step (the run fails with KT_TEMPLATE_PLACEHOLDER_UNKNOWN, the
 * store and the file untouched). Fields every rotation produces count as present. The last test
 * does the same for a database credential on the real PostgreSQL, whose password must not change.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, planConfig, type PlanEntry } from '../src/config/apply.js';
import { parseConfig } from '../src/config/load.js';
import { isKeyturnError } from '../src/core/errors.js';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { caught } from '../src/contracts/consumer-contract.js';
import { runCli } from './helpers/cli.js';
import { rotationFixture } from './helpers/rotation-fixtures.js';
import { openTestHome } from './helpers/state.js';

let home: Awaited<ReturnType<typeof openTestHome>>;
let kt: Keyturn;
let out: string;

const yaml = (file: string, template: string, extra = '') => `version: 1
secrets:
  prod/db/app:
    type: app-secret
    field: password
    initial: { username: app, password: first-value }
${extra}    consumers:
      - type: file
        path: ${file}
        template: "${template}"
`;

/** Applies without the checks of planConfig (a policy applied by an older Keyturn). */
async function applyUnchecked(text: string): Promise<void> {
  const config = parseConfig(text, {});
  const plan: PlanEntry[] = Object.keys(config.secrets).flatMap((name) => [
    { kind: 'policy' as const, name, action: 'create' as const },
    { kind: 'value' as const, name, action: 'create' as const },
  ]);
  await applyPlan(kt.state, kt.store, config, plan, kt.clock);
}

beforeEach(async () => {
  home = await openTestHome();
  kt = home.kt;
  out = home.out;
});
afterEach(() => home.close());

describe('templates checked against the value before anything changes', () => {
  it('apply refuses an unknown placeholder with its key path, and applies nothing', async () => {
    const config = parseConfig(yaml(join(out, 'db.env'), 'USER={{username}} PASS={{pasword}}'), {});
    const e = await caught(() => planConfig(kt.state, kt.store, config));
    expect(isKeyturnError(e, 'KT_CONFIG_FILE_INVALID')).toBe(true);
    expect((e as Error).message).toContain('secrets.prod/db/app.consumers.0.template: {{pasword}} is not a field of the value (fields: username, password)');
    expect((e as Error).message).not.toContain('first-value');
    expect(await kt.store.describe('prod/db/app')).toBeNull();
    expect(await kt.applied.policies()).toEqual([]);
  });

  it('apply checks against an existing value, and counts the generated field as present', async () => {
    const file = join(out, 'db.env');
    // An existing value without the generated field: the rotation adds it, so {{password}} is fine.
    await kt.store.put('prod/db/app', { username: 'app', host: 'db' });
    const good = parseConfig(yaml(file, 'USER={{username}} HOST={{host}} PASS={{password}} AT={{_version}}'), {});
    await applyPlan(kt.state, kt.store, good, await planConfig(kt.state, kt.store, good), kt.clock);
    const bad = parseConfig(yaml(file, 'PORT={{port}}'), {});
    const e = await caught(() => planConfig(kt.state, kt.store, bad));
    expect((e as Error).message).toContain('secrets.prod/db/app.consumers.0.template: {{port}} is not a field of the value (fields: username, host, password)');
  });

  it('a plain-string app secret is told to use {{value}}', async () => {
    const text = `version: 1
secrets:
  app/key:
    type: app-secret
    consumers:
      - { type: file, path: ${join(out, 'key')}, template: "KEY={{password}}" }
`;
    const e = await caught(() => planConfig(kt.state, kt.store, parseConfig(text, {})));
    expect((e as Error).message).toContain('secrets.app/key.consumers.0.template: {{password}} is not a field of the value (the value is a plain string: use {{value}})');
  });

  it('rotate --dry-run reports the problem and exits non-zero; the engine fails at prepare and changes nothing', async () => {
    const file = join(out, 'db.env');
    await applyUnchecked(yaml(file, 'PASS={{pasword}}', '    rotation: { attempts: 3 }\n'));
    const before = await kt.store.get('prod/db/app');

    const dry = await runCli(['rotate', 'prod/db/app', '--dry-run'], { env: { KEYTURN_HOME: kt.settings.home, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(dry.code).not.toBe(0);
    expect(dry.stdout + dry.stderr).toContain('secrets.prod/db/app.consumers.0.template: {{pasword}} is not a field of the value (fields: username, password)');
    expect(dry.stderr).toContain('KT_TEMPLATE_PLACEHOLDER_UNKNOWN');

    // --all --dry-run plans every secret the same way: the problem is listed and the exit is non-zero.
    const all = await runCli(['rotate', '--all', '--dry-run'], { env: { KEYTURN_HOME: kt.settings.home, KEYTURN_LOG_LEVEL: 'silent' } });
    expect(all.code).not.toBe(0);
    expect(all.stdout).toContain('prod/db/app: would fail before changing anything: secrets.prod/db/app.consumers.0.template: {{pasword}} is not a field of the value');
    expect(all.stderr).toContain('KT_TEMPLATE_PLACEHOLDER_UNKNOWN');

    const engine = await kt.engine();
    const run = await engine.rotate('prod/db/app');
    expect(run).toMatchObject({ status: 'failed', failedStep: 'prepare', errorCode: 'KT_TEMPLATE_PLACEHOLDER_UNKNOWN', pendingVersionId: null });
    expect(run.errorMessage).toContain('{{pasword}}');
    expect((await kt.store.get('prod/db/app'))!.id).toBe(before!.id);
    expect(await kt.store.get('prod/db/app', { stage: 'pending' })).toBeNull();
    expect((await kt.store.versions('prod/db/app')).length).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it('a database credential on the real PostgreSQL: apply refuses, a policy applied earlier fails at prepare and the password stays', async () => {
    const consumers = (file: string, template: string) => `    consumers:\n      - { type: file, path: ${file}, template: "${template}" }\n`;
    const fx = await rotationFixture('postgres', 'single-user', { secretExtra: consumers('/dev/null/x', 'P={{password}}') });
    // apply refuses the typo outright.
    const yamlFile = join(fx.dir, 'keyturn.yaml');
    writeFileSync(yamlFile, readFileSync(yamlFile, 'utf8').replace('P={{password}}', 'P={{pasword}}'));
    const applied = await runCli(['apply', '-f', yamlFile, '--yes'], { env: { ...fx.env, ADMIN_PASSWORD: 'unused', APP_PASSWORD: 'unused', KEYTURN_LOG_LEVEL: 'silent' } });
    expect(applied.code).toBe(2);
    expect(applied.stderr).toContain('secrets.app/db.consumers.0.template: {{pasword}} is not a field of the value (fields: username, password)');
    try {
      const file = join(fx.dir, 'db.env');
      const settings = loadSettings({ KEYTURN_HOME: fx.home, KEYTURN_LOG_LEVEL: 'silent' });
      const k = await openKeyturn(settings);
      try {
        const cur = await k.store.get(fx.path);
        // Simulate a policy applied before this check existed.
        const policy = JSON.parse((await k.state.db.selectFrom('secret_policies').select('config').where('path', '=', fx.path).executeTakeFirstOrThrow()).config) as Record<string, unknown>;
        policy.consumers = [{ type: 'file', path: file, template: 'U={{username}} P={{pasword}}', mode: '0600' }];
        await k.state.db
          .updateTable('secret_policies')
          .set({ config: JSON.stringify(policy) })
          .where('path', '=', fx.path)
          .execute();
        const run = await (await k.engine()).rotate(fx.path);
        expect(run).toMatchObject({ status: 'failed', failedStep: 'prepare', errorCode: 'KT_TEMPLATE_PLACEHOLDER_UNKNOWN' });
        expect((await k.store.get(fx.path))!.id).toBe(cur!.id);
        expect(await fx.logsIn(cur!.value as { username: string; password: string })).toBe(true);
        expect(existsSync(file)).toBe(false);
      } finally {
        await k.close();
      }
    } finally {
      await fx.close();
    }
  });
});
