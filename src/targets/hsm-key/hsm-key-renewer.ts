/**
 * The hsm-key renewer: each rotation generates a new signing key pair INSIDE the token (private
 * key sensitive, never extractable, sign only: it never reaches Keyturn's store), the old one is
 * kept for verification during the overlap and destroyed by `retire` after the policy's grace.
 *
 * - `issue`: the pair labelled `<labelPrefix><versionId>` with a random 16-byte CKA_ID. Idempotent
 *   per versionId: a pair of that label already there (a retry after a crash) is returned
 *   instead of making another (two issues of one label in this process run one after the other).
 *   Half a pair (a kill -9 inside C_GenerateKeyPair: SoftHSM writes the public object before the
 *   private one) is destroyed and the pair made again: the label holds this version's id, no value
 *   names it yet, so nothing can have used it. Two pairs of one label, or a key not protected,
 *   fail the run (KT_TARGET_FAILED) rather than being destroyed or used.
 * - `check`: the private key is there (label and id), sensitive and not extractable, and signs a
 *   fresh test message that verifies with the value's public key.
 * - `renewAt`: null (a key does not expire; the policy's schedule decides).
 * - `retire`: destroys the objects of that label and id; already gone is success.
 *
 * An HSM outage (module missing, token absent, SoftHSM's token folder unreadable) is
 * KT_TARGET_UNAVAILABLE and a wrong PIN KT_TARGET_AUTH_FAILED: the run fails, the current key is
 * untouched.
 *
 * @example
 * ```ts
 * const renewer = new HsmKeyRenewer(hsmKeyConfigSchema.parse(config));
 * const value = await renewer.issue(ctx, null, 'run_abc.g1'); // { label: 'keyturn-run_abc.g1', kid, publicJwk, ... }
 * await renewer.check(ctx, value, { pendingSince: Date.now(), now: Date.now() });
 * await renewer.retire(ctx, value);
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { SecretValue } from '../../core/types.js';
import { hsmError, type HsmPlace } from '../../hsm/errors.js';
import { KEY_SPECS } from '../../hsm/key-types.js';
import { withToken } from '../../hsm/session.js';
import type { Renewer, TargetContext } from '../target.js';
import type { HsmKeyTargetConfig } from './config.js';
import { assertProtected, privateKeyOf } from './keys.js';
import { pinOf } from './pin.js';
import { hsmKeyValue, parseHsmKeyValue, publicKeyOf, toSecretValue, type HsmKeyValue } from './value.js';

/** CKA_ID bytes of a new key. */
const ID_BYTES = 16;

/** Issues in flight in this process, by module, token and label: a second one waits for the first (then finds its key). */
const issuing = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier call of the same `key` has settled. */
async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = issuing.get(key) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  issuing.set(key, settled);
  try {
    return await mine;
  } finally {
    if (issuing.get(key) === settled) issuing.delete(key);
  }
}

export class HsmKeyRenewer implements Renewer {
  private readonly place: HsmPlace;

  constructor(private readonly config: HsmKeyTargetConfig) {
    this.place = { module: config.module, token: config.token };
  }

  /** The label of the key issued for `versionId`. */
  labelFor(versionId: string): string {
    return `${this.config.labelPrefix}${versionId}`;
  }

  async issue(ctx: TargetContext, _current: SecretValue | null, versionId: string): Promise<SecretValue> {
    const pin = pinOf(ctx);
    const label = this.labelFor(versionId);
    const action = `issue the key "${label}"`;
    const lockKey = JSON.stringify([this.place.module, this.place.token, label]);
    const { value, reused } = await oneAtATime(lockKey, () => this.findOrGenerate(ctx, pin, label, action));
    ctx.log.debug({ target: 'hsm-key', label, kid: value.kid, alg: value.alg, reused }, reused ? 'hsm key found (issued before)' : 'hsm key generated');
    return toSecretValue(value);
  }

  /** The pair of `label`, found (a retry) or generated. */
  private async findOrGenerate(ctx: TargetContext, pin: string, label: string, action: string): Promise<{ value: HsmKeyValue; reused: boolean }> {
    const { keyType } = this.config;
    return withToken(this.place, pin, action, ctx.signal, async (t) => {
      const found = t.findKeys(label);
      const [privateKeys, publicKeys] = [found.privateKeys.length, found.publicKeys.length];
      if (privateKeys === 1 && publicKeys === 1) {
        // A retry after a crash: the pair made for this version already.
        const [privateKey, publicKey] = [found.privateKeys[0]!, found.publicKeys[0]!];
        const id = t.id(privateKey);
        if (!id.equals(t.id(publicKey))) throw hsmError('KT_TARGET_FAILED', this.place, action, `the private and public keys labelled "${label}" have different ids`);
        assertProtected(t, privateKey, label, this.place, action);
        return { value: hsmKeyValue({ label, id, keyType, publicKey: t.publicKey(keyType, publicKey), place: this.place }), reused: true };
      }
      if (privateKeys > 0 && publicKeys > 0) {
        throw hsmError(
          'KT_TARGET_FAILED',
          this.place,
          action,
          `the token holds ${privateKeys} private and ${publicKeys} public keys labelled "${label}", more than one pair: remove the extra ones (pkcs11-tool --delete-object) and run again`,
        );
      }
      if (privateKeys + publicKeys > 0) {
        // Half a pair: generation was cut short (kill -9) before both objects were written.
        for (const h of [...found.privateKeys, ...found.publicKeys]) t.destroy(h);
        ctx.log.warn({ target: 'hsm-key', label, privateKeys, publicKeys }, 'hsm key: half a pair left by an interrupted generation destroyed; generating again');
      }
      const id = randomBytes(ID_BYTES);
      const pair = await t.generateKeyPair(keyType, label, id);
      return { value: hsmKeyValue({ label, id, keyType, publicKey: t.publicKey(keyType, pair.publicKey), place: this.place }), reused: false };
    });
  }

  async check(ctx: TargetContext, stored: SecretValue, _when: { readonly pendingSince: number; readonly now: number }): Promise<void> {
    const pin = pinOf(ctx);
    const value = parseHsmKeyValue(stored);
    const action = `check the key "${value.label}"`;
    const message = Buffer.concat([Buffer.from(`keyturn hsm-key check ${value.label} `), randomBytes(16)]);
    const signature = await withToken(this.place, pin, action, ctx.signal, async (t) => t.sign(value.keyType, privateKeyOf(t, value, this.place, action), message));
    if (!KEY_SPECS[value.keyType].verify(publicKeyOf(value), message, signature)) {
      throw hsmError('KT_TARGET_FAILED', this.place, action, "its signature does not verify with the value's public key");
    }
  }

  renewAt(_value: SecretValue): number | null {
    return null;
  }

  async retire(ctx: TargetContext, stored: SecretValue): Promise<void> {
    const pin = pinOf(ctx);
    const value = parseHsmKeyValue(stored);
    const action = `destroy the key "${value.label}"`;
    const destroyed = await withToken(this.place, pin, action, ctx.signal, async (t) => {
      const found = t.findKeys(value.label);
      // Only the objects of this value (its CKA_ID): another key of the same label is not ours to end.
      const mine = [...found.privateKeys, ...found.publicKeys].filter((h) => t.id(h).toString('hex') === value.id);
      for (const h of mine) t.destroy(h);
      return mine.length;
    });
    ctx.log.debug({ target: 'hsm-key', label: value.label, kid: value.kid, destroyed }, destroyed > 0 ? 'hsm key destroyed' : 'hsm key already gone');
  }
}
