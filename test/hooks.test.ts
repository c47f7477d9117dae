/**
 * Workflow hooks (src/engine/hooks.ts) on a real Redis credential: a drain file stands for the
 * drained service. `before` drains, `after` restarts and verifies, `always` undrains. A clean
 * rotation runs them in that order and journals each; a failing `before` hook fails the attempt,
 * which rolls back and still undrains; and a real `keyturn rotate` process killed (SIGKILL) at
 * every hook step boundary, and in the middle of the drained part (set, finish), is recovered by
 * the next `keyturn rotate` with the service undrained and the stored credential logging in.
 */
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import type { Credential } from '../src/targets/target.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli, startCli } from './helpers/cli.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { tempDir } from './helpers/state.js';

let fx: RotationFixture<'redis'> | undefined;
let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  tmp?.remove();
  tmp = undefined;
});

/** A script in `dir` that appends its name and KEYTURN_HOOK/KEYTURN_OUTCOME to the log, then does `body`. */
function script(dir: string, name: string, body: string): string {
  const file = join(dir, `${name}.sh`);
  writeFileSync(file, `#!/bin/sh\necho "${name} $KEYTURN_HOOK $KEYTURN_OUTCOME" >> "$DIR/log"\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A Redis single-user secret with drain / restart / verify / undrain hooks writing to a folder of their own. */
async function workflow(options: { failBefore?: boolean } = {}): Promise<{ fx: RotationFixture<'redis'>; dir: string; log(): string[]; drained(): boolean }> {
  tmp = tempDir();
  const dir = tmp.dir;
  const drain = script(dir, 'drain', 'touch "$DIR/drained"; env > "$DIR/env.txt"');
  const check = script(dir, 'check', options.failBefore ? 'echo "health check refused" >&2; exit 3' : 'true');
  const restart = script(dir, 'restart', 'true');
  const verify = script(dir, 'verify', 'test -f "$DIR/drained"');
  const undrain = script(dir, 'undrain', 'rm -f "$DIR/drained"');
  const env = `env: { DIR: "${dir}" }`;
  const hooks = `    hooks:
      before: [{ argv: ["${drain}"], ${env} }, { argv: ["${check}"], ${env} }]
      after: [{ argv: ["${restart}"], ${env} }, { argv: ["${verify}"], ${env} }]
      always: [{ argv: ["${undrain}"], ${env} }]
    rotation: { attempts: 1 }
`;
  fx = await rotationFixture('redis', 'single-user', { secretExtra: hooks });
  return {
    fx,
    dir,
    log: () =>
      existsSync(join(dir, 'log'))
        ? readFileSync(join(dir, 'log'), 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.trim())
        : [],
    drained: () => existsSync(join(dir, 'drained')),
  };
}

async function stored(
  f: RotationFixture<'redis'>,
): Promise<{ current: Credential; runs: Array<{ id: string; status: string }>; steps: Array<{ step: string; outcome: string; detail: string | null }> }> {
  const kt = await openKeyturn(loadSettings({ ...f.env, KEYTURN_LOG_LEVEL: 'silent' }));
  try {
    const engine = await kt.engine();
    const runs = await engine.runs.list({ path: f.path });
    const steps = runs[0] ? await engine.runs.steps(runs[0].id) : [];
    return {
      current: (await kt.store.get(f.path))!.value as Credential,
      runs: runs.map((r) => ({ id: r.id, status: r.status })),
      steps: steps.map((s) => ({ step: s.step, outcome: s.outcome, detail: s.detail })),
    };
  } finally {
    await kt.close();
  }
}

describe('workflow hooks', () => {
  it('drain, rotate, restart, verify, undrain: in that order, each journaled; hooks get no value', async () => {
    const w = await workflow();
    const first = (await stored(w.fx)).current;
    const r = await runCli(['rotate', w.fx.path], { env: w.fx.env });
    expect(r.code, r.stderr).toBe(0);
    expect(w.log()).toEqual(['drain before', 'check before', 'restart after', 'verify after', 'undrain always done']);
    expect(w.drained()).toBe(false);
    const s = await stored(w.fx);
    expect(await w.fx.logsIn(s.current)).toBe(true);
    expect(s.steps.filter((x) => x.step.startsWith('hook-')).map((x) => [x.step, x.outcome])).toEqual([
      ['hook-before', 'ok'],
      ['hook-after', 'ok'],
      ['hook-always', 'ok'],
    ]);
    // The hooks' environment: what they were told, and no value (neither the old nor the new password).
    const env = readFileSync(join(w.dir, 'env.txt'), 'utf8');
    expect(env).toContain('KEYTURN_PATH=app/db');
    expect(env).toContain('KEYTURN_HOOK=before');
    expect(env).toMatch(/KEYTURN_RUN_ID=run_/);
    for (const p of [first.password, s.current.password]) expect(env).not.toContain(p);
  });

  it('a failing before hook fails the attempt: nothing set on the target, rolled back, and undrained', async () => {
    const w = await workflow({ failBefore: true });
    const before = await stored(w.fx);
    const r = await runCli(['rotate', w.fx.path], { env: w.fx.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('KT_ROTATION_FAILED');
    expect(w.log()).toEqual(['drain before', 'check before', 'undrain always failed']);
    expect(w.drained()).toBe(false);
    const s = await stored(w.fx);
    expect(s.current).toEqual(before.current);
    expect(await w.fx.logsIn(s.current)).toBe(true);
    const failed = s.steps.find((x) => x.step === 'hook-before');
    expect(failed).toMatchObject({ outcome: 'failed' });
    expect(failed!.detail).toContain('before hook 2');
    expect(failed!.detail).toContain('exited with 3: health check refused');
    expect(s.steps.find((x) => x.step === 'hook-always')).toMatchObject({ outcome: 'ok' });
  });

  const KILLS = ['hook-before:before', 'hook-before:after', 'set:before', 'finish:after', 'hook-after:before', 'hook-after:after', 'hook-always:before', 'hook-always:after'];
  for (const at of KILLS) {
    it(`killed (SIGKILL) at ${at}: the next rotate ends undrained, done, with the stored credential logging in`, async () => {
      const w = await workflow();
      const killed = await startCli(['rotate', w.fx.path], { env: { ...w.fx.env, KEYTURN_CRASH_AT: at } });
      expect(killed.signal).toBe('SIGKILL');
      const recovered = await runCli(['rotate', w.fx.path], { env: w.fx.env });
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(w.drained()).toBe(false);
      const s = await stored(w.fx);
      expect(
        s.runs.every((x) => x.status === 'done'),
        JSON.stringify(s.runs),
      ).toBe(true);
      expect(await w.fx.logsIn(s.current)).toBe(true);
      // The last thing any run did was to undrain.
      expect(w.log().at(-1)).toMatch(/^undrain always/);
    });
  }
});
