/**
 * The engine on app secrets (strategy simple, no outside system): the run journal, delivery to
 * consumers with per-consumer status, a consumer failure that never undoes the rotation and is
 * retried by resume, interruption at a step boundary and resumption, safe cancel, retention of
 * history, and the errors for unmanaged secrets.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyturnError } from '../src/core/errors.js';
import type { BoundaryHook } from '../src/engine/engine.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { expectCode } from '../src/contracts/store-contract.js';
import { runCli } from './helpers/cli.js';
import { applyYaml, openTestHome } from './helpers/state.js';
import { engineWith as engineWithHook } from './helpers/engines.js';

let home: Awaited<ReturnType<typeof openTestHome>>;
let kt: Keyturn;
let out: string;

const apply = (yaml: string) => applyYaml(kt, yaml);

/** An engine over the test's Keyturn whose step boundaries call `onBoundary`. */
const engineWith = (onBoundary: BoundaryHook) => engineWithHook(kt, onBoundary);

function appYaml(file: string, extra = ''): string {
  return `version: 1
secrets:
  app/session:
    type: app-secret
    password: { length: 40 }
    consumers:
      - type: file
        path: ${file}
        template: "SESSION={{value}}\\n"
${extra}`;
}

beforeEach(async () => {
  home = await openTestHome();
  kt = home.kt;
  out = home.out;
});
afterEach(() => home.close());

describe('rotating an app secret', () => {
  it('apply generates the first value; a rotation stores a new one, journals every step and renders the file', async () => {
    const file = join(out, 'session.env');
    await apply(appYaml(file));
    const first = await kt.store.get('app/session');
    expect(typeof first?.value).toBe('string');
    expect((first!.value as string).length).toBe(40);

    const run = await (await kt.engine()).rotate('app/session');
    expect(run).toMatchObject({ status: 'done', step: 'done', attempt: 1, errorCode: null });
    const current = await kt.store.get('app/session');
    expect(current!.id).toBe(run.pendingVersionId);
    expect(current!.value).not.toBe(first!.value);
    expect((await kt.store.get('app/session', { stage: 'previous' }))!.id).toBe(first!.id);
    expect(await kt.store.get('app/session', { stage: 'pending' })).toBeNull();

    const steps = await (await kt.engine()).runs.steps(run.id);
    expect(steps.map((s) => [s.step, s.outcome])).toEqual([
      ['prepare', 'ok'],
      ['create', 'ok'],
      ['set', 'skipped'],
      ['test', 'skipped'],
      ['finish', 'ok'],
      ['propagate', 'ok'],
    ]);
    expect(readFileSync(file, 'utf8')).toBe(`SESSION=${current!.value as string}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await (await kt.engine()).runs.consumers(run.id)).toEqual([expect.objectContaining({ idx: 0, kind: 'file', status: 'delivered', attempts: 1 })]);
  });

  it('a field policy keeps the other fields of a JSON value', async () => {
    await apply(`version: 1
secrets:
  app/cfg:
    type: app-secret
    field: token
    initial: { token: "t0", issuer: "keyturn" }
`);
    await (await kt.engine()).rotate('app/cfg');
    const v = (await kt.store.get('app/cfg'))!.value as Record<string, string>;
    expect(v.issuer).toBe('keyturn');
    expect(v.token).not.toBe('t0');
    expect(v.token!.length).toBe(32);
  });

  it('a failing consumer never undoes the rotation; resume delivers once the cause is fixed', async () => {
    const locked = join(out, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const file = join(locked, 'session.env');
    const good = join(out, 'good.env');
    await apply(`version: 1
secrets:
  app/session:
    type: app-secret
    consumers:
      - type: file
        path: ${good}
      - type: file
        path: ${file}
`);
    // root ignores directory permissions, so make the folder a file instead when running as root.
    if (process.getuid?.() === 0) {
      chmodSync(locked, 0o700);
      (await import('node:fs')).rmSync(locked, { recursive: true });
      (await import('node:fs')).writeFileSync(locked, 'not a folder');
    }
    const run = await (await kt.engine()).rotate('app/session');
    expect(run.status).toBe('done');
    const consumers = await (await kt.engine()).runs.consumers(run.id);
    expect(consumers.map((c) => c.status)).toEqual(['delivered', 'failed']);
    expect(consumers[1]!.errorCode).toMatch(/^KT_CONSUMER/);
    const current = (await kt.store.get('app/session'))!;
    expect(current.id).toBe(run.pendingVersionId);
    expect(consumers[1]!.errorMessage).not.toContain(current.value as string);

    const { rmSync } = await import('node:fs');
    rmSync(locked, { recursive: true, force: true });
    mkdirSync(locked);
    const resumed = await (await kt.engine()).resume(run.id);
    expect(resumed.status).toBe('done');
    const after = await (await kt.engine()).runs.consumers(run.id);
    expect(after.map((c) => [c.status, c.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 2],
    ]);
    expect(readFileSync(file, 'utf8')).toBe(current.value);
    await expectCode(async () => (await kt.engine()).resume(run.id), 'KT_RUN_FINISHED');
  });
});

describe('interruption, resumption and cancel', () => {
  it('a run stopped at any step boundary resumes to the same end, with one pending version at most', async () => {
    const file = join(out, 'session.env');
    await apply(appYaml(file));
    for (const step of ['prepare', 'create', 'set', 'test', 'finish', 'propagate'] as const) {
      for (const when of ['before', 'after'] as const) {
        const crashing = engineWith((s, w) => {
          if (s === step && w === when) throw new KeyturnError('KT_INTERNAL', `simulated crash at ${step}:${when}`);
        });
        const before = (await kt.store.versions('app/session')).length;
        const runsBefore = (await (await kt.engine()).runs.list({ path: 'app/session' })).length;
        await expectCode(() => crashing.rotate('app/session'), 'KT_INTERNAL');
        const active = await (await kt.engine()).runs.active('app/session');
        // A run is written by its first commit (prepare and create): stopped before it, it left nothing.
        const leftNothing = (await (await kt.engine()).runs.list({ path: 'app/session' })).length === runsBefore;
        expect(leftNothing, `${step}:${when}`).toBe(step === 'prepare' || (step === 'create' && when === 'before'));
        const pendingNow = await kt.store.get('app/session', { stage: 'pending' });
        if (active) expect(pendingNow === null || pendingNow.id === active.pendingVersionId || pendingNow.id.startsWith(active.id)).toBe(true);
        const run = await (await kt.engine()).rotate('app/session');
        expect(run.status, `${step}:${when}`).toBe('done');
        if (active) expect(run.id).toBe(active.id);
        expect(await kt.store.get('app/session', { stage: 'pending' })).toBeNull();
        // A crash after the last step left a finished run: the second rotate is a new run.
        expect((await kt.store.versions('app/session')).length).toBe(before + (active || leftNothing ? 1 : 2));
        expect(readFileSync(file, 'utf8')).toBe(`SESSION=${(await kt.store.get('app/session'))!.value as string}\n`);
      }
    }
  });

  it('requestStop leaves the run retrying at a boundary; rotate resumes it', async () => {
    await apply(appYaml(join(out, 'f.env')));
    const engine = engineWith((s, w) => {
      if (s === 'create' && w === 'after') engine.requestStop();
    });
    const stopped = await engine.rotate('app/session');
    expect(stopped).toMatchObject({ status: 'retrying', step: 'set', errorCode: 'KT_RUN_INTERRUPTED' });
    expect((await kt.store.get('app/session', { stage: 'pending' }))?.id).toBe(stopped.pendingVersionId);
    const done = await (await kt.engine()).rotate('app/session');
    expect(done).toMatchObject({ id: stopped.id, status: 'done' });
  });

  it('cancel clears the pending version when the current one works, and refuses a finished run', async () => {
    await apply(appYaml(join(out, 'f.env')));
    const before = await kt.store.get('app/session');
    const crashing = engineWith((s, w) => {
      if (s === 'create' && w === 'after') throw new KeyturnError('KT_INTERNAL', 'simulated crash');
    });
    await expectCode(() => crashing.rotate('app/session'), 'KT_INTERNAL');
    const active = (await (await kt.engine()).runs.active('app/session'))!;
    expect(await kt.store.get('app/session', { stage: 'pending' })).not.toBeNull();
    const cancelled = await (await kt.engine()).cancel(active.id);
    expect(cancelled.status).toBe('cancelled');
    expect(await kt.store.get('app/session', { stage: 'pending' })).toBeNull();
    expect((await kt.store.get('app/session'))!.id).toBe(before!.id);
    await expectCode(async () => (await kt.engine()).cancel(active.id), 'KT_RUN_FINISHED');
    await expectCode(async () => (await kt.engine()).resume(active.id), 'KT_RUN_FINISHED');
  });
});

describe('errors', () => {
  it('an unmanaged secret, a missing run and a stored-only credential get their codes', async () => {
    await kt.store.put('plain/secret', 'v');
    await expectCode(async () => (await kt.engine()).rotate('plain/secret'), 'KT_POLICY_NOT_FOUND');
    await expectCode(async () => (await kt.engine()).resume('run_nope'), 'KT_RUN_NOT_FOUND');
    await apply(`version: 1
secrets:
  admin/db:
    type: database-credential
    initial: { username: admin, password: pw }
`);
    await expectCode(async () => (await kt.engine()).rotate('admin/db'), 'KT_POLICY_NOT_ROTATABLE');
    expect(existsSync(join(home.dir, 'home', 'keyturn.db'))).toBe(true);
  });
});

describe('the CLI around the engine', () => {
  it('apply prints a plan, rotate rotates, runs lists and shows, with --json everywhere', async () => {
    await kt.close();
    const env = { KEYTURN_HOME: join(home.dir, 'home') };
    const cfg = join(home.dir, 'keyturn.yaml');
    (await import('node:fs')).writeFileSync(cfg, appYaml(join(out, 'cli.env')));
    const dry = await runCli(['apply', '-f', cfg, '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      applied: false,
      plan: [
        { kind: 'policy', name: 'app/session', action: 'create' },
        { kind: 'value', name: 'app/session', action: 'create' },
      ],
    });
    expect((await runCli(['rotate', 'app/session'], { env })).stderr).toContain('KT_POLICY_NOT_FOUND');
    const applied = await runCli(['apply', '-f', cfg], { env });
    expect(applied.stdout).toContain('Applied: 2 to create');
    expect(JSON.parse((await runCli(['apply', '-f', cfg, '--json'], { env })).stdout).plan.map((p: { action: string }) => p.action)).toEqual(['unchanged', 'unchanged']);

    const rotated = await runCli(['rotate', 'app/session', '--json'], { env });
    expect(rotated.code, rotated.stderr).toBe(0);
    const run = JSON.parse(rotated.stdout);
    expect(run).toMatchObject({ path: 'app/session', status: 'done', consumers: [{ kind: 'file', status: 'delivered' }] });
    const list = await runCli(['runs', '--json'], { env });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: run.id, status: 'done' })]);
    const show = await runCli(['runs', 'show', run.id], { env });
    expect(show.stdout).toMatch(/Steps:\n#\s+STEP/);
    expect(show.stdout).toContain('Consumers:');
    const all = await runCli(['rotate', '--all', '--yes', '--json'], { env });
    const lines = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toEqual({ summary: { total: 1, done: 1, skipped: 0, failed: 0, dryRun: false } });
    expect((await runCli(['rotate', '--all'], { env })).code).toBe(2);
    const bad = join(home.dir, 'bad.yaml');
    (await import('node:fs')).writeFileSync(bad, 'version: 1\nsecrets:\n  app/x:\n    type: app-secret\n    target: pg\n');
    const invalid = await runCli(['apply', '-f', bad], { env });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('secrets.app/x.target: unknown target "pg"');
  });
});
