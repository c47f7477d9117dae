/**
 * The signing-key target under the renew rules:
 * - the Renew contract (src/contracts/renew-contract.ts): the secret parts of a value are its
 *   private JWK members; `foreign` is a key pair that is not one (the public key and kid of one
 *   key, the private key of another), which check refuses; its check waits (NotYet) until
 *   prePublish has passed, which the contract handles by moving its clock;
 * - kill -9 at every step boundary and at seeded random moments of a real `keyturn rotate --wait`
 *   (test/helpers/crash-renew.ts, `rotateArgs: ['--wait']`: the run waits out prePublish, 1s,
 *   the smallest the schema takes, in the process, as a user's `--wait` does): right after the
 *   kill and after recovery, a JWT signed with the current key verifies against the JWKS
 *   `keyturn jwks PATH` serves (jose), and every key in that JWKS is a version the store holds.
 */
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRenewContract } from '../src/contracts/renew-contract.js';
import type { SecretValue } from '../src/core/types.js';
import { generateSigningKey, parseSigningKey, type SigningKeyValue } from '../src/signing/keys.js';
import { createTarget } from '../src/targets/registry.js';
import { runCli } from './helpers/cli.js';
import { crashRenewSuite, type RenewHome } from './helpers/crash-renew.js';
import { tempDir } from './helpers/state.js';

const PATH = 'prod/jwt/signing';
/** JWK members that only a private key has (EC/OKP: d; RSA: p, q, dp, dq, qi). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

/** The private members of a signing key value (what must never reach a log line or an error). */
function privateParts(value: SecretValue): string[] {
  const key = parseSigningKey(value);
  if (!key) return [];
  return PRIVATE_MEMBERS.map((m) => key.privateJwk[m]).filter((v): v is string => typeof v === 'string');
}

runRenewContract({
  name: 'signing-key',
  make: async () => ({
    target: createTarget({ type: 'signing-key', alg: 'ES256', prePublish: '5m', maxTokenTtl: '1h' }),
    adminValue: null,
    secretParts: privateParts,
    // Right shape and alg, but not a key pair: one key's public half and kid with another key's private half.
    foreign: async () => {
      const a = (await generateSigningKey('ES256')) as SigningKeyValue;
      const b = (await generateSigningKey('ES256')) as SigningKeyValue;
      return { ...a, privateJwk: { ...b.privateJwk, kid: a.kid } } as unknown as SecretValue;
    },
    close: async () => {},
  }),
  skip: {
    'with an outside effect (retire), an issue retried for one version id leaves one live value, and retire is idempotent':
      'the signing-key target has no outside effect: issue makes a key pair in memory and there is nothing to retire (a replaced key leaves the JWKS by itself maxTokenTtl after it stopped signing)',
  },
});

/** The JWKS the home serves now (`keyturn jwks PATH`). */
async function jwksOfHome(env: Record<string, string>): Promise<JSONWebKeySet> {
  const r = await runCli(['jwks', PATH], { env: { ...env, KEYTURN_LOG_LEVEL: 'silent' } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as JSONWebKeySet;
}

/** A home with the signing-key target (prePublish 1s) and the secret PATH of type signing-key on it, applied; no key issued yet. */
async function signingHome(): Promise<RenewHome> {
  const tmp = tempDir();
  const home = join(tmp.dir, 'home');
  const env = { KEYTURN_HOME: home };
  const file = join(tmp.dir, 'keyturn.yaml');
  writeFileSync(
    file,
    `version: 1
targets:
  jwt: { type: signing-key, alg: ES256, prePublish: 1s, maxTokenTtl: 1h }
secrets:
  ${PATH}:
    type: signing-key
    target: jwt
    schedule: { manual: true }
`,
  );
  for (const argv of [['init'], ['apply', '-f', file]]) {
    const r = await runCli(argv, { env: { ...env, KEYTURN_LOG_LEVEL: 'silent' } });
    if (r.code !== 0) {
      tmp.remove();
      throw new Error(`keyturn ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    }
  }
  return {
    env,
    path: PATH,
    // Each rotation waits prePublish (NotYet) before the key signs: the suite's processes wait it out.
    rotateArgs: ['--wait'],
    async usable(value) {
      const key = parseSigningKey(value);
      if (!key) return false;
      const jwt = await new SignJWT({ sub: 'crash-suite' })
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(await importJWK(key.privateJwk, key.alg));
      const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(await jwksOfHome(env)));
      return protectedHeader.kid === key.kid;
    },
    async afterRecovery(versions) {
      const stored = new Set(versions.map((v) => parseSigningKey(v)?.kid));
      const published = (await jwksOfHome(env)).keys.map((k) => k.kid);
      expect(published.length).toBeGreaterThan(0);
      expect(
        published.filter((kid) => !stored.has(kid)),
        'keys in the JWKS that no stored version holds',
      ).toEqual([]);
    },
    close: async () => tmp.remove(),
  };
}

// Every signing-key rotation finishes in a resumed attempt (after its prePublish wait): the
// boundaries finish:after and propagate:before found the resumed-finish bug (Engine.supersededBy).
crashRenewSuite('signing-key', signingHome);

describe('keyturn rotate on a signing key that waits out prePublish', () => {
  it('without --wait: exit 0, says it is waiting (not failed) and until when; with --wait: done', async () => {
    const h = await signingHome();
    try {
      const env = { ...h.env, KEYTURN_LOG_LEVEL: 'silent' };
      const first = await runCli(['rotate', PATH], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/waiting at test until \S+ \(not a failure/);
      expect(first.stdout + first.stderr).not.toContain('failed');
      const waited = await runCli(['rotate', PATH, '--wait', '--json'], { env });
      expect(waited.code, waited.stderr).toBe(0);
      expect((JSON.parse(waited.stdout) as { status: string }).status).toBe('done');
    } finally {
      await h.close();
    }
  });
});
