/**
 * Commands that ask first: `key rotate-root`, `secret purge`, `rotate --all`, `runs cancel` and
 * `apply`. On a (fake) terminal answered y and n, off a terminal with and without --yes; after
 * every refusal nothing has changed. Also root.key.old after rotate-root, and apply finding
 * ./keyturn.yaml or reading stdin.
 */
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { Engine } from '../src/engine/engine.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli, runCliOnTerminal } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';
import { dumpState } from './helpers/state-dump.js';

let tmp: ReturnType<typeof tempDir>;
let home: string;
let env: Record<string, string>;

beforeEach(async () => {
  tmp = tempDir();
  home = join(tmp.dir, 'home');
  env = { KEYTURN_HOME: home, KEYTURN_LOG_LEVEL: 'silent' };
  expect((await runCli(['init'], { env })).code).toBe(0);
});
afterEach(() => tmp.remove());

const kt = (argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
  runCli(argv, { env: { ...env, ...options.env }, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });
const onTerminal = (argv: string[], answer: string | null, options: { env?: Record<string, string>; cwd?: string } = {}) =>
  runCliOnTerminal(argv, { env: { ...env, ...options.env }, answer, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });

const dump = () => dumpState(home);

function errorCode(stderr: string): string {
  return (JSON.parse(stderr.slice(stderr.indexOf('{'))) as { error: { code: string } }).error.code;
}

function appYaml(paths: readonly string[]): string {
  return `version: 1\nsecrets:\n${paths.map((p) => `  ${p}:\n    type: app-secret\n    password: { length: 32 }\n`).join('')}`;
}

describe('secret purge', () => {
  const noProtection = { KEYTURN_PURGE_PROTECTION: 'false' };
  beforeEach(async () => {
    await kt(['secret', 'put', 'old/key', '--value', 'v1']);
    await kt(['secret', 'put', 'old/key', '--value', 'v2']);
    await kt(['secret', 'rm', 'old/key']);
  });
  const stillDeleted = async () => (JSON.parse((await kt(['secret', 'ls', '--deleted', '--json'])).stdout) as Array<{ path: string }>).map((s) => s.path);

  it('on a terminal: n keeps the secret, the end of input too, y purges it', async () => {
    const before = dump();
    const no = await onTerminal(['secret', 'purge', 'old/key'], 'n', { env: noProtection });
    expect(no.questions).toEqual(['Purge old/key and its 2 versions for good (this cannot be undone)?']);
    expect(no.code).toBe(1);
    expect(no.stderr).toMatch(/error KT_ABORTED: not confirmed: nothing was changed\n {2}fix: .*answer y.*--yes/);
    expect(no.stdout).toBe('');
    const eof = await onTerminal(['secret', 'purge', 'old/key'], null, { env: noProtection });
    expect(eof.code).toBe(1);
    expect(eof.stderr).toContain('KT_ABORTED');
    expect(dump()).toEqual(before);
    expect(await stillDeleted()).toEqual(['old/key']);

    const yes = await onTerminal(['secret', 'purge', 'old/key'], 'y', { env: noProtection });
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stdout).toBe('old/key: purged\n');
    expect(await stillDeleted()).toEqual([]);
  });

  it('off a terminal: refused with KT_CONFIRMATION_REQUIRED (exit 2) without --yes, purged with it', async () => {
    const before = dump();
    const refused = await kt(['secret', 'purge', 'old/key', '--json'], { env: noProtection });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    const error = JSON.parse(refused.stderr).error as { code: string; message: string; fix: string };
    expect(error).toMatchObject({ code: 'KT_CONFIRMATION_REQUIRED', status: 400 });
    expect(error.message).toContain('old/key');
    expect(error.fix).toContain('Pass --yes to confirm (scripts and CI)');
    expect(dump()).toEqual(before);
    expect(await stillDeleted()).toEqual(['old/key']);
    const yes = await kt(['secret', 'purge', 'old/key', '--yes', '--json'], { env: noProtection });
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(yes.stdout)).toEqual({ path: 'old/key', purged: true });
  });

  it('with --json on a terminal the question is on stderr and stdout is the JSON only', async () => {
    const r = await onTerminal(['secret', 'purge', 'old/key', '--json'], 'yes', { env: noProtection });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('Purge old/key and its 2 versions for good (this cannot be undone)? [y/N] \n');
    expect(JSON.parse(r.stdout)).toEqual({ path: 'old/key', purged: true });
  });

  it('a purge that would be refused is refused before any question (protection, not deleted, missing)', async () => {
    const protectedPurge = await onTerminal(['secret', 'purge', 'old/key'], 'y');
    expect(protectedPurge.questions).toEqual([]);
    expect(protectedPurge.code).toBe(1);
    expect(protectedPurge.stderr).toContain('KT_PURGE_PROTECTED');
    await kt(['secret', 'put', 'live/key', '--value', 'v']);
    const live = await onTerminal(['secret', 'purge', 'live/key', '--json'], 'y', { env: noProtection });
    expect([live.questions, errorCode(live.stderr)]).toEqual([[], 'KT_SECRET_NOT_DELETED']);
    const missing = await kt(['secret', 'purge', 'no/such', '--json']);
    expect(errorCode(missing.stderr)).toBe('KT_SECRET_NOT_FOUND');
    expect(await stillDeleted()).toEqual(['old/key']);
  });
});

describe('runs cancel', () => {
  /** An app secret with a run stopped at a step boundary: `retrying` at set, its pending version stored. */
  async function stoppedRun(): Promise<{ id: string; pending: string }> {
    const file = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(file, appYaml(['app/session']));
    expect((await kt(['apply', '-f', file])).code).toBe(0);
    const k = await openKeyturn(loadSettings(env));
    try {
      const engine: Engine = new Engine({
        state: k.state,
        store: k.store,
        applied: k.applied,
        clock: k.clock,
        log: k.log,
        onBoundary: (step, when) => {
          if (step === 'create' && when === 'after') engine.requestStop();
        },
      });
      const run = await engine.rotate('app/session');
      expect(run).toMatchObject({ status: 'retrying', step: 'set' });
      return { id: run.id, pending: run.pendingVersionId! };
    } finally {
      await k.close();
    }
  }
  const show = async (id: string) => JSON.parse((await kt(['runs', 'show', id, '--json'])).stdout) as { status: string };
  const pending = async () => (await kt(['secret', 'get', 'app/session', '--stage', 'pending', '--json'])).code;

  it('on a terminal: n leaves the run active with its pending version, y cancels it', async () => {
    const run = await stoppedRun();
    const before = dump();
    const no = await onTerminal(['runs', 'cancel', run.id], 'n');
    expect(no.questions).toEqual([`Cancel run ${run.id} of app/session (retrying at step set, attempt 1), clearing its pending version?`]);
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('KT_ABORTED');
    expect(dump()).toEqual(before);
    expect((await show(run.id)).status).toBe('retrying');
    expect(await pending()).toBe(0);

    const yes = await onTerminal(['runs', 'cancel', run.id, '--json'], 'y');
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(yes.stdout)).toMatchObject({ id: run.id, status: 'cancelled' });
    expect((await show(run.id)).status).toBe('cancelled');
    expect(await pending()).toBe(3); // KT_STAGE_NOT_SET: nothing is staged pending any more
  });

  it('off a terminal: refused without --yes (the run stays active), cancelled with it; a finished run is refused without a question', async () => {
    const run = await stoppedRun();
    const before = dump();
    const refused = await kt(['runs', 'cancel', run.id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error KT_CONFIRMATION_REQUIRED: Cancel run .+: not on a terminal, so nothing was asked; pass --yes to confirm\n {2}fix: Pass --yes to confirm \(scripts and CI\)/);
    expect(dump()).toEqual(before);
    expect((await show(run.id)).status).toBe('retrying');
    expect((await kt(['runs', 'cancel', run.id, '--yes'])).stdout).toBe(`app/session: run ${run.id} cancelled; the pending version is cleared\n`);
    const again = await onTerminal(['runs', 'cancel', run.id, '--json'], 'y');
    expect([again.questions, errorCode(again.stderr)]).toEqual([[], 'KT_RUN_FINISHED']);
    const unknown = await onTerminal(['runs', 'cancel', 'run_nope', '--json'], 'y');
    expect([unknown.questions, errorCode(unknown.stderr)]).toEqual([[], 'KT_RUN_NOT_FOUND']);
  });
});

describe('rotate --all', () => {
  beforeEach(async () => {
    const file = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(file, appYaml(['app/a', 'app/b']));
    expect((await kt(['apply', '-f', file])).code).toBe(0);
  });
  const runCount = async () => (JSON.parse((await kt(['runs', '--json'])).stdout) as unknown[]).length;

  it('off a terminal: refused without --yes, before anything is opened; --dry-run needs no confirmation', async () => {
    const before = dump();
    const refused = await kt(['rotate', '--all', '--json']);
    expect(refused.code).toBe(2);
    expect(errorCode(refused.stderr)).toBe('KT_CONFIRMATION_REQUIRED');
    expect(refused.stdout).toBe('');
    expect(dump()).toEqual(before);
    const dry = await kt(['rotate', '--all', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('app/a: would rotate\napp/b: would rotate\n2 secrets would be rotated (dry run: nothing changed)\n');
    expect(dump()).toEqual(before);
    const yes = await kt(['rotate', '--all', '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stdout).toBe('2 of 2 rotated\n');
  });

  it('on a terminal: lists what it rotates in the question; n rotates nothing, y rotates them', async () => {
    const before = dump();
    const no = await onTerminal(['rotate', '--all', '--prefix', 'app'], 'n');
    expect(no.questions).toEqual(['Rotate 2 secrets at or below app (app/a, app/b)?']);
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('KT_ABORTED');
    expect(dump()).toEqual(before);
    expect(await runCount()).toBe(0);

    const dry = await onTerminal(['rotate', '--all', '--dry-run'], 'y');
    expect([dry.code, dry.questions]).toEqual([0, []]);
    const yes = await onTerminal(['rotate', '--all', '--json'], 'y');
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.questions).toEqual(['Rotate 2 secrets (app/a, app/b)?']);
    expect(
      yes.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .at(-1),
    ).toEqual({ summary: { total: 2, done: 2, skipped: 0, failed: 0, dryRun: false } });
    expect(await runCount()).toBe(2);
    const skip = await onTerminal(['rotate', '--all', '--yes'], 'n');
    expect([skip.code, skip.questions]).toEqual([0, []]);
    const none = await onTerminal(['rotate', '--all', '--prefix', 'nothing'], 'n');
    expect([none.code, none.questions, none.stdout]).toEqual([0, [], 'No managed secrets at or below nothing to rotate\n']);
  });
});

describe('key rotate-root', () => {
  const keyFile = () => join(home, 'root.key');
  const oldFile = () => join(home, 'root.key.old');

  it('off a terminal: refused without --yes and nothing changes; on a terminal n changes nothing either', async () => {
    await kt(['secret', 'put', 'app/a', '--value', 'kept']);
    const key = readFileSync(keyFile(), 'utf8');
    const before = dump();
    const refused = await kt(['key', 'rotate-root', '--json']);
    expect(refused.code).toBe(2);
    expect(errorCode(refused.stderr)).toBe('KT_CONFIRMATION_REQUIRED');
    const no = await onTerminal(['key', 'rotate-root'], 'n');
    expect(no.code).toBe(1);
    expect(no.questions).toEqual([expect.stringMatching(/^Rotate root key rk_[0-9a-f]{16} \(1 data key re-wrapped; the new key goes to .+root\.key, the old one to .+root\.key\.old\)\?$/)]);
    expect(readFileSync(keyFile(), 'utf8')).toBe(key);
    expect(existsSync(oldFile())).toBe(false);
    expect(existsSync(join(home, 'root.key.next'))).toBe(false);
    expect(dump()).toEqual(before);
  });

  it('on a terminal, y rotates: the old key is kept in root.key.old (0600), does not open the state, and blocks the next rotation until removed', async () => {
    await kt(['secret', 'put', 'app/a', '--value', 'kept']);
    const firstKey = readFileSync(keyFile(), 'utf8');
    const r = await onTerminal(['key', 'rotate-root', '--json'], 'y');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { keyFile: string; oldKeyFile: string; rootKeyId: string; previousRootKeyId: string };
    expect(result).toMatchObject({ keyFile: keyFile(), oldKeyFile: oldFile(), dataKeysRewrapped: 1 });
    expect(readFileSync(oldFile(), 'utf8')).toBe(firstKey);
    expect(statSync(oldFile()).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile(), 'utf8')).not.toBe(firstKey);
    expect(existsSync(join(home, 'root.key.next'))).toBe(false);
    // The new key opens the state; the old one does not, and is not picked up from the home either.
    expect((await kt(['secret', 'get', 'app/a'])).stdout).toBe('kept');
    expect(errorCode((await kt(['secret', 'get', 'app/a', '--json'], { env: { KEYTURN_ROOT_KEY: firstKey.trim() } })).stderr)).toBe('KT_ROOT_KEY_MISMATCH');
    const status = JSON.parse((await kt(['status', '--json'])).stdout) as { rootKey: { id: string } };
    expect(status.rootKey.id).toBe(result.rootKeyId);

    // While root.key.old is there, the next rotation is refused before any question or change.
    const secondKey = readFileSync(keyFile(), 'utf8');
    const before = dump();
    const blocked = await onTerminal(['key', 'rotate-root'], 'y');
    expect(blocked.questions).toEqual([]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/^error KT_ROOT_KEY_OLD_EXISTS: .+root\.key\.old is still there from an earlier rotation; nothing was changed\n {2}fix: Move root\.key\.old out of the home folder/);
    expect((await kt(['key', 'rotate-root', '--yes', '--json'])).code).toBe(1);
    expect(readFileSync(keyFile(), 'utf8')).toBe(secondKey);
    expect(readFileSync(oldFile(), 'utf8')).toBe(firstKey);
    expect(dump()).toEqual(before);

    // Removed: the next rotation works and keeps the second key.
    unlinkSync(oldFile());
    const again = await kt(['key', 'rotate-root', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`old key kept in       ${oldFile()} (mode 0600)`);
    expect(readFileSync(oldFile(), 'utf8')).toBe(secondKey);
    expect((await kt(['secret', 'get', 'app/a'])).stdout).toBe('kept');
  });

  it('root.key.old alone does not open the state: a lost root.key is reported as missing', async () => {
    expect((await kt(['key', 'rotate-root', '--yes'])).code).toBe(0);
    unlinkSync(keyFile());
    const r = await kt(['secret', 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/KT_ROOT_KEY_MISSING: no root\.key in .+ \(root\.key\.old is the key a rotation replaced; it does not open the state\)/);
  });
});

describe('apply', () => {
  let project: string;
  beforeEach(() => {
    project = join(tmp.dir, 'project');
    mkdirSync(project);
  });
  const policies = (): string[] => {
    const db = new DatabaseSync(join(home, 'keyturn.db'));
    try {
      return (db.prepare('SELECT path FROM secret_policies ORDER BY path').all() as Array<{ path: string }>).map((r) => r.path);
    } finally {
      db.close();
    }
  };
  const cli = (argv: string[], stdin?: string) => runCli(argv, { env, cwd: project, ...(stdin === undefined ? {} : { stdin }) });

  it('without -f, a missing ./keyturn.yaml is KT_CONFIG_FILE_MISSING (exit 2) naming it, with the fix', async () => {
    const r = await cli(['apply']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error KT_CONFIG_FILE_MISSING: no keyturn.yaml in ${project} (no -f FILE was given, so apply looked for ${join(project, 'keyturn.yaml')})\n` +
        '  fix: Create keyturn.yaml in the current folder (start from examples/keyturn.yaml, or run `keyturn quickstart`, which writes a working one under the home folder), or pass -f FILE (-f - reads it from stdin).\n',
    );
    const named = await cli(['apply', '-f', 'other.yaml', '--json']);
    expect(named.code).toBe(2);
    expect(JSON.parse(named.stderr).error).toMatchObject({ code: 'KT_CONFIG_FILE_MISSING', message: `other.yaml does not exist (${join(project, 'other.yaml')})` });
  });

  it('off a terminal: finds ./keyturn.yaml and applies creates and changes without a question; -f - reads stdin', async () => {
    writeFileSync(join(project, 'keyturn.yaml'), appYaml(['app/a']));
    const r = await cli(['apply']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ACTION\s+KIND\s+NAME\s+CHANGED\ncreate\s+policy\s+app\/a[\s\S]*\n\nApplied: 2 to create, 0 to change, 0 to remove, 0 unchanged\n$/);
    const piped = await cli(['apply', '-f', '-', '--json'], appYaml(['app/a', 'app/b']));
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ applied: true, dryRun: false, upToDate: false, file: 'stdin' });
    expect(policies()).toEqual(['app/a', 'app/b']);
    const same = await cli(['apply', '-f', '-'], appYaml(['app/a', 'app/b']));
    expect(same.stdout).toBe('Nothing to do: 0 to create, 0 to change, 0 to remove, 4 unchanged; the state database already matches stdin.\n');
    const bad = await cli(['apply', '-f', '-'], 'version: 1\nsecrets: [\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('KT_CONFIG_FILE_INVALID: stdin:3: YAML error');
  });

  it('off a terminal, a plan that removes something needs --yes (also with -f -)', async () => {
    writeFileSync(join(project, 'keyturn.yaml'), appYaml(['app/a', 'app/b']));
    expect((await cli(['apply'])).code).toBe(0);
    writeFileSync(join(project, 'keyturn.yaml'), appYaml(['app/a']));
    const before = dump();
    const refused = await cli(['apply']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^error KT_CONFIRMATION_REQUIRED: Apply this plan to .+ \(0 to create, 0 to change, 1 to remove, 2 unchanged\), which stops managing policy app\/b \(secrets and versions stay\): not on a terminal/,
    );
    const piped = await cli(['apply', '-f', '-', '--json'], appYaml(['app/a']));
    expect(piped.code).toBe(2);
    expect(JSON.parse(piped.stderr).error).toMatchObject({ code: 'KT_CONFIRMATION_REQUIRED', message: expect.stringContaining('stdin holds') });
    expect(dump()).toEqual(before);
    expect(policies()).toEqual(['app/a', 'app/b']);
    const dry = await cli(['apply', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Plan: 0 to create, 0 to change, 1 to remove, 2 unchanged (dry run: nothing changed)');
    const yes = await cli(['apply', '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(policies()).toEqual(['app/a']);
    expect((await kt(['secret', 'get', 'app/b'])).code).toBe(0);
  });

  it('on a terminal: shows the plan and asks; n applies nothing, y applies; --yes, --dry-run and nothing to do ask nothing', async () => {
    writeFileSync(join(project, 'keyturn.yaml'), appYaml(['app/a']));
    const before = dump();
    const no = await onTerminal(['apply'], 'n', { cwd: project });
    expect(no.code).toBe(1);
    expect(no.questions).toEqual([expect.stringMatching(/^Apply this plan to .+keyturn\.db \(2 to create, 0 to change, 0 to remove, 0 unchanged\)\?$/)]);
    expect(no.stdout).toMatch(/^ACTION\s+KIND\s+NAME[\s\S]*create\s+value\s+app\/a\s+-\n\nPlan: 2 to create, 0 to change, 0 to remove, 0 unchanged\n$/);
    expect(no.stderr).toContain('KT_ABORTED');
    expect(dump()).toEqual(before);

    const dry = await onTerminal(['apply', '--dry-run'], 'y', { cwd: project });
    expect([dry.code, dry.questions]).toEqual([0, []]);
    expect(dump()).toEqual(before);

    const yes = await onTerminal(['apply'], 'y', { cwd: project });
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.questions).toHaveLength(1);
    // The plan is printed once, before the question; after it only the outcome.
    expect(yes.stdout.match(/ACTION/g)).toHaveLength(1);
    expect(yes.stdout).toMatch(/\nApplied: 2 to create, 0 to change, 0 to remove, 0 unchanged\n$/);
    expect(policies()).toEqual(['app/a']);

    const nothing = await onTerminal(['apply'], 'n', { cwd: project });
    expect([nothing.code, nothing.questions]).toEqual([0, []]);
    expect(nothing.stdout).toMatch(/^Nothing to do: /);

    writeFileSync(join(project, 'keyturn.yaml'), appYaml(['app/b']));
    const skipped = await onTerminal(['apply', '--yes'], 'n', { cwd: project });
    expect([skipped.code, skipped.questions]).toEqual([0, []]);
    expect(policies()).toEqual(['app/b']);
  });

  it('with --json on a terminal, the plan and the question go to stderr and stdout is one JSON document', async () => {
    writeFileSync(join(project, 'keyturn.yaml'), appYaml(['app/a']));
    const r = await onTerminal(['apply', '--json'], 'y', { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^ACTION\s+KIND[\s\S]*\n\nPlan: 2 to create.*\nApply this plan to .+\? \[y\/N\] \n$/);
    expect(JSON.parse(r.stdout)).toMatchObject({ applied: true, upToDate: false, file: join(project, 'keyturn.yaml'), plan: [{ action: 'create' }, { action: 'create' }] });
  });
});
