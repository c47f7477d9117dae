/**
 * Nothing a consumer reads can hang a rotation: a FIFO given as a signal consumer's pid file (or
 * planted as a file consumer's destination) is refused at once with KT_CONSUMER_PATH_UNSAFE, the
 * rotation itself stands and the propagate step records the failure. The vitest timeouts are the
 * configured rotation timeout plus the grace and a margin: the old code blocked forever in open().
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { createConsumer } from '../src/consumers/registry.js';
import { CONSUMER_GRACE_MS } from '../src/engine/propagate.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { caught, recordingContext, version } from '../src/contracts/consumer-contract.js';
import { applyYaml, openTestHome } from './helpers/state.js';

const ROTATION_TIMEOUT_MS = 500;
const LIMIT = ROTATION_TIMEOUT_MS + CONSUMER_GRACE_MS + 15_000;

let home: Awaited<ReturnType<typeof openTestHome>>;
let kt: Keyturn;
let fifo: string;

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr.toString()}`);
  expect(statSync(path).isFIFO()).toBe(true);
}

beforeEach(async () => {
  home = await openTestHome();
  kt = home.kt;
  mkdirSync(join(home.dir, 'run'));
  fifo = join(home.dir, 'run', 'app.pid');
  mkfifo(fifo);
});
afterEach(() => home.close());

describe('a FIFO never hangs a rotation', () => {
  it('the signal consumer refuses a FIFO pid file at once, in deliver and in check', { timeout: LIMIT }, async () => {
    const c = createConsumer({ type: 'signal', pidFile: fifo });
    const ctx = recordingContext(AbortSignal.timeout(ROTATION_TIMEOUT_MS)).ctx;
    const delivered = await caught(() => c.deliver(ctx, version('v')));
    expect(isKeyturnError(delivered, 'KT_CONSUMER_PATH_UNSAFE')).toBe(true);
    expect((delivered as Error).message).toContain(`the pid file ${fifo} is not a regular file`);
    const checked = await caught(() => c.check!(recordingContext().ctx));
    expect(isKeyturnError(checked, 'KT_CONSUMER_PATH_UNSAFE')).toBe(true);
  });

  it('a rotation with a FIFO pid file finishes; propagate fails with KT_CONSUMER_PATH_UNSAFE', { timeout: LIMIT }, async () => {
    const out = home.out;
    await applyYaml(
      kt,
      `version: 1
secrets:
  app/session:
    type: app-secret
    rotation: { timeoutMs: ${ROTATION_TIMEOUT_MS}, attempts: 1 }
    consumers:
      - { type: file, path: ${join(out, 'session')}, template: "S={{value}}" }
      - { type: signal, pidFile: ${fifo} }
`,
    );
    const engine = await kt.engine();
    const run = await engine.rotate('app/session');
    expect(run.status).toBe('done');
    const steps = await engine.runs.steps(run.id);
    expect(steps.find((s) => s.step === 'propagate')?.outcome).toBe('failed');
    const consumers = await engine.runs.consumers(run.id);
    expect(consumers.map((c) => [c.kind, c.status, c.errorCode])).toEqual([
      ['file', 'delivered', null],
      ['signal', 'failed', 'KT_CONSUMER_PATH_UNSAFE'],
    ]);
    expect(consumers[1]!.errorMessage).toContain('is not a regular file');
  });

  it('the file consumer refuses a FIFO planted at its destination', { timeout: LIMIT }, async () => {
    const e = await caught(() => createConsumer({ type: 'file', path: fifo }).deliver(recordingContext(AbortSignal.timeout(ROTATION_TIMEOUT_MS)).ctx, version('v')));
    expect(isKeyturnError(e, 'KT_CONSUMER_PATH_UNSAFE')).toBe(true);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });
});
