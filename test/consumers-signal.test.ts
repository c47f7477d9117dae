/**
 * The signal consumer against real processes: a `node -e` child (and a bash one) that traps the
 * signal and appends a line to a marker file, with its pid in a pid file written once the trap
 * is in place. Runs the shared contract, then pid-file and signal-name edge cases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { createConsumer, parseConsumerConfig } from '../src/consumers/registry.js';
import { caught, contractValues, errorText, recordingContext, runConsumerContract, version } from '../src/contracts/consumer-contract.js';

/** Appends the signal's name to the marker file on SIGHUP/SIGUSR1, then publishes its pid (atomically). */
const TRAPPER = `const fs = require('node:fs');
const [marker, pidFile] = process.argv.slice(1);
for (const s of ['SIGHUP', 'SIGUSR1']) process.on(s, () => fs.appendFileSync(marker, s + '\\n'));
fs.writeFileSync(pidFile + '.tmp', String(process.pid) + '\\n');
fs.renameSync(pidFile + '.tmp', pidFile);
setInterval(() => {}, 60_000);`;

interface Trapper {
  child: ChildProcess;
  pidFile: string;
  marker: string;
  stop(): Promise<void>;
}

async function waitFor(file: string): Promise<void> {
  await expect.poll(() => existsSync(file), { timeout: 10_000, interval: 10 }).toBe(true);
}

/** Starts a process that records the signals it gets; resolves once its trap is installed. */
async function startTrapper(dir: string, argv?: (marker: string, pidFile: string) => string[]): Promise<Trapper> {
  const marker = join(dir, 'received');
  const pidFile = join(dir, 'app.pid');
  const args = argv ? argv(marker, pidFile) : [process.execPath, '-e', TRAPPER, marker, pidFile];
  const child = spawn(args[0]!, args.slice(1), { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(pidFile);
  return {
    child,
    pidFile,
    marker,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A pid that belonged to a process which has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

async function received(marker: string): Promise<string[]> {
  const text = await readFile(marker, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

runConsumerContract({
  name: 'signal',
  make: async ({ dir, broken }) => {
    if (broken) {
      const pidFile = join(dir, 'stale.pid');
      await writeFile(pidFile, `${await deadPid()}\n`);
      return { consumer: createConsumer({ type: 'signal', pidFile }), marker: join(dir, 'none') };
    }
    const trapper = await startTrapper(dir);
    return { consumer: createConsumer({ type: 'signal', pidFile: trapper.pidFile }), marker: trapper.marker, close: trapper.stop };
  },
  observe: async ({ marker }) => ({ carries: 'notice', count: (await received(marker)).length }),
});

describe('signal consumer', () => {
  let dir: string;
  const trappers: Trapper[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyturn-signal-'));
  });
  afterEach(async () => {
    for (const t of trappers.splice(0)) await t.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = () => recordingContext().ctx;
  const start = async (argv?: (marker: string, pidFile: string) => string[]) => {
    const t = await startTrapper(dir, argv);
    trappers.push(t);
    return t;
  };

  it('sends the configured signal (names are normalized: "usr1" is SIGUSR1)', async () => {
    const t = await start();
    const c = createConsumer({ type: 'signal', pidFile: t.pidFile, signal: 'usr1' });
    expect(c.describe).toBe(`signal SIGUSR1 to the process in ${t.pidFile}`);
    await c.deliver(ctx(), version('v'));
    await expect.poll(() => received(t.marker), { timeout: 10_000, interval: 20 }).toEqual(['SIGUSR1']);
  });

  it('reaches a bash process that traps HUP', async () => {
    const t = await start((marker, pidFile) => [
      '/bin/bash',
      '-c',
      `trap 'echo SIGHUP >> "${marker}"' HUP; echo $$ > "${pidFile}.tmp"; mv "${pidFile}.tmp" "${pidFile}"; while :; do sleep 0.05; done`,
    ]);
    await createConsumer({ type: 'signal', pidFile: t.pidFile }).deliver(ctx(), version('v'));
    await expect.poll(() => received(t.marker), { timeout: 10_000, interval: 20 }).toEqual(['SIGHUP']);
    expect(t.child.exitCode).toBeNull();
  });

  it('a missing pid file is a clear failure', async () => {
    const pidFile = join(dir, 'absent.pid');
    const e = await caught(() => createConsumer({ type: 'signal', pidFile }).deliver(ctx(), version('v')));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect((e as Error).message).toContain(`the pid file ${pidFile} does not exist`);
  });

  it('a pid file that holds no pid fails without echoing its content (it could be a secret)', async () => {
    const { text } = contractValues();
    const pidFile = join(dir, 'wrong.pid');
    for (const content of ['', 'abc\n', '12 34', '-5', text.slice(0, 40)]) {
      await writeFile(pidFile, content);
      const e = await caught(() => createConsumer({ type: 'signal', pidFile }).deliver(ctx(), version('v')));
      expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
      expect((e as Error).message).toContain('does not hold a process id');
      if (content.length > 2) expect(errorText(e)).not.toContain(content.trim());
    }
    await writeFile(pidFile, text.repeat(3));
    const big = await caught(() => createConsumer({ type: 'signal', pidFile }).deliver(ctx(), version('v')));
    expect((big as Error).message).toContain('larger than 64 bytes');
    expect(errorText(big)).not.toContain(text);
  });

  it('refuses to signal pid 0, pid 1 or Keyturn itself', async () => {
    const pidFile = join(dir, 'x.pid');
    for (const [pid, words] of [
      [0, 'which Keyturn never signals'],
      [1, 'which Keyturn never signals'],
      [process.pid, "Keyturn's own process"],
    ] as const) {
      await writeFile(pidFile, `${pid}\n`);
      const e = await caught(() => createConsumer({ type: 'signal', pidFile }).deliver(ctx(), version('v')));
      expect((e as Error).message).toContain(words);
    }
  });

  it('a dead process is a clear failure, for deliver and for check', async () => {
    const pidFile = join(dir, 'stale.pid');
    const pid = await deadPid();
    await writeFile(pidFile, `${pid}`);
    const c = createConsumer({ type: 'signal', pidFile });
    for (const call of [() => c.deliver(ctx(), version('v')), () => c.check!(ctx())]) {
      const e = await caught(call);
      expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
      expect((e as Error).message).toContain(`process ${pid} from the pid file is not running`);
    }
  });

  it('check passes while the process runs and fails once it is gone', async () => {
    const t = await start();
    const c = createConsumer({ type: 'signal', pidFile: t.pidFile });
    await c.check!(ctx());
    await t.stop();
    const e = await caught(() => c.check!(ctx()));
    expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    expect(await received(t.marker)).toEqual([]);
  });

  it('refuses unknown signal names and relative pid files when the config is read', () => {
    expect(() => parseConsumerConfig({ type: 'signal', pidFile: '/run/app.pid', signal: 'SIGBOGUS' })).toThrow(/signal: must be a signal name of this system/);
    expect(() => parseConsumerConfig({ type: 'signal', pidFile: 'app.pid' })).toThrow(/pidFile: must be an absolute path/);
    expect(parseConsumerConfig({ type: 'signal', pidFile: '/run/app.pid' })).toEqual({ type: 'signal', pidFile: '/run/app.pid', signal: 'SIGHUP' });
  });
});
