/**
 * The Renew contract: every target that rotates with the `renew` strategy (the internal CA,
 * ACME, signing keys, HSM keys) runs this suite against its real issuer (openssl-checked
 * certificates, pebble, SoftHSM2). It checks the `Renewer` rules the engine relies on
 * (src/targets/target.ts): a first value from nothing, a new value that differs from the last,
 * `check` accepting what `issue` made and refusing what it did not, `renewAt` in the value's
 * future, an `issue` retried for one version id leaving one live value and `retire` idempotent
 * where the target has an outside effect, an aborted call ending promptly, and no secret part of a value in an error or a
 * log line. Skips follow ./skips.ts (by exact name, with a reason).
 *
 * @example
 * ```ts
 * runRenewContract({
 *   name: 'internal-ca',
 *   make: async () => ({ target: new InternalCaTarget(config), adminValue: intermediate, secretParts: (v) => [v.key], foreign: otherCaLeaf, close: async () => {} }),
 * });
 * ```
 */
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { SecretValue } from '../core/types.js';
import { NotYet, type Renewer, type Target, type TargetContext } from '../targets/target.js';
import { caught, errorText } from './consumer-contract.js';
import { contractTests } from './skips.js';
import { uniqueName } from './names.js';

export interface RenewFixture {
  readonly target: Target;
  /** What the target's `admin:` secret holds (a CA's certificate and key, an account key, a PIN); null without one. */
  readonly adminValue: SecretValue | null;
  /** The parts of a value that are secret (a private key): none may appear in an error or a log line. */
  secretParts(value: SecretValue): string[];
  /** A value of the right shape that this issuer did not make (another CA's certificate): `check` must refuse it. */
  foreign?(): Promise<SecretValue>;
  close(): Promise<void>;
}

export interface RenewContractSpec {
  name: string;
  make(): Promise<RenewFixture>;
  /** Test name → reason it cannot run against this target. */
  skip?: Record<string, string>;
}

export function runRenewContract(spec: RenewContractSpec): void {
  describe(`Renew contract: ${spec.name}`, () => {
    let fx: RenewFixture;
    let renewer: Renewer;
    const secrets: string[] = [];
    const logLines: string[] = [];
    const log = createLogger(
      'trace',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    const ctx = (signal = AbortSignal.timeout(60_000)): TargetContext => ({ strategy: 'renew', admin: null, adminValue: fx.adminValue, primaryUsername: '', log, signal });
    /** Issues a value, remembering its secret parts. */
    const issue = async (current: SecretValue | null, versionId = uniqueName('v')): Promise<SecretValue> => {
      const value = await renewer.issue(ctx(), current, versionId);
      secrets.push(...fx.secretParts(value).filter((s) => s.length >= 8));
      return value;
    };
    /** check, waiting out a NotYet by moving its clock (the engine would resume the run then). */
    const checks = async (value: SecretValue): Promise<void> => {
      const now = Date.now();
      try {
        await renewer.check(ctx(), value, { pendingSince: now, now });
      } catch (e) {
        if (!(e instanceof NotYet)) throw e;
        expect(e.at, 'NotYet names a time after now').toBeGreaterThan(now);
        await renewer.check(ctx(), value, { pendingSince: now, now: e.at });
      }
    };

    beforeAll(async () => {
      fx = await spec.make();
      renewer = fx.target.renewer!;
    });
    afterAll(async () => {
      await fx?.close();
    });
    afterEach(() => {
      const logs = logLines.splice(0).join('');
      for (const s of secrets.splice(0)) expect(logs.includes(s), 'a secret part of a value reached a log line').toBe(false);
    });

    const { test, checkSkips } = contractTests(`Renew contract: ${spec.name}`, spec.skip);

    test('declares the renew strategy and a renewer', async () => {
      expect(fx.target.strategies).toContain('renew');
      expect(typeof renewer.issue).toBe('function');
    });

    test('issues a first value from nothing, and check accepts it', async () => {
      const value = await issue(null);
      await checks(value);
    });

    test('a renewal makes a value that differs from the current one; both check', async () => {
      const first = await issue(null);
      const second = await issue(first);
      expect(JSON.stringify(second)).not.toBe(JSON.stringify(first));
      for (const part of fx.secretParts(first)) expect(JSON.stringify(second).includes(part), 'the renewal reuses a secret part of the current value').toBe(false);
      await checks(first);
      await checks(second);
      if (renewer.retire) for (const v of [first, second]) await renewer.retire(ctx(), v);
    });

    test('renewAt is null or a time in the value’s future', async () => {
      const value = await issue(null);
      const at = renewer.renewAt(value);
      if (at !== null) expect(at).toBeGreaterThan(Date.now());
      if (renewer.retire) await renewer.retire(ctx(), value);
    });

    test('check refuses a value this issuer did not make, with a Keyturn error that shows no secret part', async () => {
      if (!fx.foreign) throw new Error('the fixture has no foreign value; skip this test by name with a reason');
      const foreign = await fx.foreign();
      secrets.push(...fx.secretParts(foreign).filter((s) => s.length >= 8));
      const e = await caught(() => renewer.check(ctx(), foreign, { pendingSince: 0, now: Date.now() + 86_400_000 }));
      expect(isKeyturnError(e), `not a KeyturnError: ${String(e)}`).toBe(true);
      const text = errorText(e);
      for (const s of fx.secretParts(foreign)) expect(text.includes(s)).toBe(false);
    });

    test('with an outside effect (retire), an issue retried for one version id leaves one live value, and retire is idempotent', async () => {
      if (!renewer.retire) throw new Error('no retire: skip this test by name (the target has no outside effect)');
      const versionId = uniqueName('v');
      const later = { pendingSince: 0, now: Date.now() + 86_400_000 };
      // A retry after a crash: the same value found again (an HSM key by its label), or the earlier one
      // ended and another made (a provider that shows a key once); never two live values for one version.
      const a = await issue(null, versionId);
      const b = await issue(null, versionId);
      if (JSON.stringify(b) !== JSON.stringify(a)) {
        const ended = await caught(() => renewer.check(ctx(), a, later));
        expect(isKeyturnError(ended), 'an issue retried for the same version id left the earlier value live').toBe(true);
      }
      await renewer.retire(ctx(), b);
      await renewer.retire(ctx(), b);
      const e = await caught(() => renewer.check(ctx(), b, later));
      expect(isKeyturnError(e), 'a retired value still checks').toBe(true);
    });

    test('an aborted issue ends with a Keyturn error', async () => {
      const controller = new AbortController();
      controller.abort(new Error('lease lost'));
      const e = await caught(() => renewer.issue(ctx(controller.signal), null, uniqueName('v')));
      expect(isKeyturnError(e), `not a KeyturnError: ${String(e)}`).toBe(true);
    });

    checkSkips();
  });
}
