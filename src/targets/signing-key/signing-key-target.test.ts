import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { isKeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import { generateSigningKey, parseSigningKey } from '../../signing/keys.js';
import { createTarget, parseTargetConfig } from '../registry.js';
import { NotYet, type TargetContext } from '../target.js';
import type { SigningKeyTarget } from './signing-key-target.js';
import { configProblems } from '../../../test/helpers/target-config.js';

const ctx: TargetContext = { strategy: 'renew', admin: null, primaryUsername: '', log: createLogger('silent'), signal: new AbortController().signal };
const T0 = Date.parse('2026-03-01T12:00:00Z');

const problems = configProblems;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isKeyturnError(e)) return e.code;
    throw e;
  }
  return 'resolved';
}

describe('signing-key config', () => {
  it('fills in prePublish 5m and maxTokenTtl 1h; strict', () => {
    expect(parseTargetConfig({ type: 'signing-key', alg: 'EdDSA' })).toEqual({ type: 'signing-key', alg: 'EdDSA', prePublish: '5m', maxTokenTtl: '1h' });
    const t = createTarget({ type: 'signing-key', alg: 'RS256', prePublish: '90s', maxTokenTtl: '15m' }) as SigningKeyTarget;
    expect([t.kind, t.strategies, t.prePublishMs, t.maxTokenTtlMs]).toEqual(['signing-key', ['renew'], 90_000, 900_000]);
    expect(problems({ type: 'signing-key', alg: 'HS256', prePublish: '5 minutes', maxTokenTtl: '31d', kid: 'x' })).toMatch(
      /alg: must be one of EdDSA, ES256, RS256.*prePublish: must be a duration.*maxTokenTtl: must be a duration.*"kid"/s,
    );
    expect(problems({ type: 'signing-key' })).toContain('alg: must be one of EdDSA, ES256, RS256');
  });
});

describe('signing-key renewer', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)('issues a %s key pair named by its RFC 7638 thumbprint that signs tokens its public key verifies', async (alg) => {
    const t = createTarget({ type: 'signing-key', alg }) as SigningKeyTarget;
    const value = await t.renewer.issue(ctx, null, 'run_1.g1');
    const key = parseSigningKey(value)!;
    expect(key.alg).toBe(alg);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk));
    expect(key.publicJwk).toMatchObject({ kid: key.kid, alg, use: 'sig' });
    expect(key.publicJwk).not.toHaveProperty('d');
    const jwt = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg, kid: key.kid })
      .setExpirationTime('5m')
      .sign(await importJWK(key.privateJwk, alg));
    const { protectedHeader } = await jwtVerify(jwt, await importJWK(key.publicJwk, alg));
    expect(protectedHeader.kid).toBe(key.kid);
    expect(t.renewer.renewAt(value)).toBeNull();
    expect(t.renewer.retire).toBeUndefined();
  });

  it('check waits (NotYet) until prePublish has passed since the key was stored as pending, then passes', async () => {
    const t = createTarget({ type: 'signing-key', alg: 'EdDSA', prePublish: '5m' }) as SigningKeyTarget;
    const value = await t.renewer.issue(ctx, null, 'run_1.g1');
    const early = await t.renewer.check(ctx, value, { pendingSince: T0, now: T0 + 299_999 }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(NotYet);
    expect((early as NotYet).at).toBe(T0 + 300_000);
    expect((early as NotYet).reason).toContain('prePublish 5m');
    await expect(t.renewer.check(ctx, value, { pendingSince: T0, now: T0 + 300_000 })).resolves.toBeUndefined();
  });

  it('check refuses a value that is not a usable key of the alg (KT_SIGNING_KEY_INVALID, never a key member in the message)', async () => {
    const t = createTarget({ type: 'signing-key', alg: 'ES256' }) as SigningKeyTarget;
    const when = { pendingSince: T0, now: T0 + 3_600_000 };
    const good = parseSigningKey(await t.renewer.issue(ctx, null, 'v'))!;
    const other = parseSigningKey(await generateSigningKey('ES256'))!;
    const bad: Array<[string, SecretValue]> = [
      ['string', 'not a key'],
      ['wrong alg', await generateSigningKey('EdDSA')],
      ['kid not thumbprint', { ...good, kid: other.kid }],
      ['private of another key', { ...good, privateJwk: other.privateJwk }],
    ];
    for (const [why, value] of bad) {
      const err = await t.renewer.check(ctx, value, when).catch((e: unknown) => e);
      expect(isKeyturnError(err, 'KT_SIGNING_KEY_INVALID'), why).toBe(true);
      expect((err as Error).message).not.toContain(good.privateJwk.d);
      expect((err as Error).message).not.toContain(other.privateJwk.d);
    }
    expect(await codeOf(t.set({ ...ctx, strategy: 'simple' }, { username: 'a', password: 'b' }, null))).toBe('KT_TARGET_STRATEGY_UNSUPPORTED');
  });
});
