/**
 * The Consumer contract: every consumer (file, exec, signal, ...) runs this suite against real
 * files and processes. A test may be skipped only with a reason, which is printed in the test name.
 *
 * Each implementation supplies `make` (a consumer whose far side lives in a fresh temp folder;
 * with `broken: true`, one whose delivery must fail) and `observe` (what the far side has
 * received so far). A consumer that hands over the value reports it (`carries: 'value'`); one
 * that only notifies (a signal) reports how many notices arrived (`carries: 'notice'`).
 *
 * @example
 * ```ts
 * runConsumerContract({
 *   name: 'file',
 *   make: async ({ dir, broken }) => ({ consumer: createConsumer({ type: 'file', path: join(dir, broken ? 'no/such/dir/f' : 'f') }) }),
 *   observe: async ({ consumer }) => ({ carries: 'value', value: ... }),
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect } from 'vitest';
import { contractTests } from './skips.js';
import { isKeyturnError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { SecretValue } from '../core/types.js';
import type { Consumer, ConsumerContext, DeliveredSecret } from '../consumers/consumer.js';

/** What the far side of a consumer has received so far. */
export type Observation =
  /** The last value received, or null when none arrived yet. */
  | { readonly carries: 'value'; readonly value: SecretValue | null }
  /** How many notices (signals) arrived; a notice carries no value. */
  | { readonly carries: 'notice'; readonly count: number };

export interface ConsumerSubject {
  readonly consumer: Consumer;
  /** Stops what `make` started (processes); the temp folder is removed by the suite. */
  close?(): Promise<void>;
}

export interface ConsumerContractSpec<S extends ConsumerSubject> {
  name: string;
  /** A consumer whose far side lives under `dir` (a fresh temp folder per test); `broken`: one whose delivery must fail. */
  make(ctx: { dir: string; broken: boolean }): Promise<S>;
  observe(subject: S): Promise<Observation>;
  /** Test name → reason it cannot run against this consumer. */
  skip?: Record<string, string>;
}

/** A context whose logger records every line at trace level, and a way to read them. */
export function recordingContext(signal: AbortSignal = new AbortController().signal): { ctx: ConsumerContext; logs: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { ctx: { log: createLogger('trace', sink), signal }, logs: () => lines.join('') };
}

/** Fresh values with characters that trip naive quoting; every run gets new ones. */
export function contractValues(): { text: string; fields: { username: string; password: string }; all: string[] } {
  const tag = randomBytes(8).toString('hex');
  const text = `kt-string-${tag} "double" 'single' $dollar back\\slash {{password}} ünïcode`;
  const fields = { username: `kt_user_${tag}`, password: `kt-pass-${tag}!"'$\\%&` };
  return { text, fields, all: [text, fields.username, fields.password] };
}

let versionCounter = 0;
/** One version of `contract/secret` holding `value`. */
export function version(value: SecretValue): DeliveredSecret {
  versionCounter += 1;
  return { path: 'contract/secret', versionId: `v-${versionCounter}-${randomBytes(4).toString('hex')}`, number: versionCounter, value };
}

/** Runs `fn` and returns what it threw (failing the test if it threw nothing). */
export async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw');
}

/** Every text an error exposes: message, details, JSON form, stack, and its causes'. */
export function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as Error & { toJSON?: () => unknown; details?: unknown };
    parts.push(String(err.message), String(err.stack), JSON.stringify(err.details ?? null));
    if (typeof err.toJSON === 'function') parts.push(JSON.stringify(err.toJSON()));
  }
  return parts.join('\n');
}

export function runConsumerContract<S extends ConsumerSubject>(spec: ConsumerContractSpec<S>): void {
  describe(`Consumer contract: ${spec.name}`, () => {
    const subjects: S[] = [];
    const dirs: string[] = [];

    async function open(broken = false): Promise<S> {
      const dir = await mkdtemp(join(tmpdir(), 'keyturn-consumer-'));
      dirs.push(dir);
      const subject = await spec.make({ dir, broken });
      subjects.push(subject);
      return subject;
    }

    afterEach(async () => {
      for (const s of subjects.splice(0)) await s.close?.();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    });

    const { test, checkSkips } = contractTests(`Consumer contract: ${spec.name}`, spec.skip);

    /** Asserts that `subject` has received `value` (or, for a notifying consumer, one more notice than `before`). */
    async function expectReceived(subject: S, value: SecretValue, before: Observation): Promise<void> {
      if (before.carries === 'value') {
        expect(await spec.observe(subject)).toEqual({ carries: 'value', value });
        return;
      }
      // A signal is handled asynchronously by the receiving process: wait (bounded) for its record.
      await expect.poll(async () => ((await spec.observe(subject)) as { count: number }).count, { timeout: 10_000, interval: 20 }).toBeGreaterThan(before.count);
    }

    test('delivers a string value', async () => {
      const subject = await open();
      const { text } = contractValues();
      const before = await spec.observe(subject);
      if (before.carries === 'value') expect(before.value).toBeNull();
      await subject.consumer.deliver(recordingContext().ctx, version(text));
      await expectReceived(subject, text, before);
    });

    test('delivers a JSON value of fields', async () => {
      const subject = await open();
      const { fields } = contractValues();
      const before = await spec.observe(subject);
      await subject.consumer.deliver(recordingContext().ctx, version(fields));
      await expectReceived(subject, fields, before);
    });

    test('delivering the same version twice is fine (idempotent)', async () => {
      const subject = await open();
      const v = version(contractValues().fields);
      const before = await spec.observe(subject);
      await subject.consumer.deliver(recordingContext().ctx, v);
      await subject.consumer.deliver(recordingContext().ctx, v);
      await expectReceived(subject, v.value, before);
    });

    test('a newer version replaces the one before', async () => {
      const subject = await open();
      const { fields } = contractValues();
      const older = version(fields);
      const newer = version({ ...fields, password: `${fields.password}-next` });
      await subject.consumer.deliver(recordingContext().ctx, older);
      const between = await spec.observe(subject);
      await subject.consumer.deliver(recordingContext().ctx, newer);
      await expectReceived(subject, newer.value, between);
    });

    test('a failing delivery throws KT_CONSUMER_FAILED', async () => {
      const subject = await open(true);
      const e = await caught(() => subject.consumer.deliver(recordingContext().ctx, version(contractValues().fields)));
      expect(isKeyturnError(e, 'KT_CONSUMER_FAILED'), String(e)).toBe(true);
      expect((e as Error).message.startsWith(`${subject.consumer.describe}: `)).toBe(true);
    });

    test('a failure names no secret value (message, details, JSON, stack)', async () => {
      const subject = await open(true);
      const values = contractValues();
      for (const value of [values.text, values.fields] as SecretValue[]) {
        const e = await caught(() => subject.consumer.deliver(recordingContext().ctx, version(value)));
        expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
        const text = errorText(e);
        for (const v of values.all) expect(text).not.toContain(v);
      }
    });

    test('a cancelled delivery does nothing and throws KT_CONSUMER_FAILED', async () => {
      const subject = await open();
      const controller = new AbortController();
      controller.abort();
      const before = await spec.observe(subject);
      const e = await caught(() => subject.consumer.deliver(recordingContext(controller.signal).ctx, version(contractValues().text)));
      expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
      expect(await spec.observe(subject)).toEqual(before);
    });

    test('logs at trace level hold no secret value', async () => {
      const good = await open();
      const broken = await open(true);
      const values = contractValues();
      const recorder = recordingContext();
      await good.consumer.deliver(recorder.ctx, version(values.text));
      await good.consumer.deliver(recorder.ctx, version(values.fields));
      await caught(() => broken.consumer.deliver(recorder.ctx, version(values.fields)));
      expect(recorder.logs().length).toBeGreaterThan(0);
      for (const v of values.all) expect(recorder.logs()).not.toContain(v);
    });

    test('describe and kind name the consumer, not a value', async () => {
      const subject = await open();
      const values = contractValues();
      await subject.consumer.deliver(recordingContext().ctx, version(values.fields));
      expect(subject.consumer.kind).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(subject.consumer.describe.startsWith(`${subject.consumer.kind} `)).toBe(true);
      for (const v of values.all) expect(subject.consumer.describe).not.toContain(v);
    });

    test('check passes after a delivery and fails against a broken far side', async () => {
      const subject = await open();
      await subject.consumer.deliver(recordingContext().ctx, version(contractValues().text));
      expect(subject.consumer.check).toBeTypeOf('function');
      await subject.consumer.check!(recordingContext().ctx);
      const broken = await open(true);
      const e = await caught(() => broken.consumer.check!(recordingContext().ctx));
      expect(isKeyturnError(e, 'KT_CONSUMER_FAILED')).toBe(true);
    });

    checkSkips();
  });
}
