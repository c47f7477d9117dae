/**
 * Rotations on real targets through the CLI: a database credential keeps its other fields, a
 * single-user rotation makes the old password stop working, alternating-users swaps the user,
 * and `rotate --dry-run` changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import type { Credential } from '../src/targets/target.js';
import { runCli } from './helpers/cli.js';
import { rotationFixture, type Kind, type RotationFixture } from './helpers/rotation-fixtures.js';

let fx: RotationFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function current(f: RotationFixture): Promise<Credential & Record<string, unknown>> {
  const r = await runCli(['secret', 'get', f.path, '--json'], { env: f.env });
  return JSON.parse(r.stdout).value;
}

describe.each<Kind>(['postgres', 'mysql', 'redis', 'ldap', 'active-directory', 'rabbitmq', 'script'])('%s through the CLI', (kind) => {
  it('single-user: keeps the other fields, the new password logs in and the old one is refused', async () => {
    fx = await rotationFixture(kind, 'single-user');
    const first = await current(fx);
    // Fields beside username and password ride along.
    const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
    await kt.store.put(fx.path, { ...first, host: 'db.internal', dbname: 'app' });
    await kt.close();

    const dry = await runCli(['rotate', fx.path, '--dry-run', '--json'], { env: fx.env });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, strategy: 'single-user', currentLogsIn: true, nextUsername: fx.username });
    expect((await current(fx)).password).toBe(first.password);

    const r = await runCli(['rotate', fx.path, '--json'], { env: fx.env });
    expect(r.code, r.stderr).toBe(0);
    const next = await current(fx);
    expect(next).toMatchObject({ username: fx.username, host: 'db.internal', dbname: 'app' });
    expect(next.password).not.toBe(first.password);
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(first)).toBe(false);
  });

  it('alternating-users: the standby user takes over and the previous one still logs in', async () => {
    fx = await rotationFixture(kind, 'alternating-users');
    const first = await current(fx);
    expect((await runCli(['rotate', fx.path], { env: fx.env })).code).toBe(0);
    const second = await current(fx);
    expect(second.username).toBe(`${fx.username}_clone`);
    expect(await fx.logsIn(second)).toBe(true);
    expect(await fx.logsIn(first)).toBe(true);
    expect((await runCli(['rotate', fx.path], { env: fx.env })).code).toBe(0);
    const third = await current(fx);
    expect(third.username).toBe(fx.username);
    expect(third.password).not.toBe(first.password);
    expect(await fx.logsIn(third)).toBe(true);
    expect(await fx.logsIn(second)).toBe(true);
    expect(await fx.logsIn(first)).toBe(false);
  });
});
