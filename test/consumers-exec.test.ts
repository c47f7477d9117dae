/**
 * The exec consumer against real processes: the shared contract (a node command records the
 * environment it received), then the environment itself, failures with scrubbed stderr, and
 * timeouts that kill the whole process group, grandchildren included.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import type { SecretValue } from '../src/core/types.js';
import { createConsumer, parseConsumerConfig } from '../src/consumers/registry.js';
import { caught, contractValues, errorText, recordingContext, runConsumerContract, version } from '../src/contracts/consumer-contract.js';
import { alive } from './helpers/processes.js';

/** Writes the KEYTURN_* variables, every variable name and argv to the file named by argv[1]. */
const RECORD = `const fs = require('node:fs');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('KEYTURN_')));
fs.writeFileSync(process.argv[1], JSON.stringify({ env, names: Object.keys(process.env).sort(), argv: process.argv }));`;

/** Prints every KEYTURN_* value to stderr (raw, JSON-escaped and URL-encoded), then fails. */
const LEAK_AND_FAIL = `for (const [k, v] of Object.entries(process.env)) if (k.startsWith('KEYTURN_')) {
  console.error(k + '=' + v); console.error(JSON.stringify(v)); console.error(encodeURIComponent(v));
}
process.exit(3);`;

interface Received {
  env: Record<string, string>;
  names: string[];
  argv: string[];
}

const readReceived = async (file: string): Promise<Received | null> =>
  readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as Received,
    () => null,
  );

runConsumerContract({
  name: 'exec',
  make: async ({ dir, broken }) => {
    const out = join(dir, 'received.json');
    return { consumer: createConsumer({ type: 'exec', argv: [process.execPath, '-e', broken ? LEAK_AND_FAIL : RECORD, out] }), out };
  },
  observe: async ({ out }) => {
    const got = await readReceived(out);
    if (got === null) return { carries: 'value', value: null };
    if (got.env.KEYTURN_VALUE !== undefined) return { carries: 'value', value: got.env.KEYTURN_VALUE };
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(got.env)) if (k.startsWith('KEYTURN_FIELD_')) fields[k.slice('KEYTURN_FIELD_'.length).toLowerCase()] = v;
    return { carries: 'value', value: fields as SecretValue };
  },
  skip: { 'check passes after a delivery and fails against a broken far side': 'a command has no lasting far side to check' },
});

describe('exec consumer', () => {
  let dir: string;
  const leftovers: number[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyturn-exec-'));
  });
  afterEach(async () => {
    for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = () => recordingContext().ctx;

  it('passes metadata and fields in a clean environment, never on the command line', async () => {
    const out = join(dir, 'received.json');
    const c = createConsumer({ type: 'exec', argv: [process.execPath, '-e', RECORD, out], env: { APP_ENV: 'prod' } });
    const value = { username: 'app', dbHost: 'db1', 'api-key': 'k-123', 'tls.port': 5432, nested: { a: [1] } };
    await c.deliver(ctx(), { path: 'prod/db/app', versionId: 'run-9', number: 4, value });
    const got = (await readReceived(out))!;
    expect(got.env).toEqual({
      KEYTURN_PATH: 'prod/db/app',
      KEYTURN_VERSION: '4',
      KEYTURN_VERSION_ID: 'run-9',
      KEYTURN_FIELD_USERNAME: 'app',
      KEYTURN_FIELD_DB_HOST: 'db1',
      KEYTURN_FIELD_API_KEY: 'k-123',
      KEYTURN_FIELD_TLS_PORT: '5432',
      KEYTURN_FIELD_NESTED: '{"a":[1]}',
    });
    // Nothing of Keyturn's own environment is inherited (it may hold KEYTURN_ROOT_KEY).
    expect(got.names.filter((n) => !n.startsWith('KEYTURN_'))).toEqual(['APP_ENV', 'PATH']);
    expect(got.argv.join(' ')).not.toMatch(/k-123|db1/);
  });

  it('fails when two fields map to one variable, naming the fields and not their values', async () => {
    const c = createConsumer({ type: 'exec', argv: [process.execPath, '-e', RECORD, join(dir, 'out')] });
    const e = await caught(() => c.deliver(ctx(), version({ 'db.host': 'secret-one', db_host: 'secret-two' })));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message).toContain('fields "db.host" and "db_host" both map to the variable KEYTURN_FIELD_DB_HOST');
    expect(errorText(e)).not.toMatch(/secret-one|secret-two/);
  });

  it('a non-zero exit reports the code and the stderr tail with every value redacted', async () => {
    const { fields, all } = contractValues();
    const c = createConsumer({ type: 'exec', argv: [process.execPath, '-e', `console.error('cannot log in'); ${LEAK_AND_FAIL}`] });
    const e = await caught(() => c.deliver(ctx(), version(fields)));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    const message = (e as Error).message;
    expect(message).toContain('the command exited with code 3; stderr: ');
    expect(message).toContain('cannot log in');
    expect(message).toContain('KEYTURN_FIELD_PASSWORD=[redacted]');
    expect(message).toContain('KEYTURN_PATH=contract/secret');
    for (const v of all) expect(errorText(e)).not.toContain(v);
    for (const v of all) expect(errorText(e)).not.toContain(encodeURIComponent(v));
    expect((e as { details: Record<string, unknown> }).details).toMatchObject({ exitCode: 3, signal: null, timedOut: false });
  });

  it('keeps only the last ~500 characters of stderr, and a value cut by that edge leaks no part of itself', async () => {
    const secret = `edge-${'S'.repeat(30)}-${Date.now()}`;
    // The value starts 520 characters before the end: a naive cut would keep its last part.
    const script = `process.stderr.write('x'.repeat(5000) + process.env.KEYTURN_VALUE + 'y'.repeat(520 - process.env.KEYTURN_VALUE.length) + 'END'); process.exit(1);`;
    const c = createConsumer({ type: 'exec', argv: [process.execPath, '-e', script] });
    const e = await caught(() => c.deliver(ctx(), version(secret)));
    const message = (e as Error).message;
    expect(message).toContain('END');
    expect(message).not.toContain('x'.repeat(600));
    expect(message).not.toMatch(/S{4}/);
    expect(message).toContain('[redacted]');
  });

  it('stderr with encoded values (base64, base64url, hex, spaced, URL-encoded, HTTP Basic) keeps none of them, in a short excerpt', async () => {
    const value = { username: 'app-user', password: 'pa$$ w/rd+?~1', token: 'tok_8f3a9c' };
    const script = `const f = { username: process.env.KEYTURN_FIELD_USERNAME, password: process.env.KEYTURN_FIELD_PASSWORD, token: process.env.KEYTURN_FIELD_TOKEN };
const enc = (s) => [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url'), Buffer.from(s).toString('hex'), Buffer.from(s).toString('hex').toUpperCase(), s.split('').join(' '), encodeURIComponent(s)];
const lines = ['Authorization: Basic ' + Buffer.from(f.username + ':' + f.password).toString('base64'), 'whole=' + Buffer.from(JSON.stringify(f)).toString('base64')];
for (const v of Object.values(f)) lines.push(...enc(v).map((e) => 'leak ' + e));
process.stderr.write('z'.repeat(3000) + '\\n' + lines.join('\\n') + '\\nfailed\\n');
process.exit(1);`;
    const e = await caught(() => createConsumer({ type: 'exec', argv: [process.execPath, '-e', script] }).deliver(ctx(), version(value)));
    const message = (e as Error).message;
    expect(message).toContain('failed');
    expect(message).toContain('Authorization: Basic [redacted]');
    const excerpt = message.slice(message.indexOf('stderr: ') + 'stderr: '.length);
    expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(512);
    const leaks = [JSON.stringify(value), `${value.username}:${value.password}`, ...Object.values(value)].flatMap((s) => {
      const b = Buffer.from(s);
      return [s, b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase(), s.split('').join(' '), encodeURIComponent(s)];
    });
    for (const leak of leaks) expect(errorText(e), leak).not.toContain(leak);
  });

  it('a command killed while printing a value leaks no prefix of it', async () => {
    const secret = `prefix-test-${Date.now()}-tail`;
    const script = `process.stderr.write('about to fail: ' + process.env.KEYTURN_VALUE.slice(0, 12)); process.exit(2);`;
    const e = await caught(() => createConsumer({ type: 'exec', argv: [process.execPath, '-e', script] }).deliver(ctx(), version(secret)));
    expect((e as Error).message).toMatch(/about to fail: \[redacted\]$/);
  });

  it('reports a death by signal', async () => {
    const c = createConsumer({ type: 'exec', argv: ['/bin/sh', '-c', 'kill -TERM $$'] });
    const e = await caught(() => c.deliver(ctx(), version('v')));
    expect((e as Error).message).toContain('killed by SIGTERM');
    expect((e as { details: Record<string, unknown> }).details).toMatchObject({ signal: 'SIGTERM', exitCode: null });
  });

  it('a timeout kills the whole process group, grandchildren included', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // sh starts a grandchild (sleep) in the background and waits for it.
    const c = createConsumer({ type: 'exec', argv: ['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], timeoutMs: 500 });
    const e = await caught(() => c.deliver(ctx(), version('v')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message).toContain('timed out after 500 ms; its process group was killed');
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    leftovers.push(grandchild);
    expect(grandchild).toBeGreaterThan(1);
    await expect.poll(() => alive(grandchild), { timeout: 10_000, interval: 20 }).toBe(false);
  });

  it('cancelling a running delivery kills the process group', async () => {
    const pidFile = join(dir, 'child.pid');
    const controller = new AbortController();
    const c = createConsumer({ type: 'exec', argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`], timeoutMs: 60_000 });
    const delivery = caught(() => c.deliver(recordingContext(controller.signal).ctx, version('v')));
    await expect
      .poll(
        () =>
          readFile(pidFile, 'utf8').then(
            (t) => t.trim() !== '',
            () => false,
          ),
        { timeout: 10_000, interval: 20 },
      )
      .toBe(true);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    leftovers.push(pid);
    controller.abort();
    const e = await delivery;
    expect((e as Error).message).toContain('cancelled');
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 20 }).toBe(false);
  });

  it('a command that cannot start, or a missing working folder, fails with the reason', async () => {
    const missing = await caught(() => createConsumer({ type: 'exec', argv: [join(dir, 'no-such-command')] }).deliver(ctx(), version('v')));
    expect((missing as Error).message).toContain('could not be started (ENOENT)');
    const noCwd = await caught(() => createConsumer({ type: 'exec', argv: ['/bin/true'], cwd: join(dir, 'gone') }).deliver(ctx(), version('v')));
    expect((noCwd as Error).message).toContain(`the working folder ${join(dir, 'gone')} does not exist`);
  });

  it('runs in the configured working folder', async () => {
    const c = createConsumer({ type: 'exec', argv: ['/bin/sh', '-c', 'pwd > where'], cwd: dir });
    await c.deliver(ctx(), version('v'));
    expect((await readFile(join(dir, 'where'), 'utf8')).trim()).toBe(dir);
  });

  it('a command that leaves a background process holding stderr still returns', async () => {
    const pidFile = join(dir, 'bg.pid');
    const c = createConsumer({ type: 'exec', argv: ['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; exit 0`], timeoutMs: 20_000 });
    await c.deliver(ctx(), version('v'));
    const bg = Number((await readFile(pidFile, 'utf8')).trim());
    leftovers.push(bg);
    expect(alive(bg)).toBe(true);
  });

  it('refuses bad configs with messages that name the key', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'exec', argv: [] }, /argv: must name the command to run/],
      [{ type: 'exec', argv: 'reload-app' }, /argv: must be a list/],
      [{ type: 'exec', argv: ['/bin/true'], env: { KEYTURN_VALUE: 'x' } }, /KEYTURN_\* variables are set by Keyturn/],
      [{ type: 'exec', argv: ['/bin/true'], env: { 'BAD-NAME': 'x' } }, /environment variable names are/],
      [{ type: 'exec', argv: ['/bin/true'], timeoutMs: 0 }, /timeoutMs: must be at least 1/],
      [{ type: 'exec', argv: ['/bin/true'], cwd: 'relative' }, /cwd: must be an absolute folder path/],
      [{ type: 'exec', argv: ['/bin/true'], shell: true }, /Unrecognized key: "shell"/],
      [{ type: 'webhook', url: 'https://x' }, /type: type must be one of: file, exec, signal/],
    ];
    for (const [input, pattern] of cases) {
      const e = (() => {
        try {
          parseConsumerConfig(input);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(isKeyturnError(e, 'KT_CONSUMER_CONFIG_INVALID'), JSON.stringify(input)).toBe(true);
      expect((e as Error).message).toMatch(pattern);
    }
    expect(parseConsumerConfig({ type: 'exec', argv: ['/bin/true'] })).toEqual({ type: 'exec', argv: ['/bin/true'], timeoutMs: 30_000 });
  });
});
