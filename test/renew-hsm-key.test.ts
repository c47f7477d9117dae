/**
 * The hsm-key target under the renew rules, against a real SoftHSM2 (test/helpers/softhsm.ts):
 * - the Renew contract (src/contracts/renew-contract.ts): a value holds no secret part (the
 *   private key never leaves the token), so `secretParts` is empty; what makes that true is
 *   checked here on a real home instead: after rotations, no decrypted store value, no state
 *   row and no audit event holds a PEM private key or a JWK private member;
 * - kill -9 at every step boundary and at seeded random moments of a real `keyturn rotate`
 *   (test/helpers/crash-renew.ts): the current key signs right after the kill, and after recovery
 *   every key pair of the label prefix in the token belongs to a version the store holds (no
 *   orphaned key; pkcs11-tool lists the token);
 * - an outage through the engine: the token folder moved away, `keyturn rotate` fails cleanly
 *   (exit 1, the run retrying or failed, the current version unchanged, no key made); back
 *   again, the current key still signs and a rotation succeeds;
 * - a resumed run killed between its stage move and its commit finishes on resume.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { runRenewContract } from '../src/contracts/renew-contract.js';
import type { SecretValue } from '../src/core/types.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import type { HsmKeyTargetConfigInput } from '../src/targets/hsm-key/config.js';
import { signWithHsmKey, verifyHsmSignature } from '../src/targets/hsm-key/sign.js';
import { parseHsmKeyValue } from '../src/targets/hsm-key/value.js';
import { createLogger } from '../src/core/logger.js';
import { createTarget } from '../src/targets/registry.js';
import { auditTablesText } from './helpers/audit.js';
import { runCli, SPAWN_MS, startCli } from './helpers/cli.js';
import { crashRenewSuite, type RenewHome } from './helpers/crash-renew.js';
import { softHsm, type SoftHsm, type SoftHsmToken } from './helpers/softhsm.js';
import { dumpState } from './helpers/state-dump.js';
import { tempDir } from './helpers/state.js';

const PATH = 'prod/signing/hsm';
const PIN_PATH = 'hsm/pin';
const PREFIX = 'keyturn-';
/** JWK members that only a private key has (EC/OKP: d; RSA: p, q, dp, dq, qi). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

/** One SoftHSM2 for the file: each fixture below has a token of its own in it. */
let hsm: SoftHsm;
beforeAll(() => {
  hsm = softHsm();
});
afterAll(() => hsm?.cleanup());

function targetConfig(token: SoftHsmToken): HsmKeyTargetConfigInput {
  return { type: 'hsm-key', module: hsm.module, token: token.label };
}

/** A signature by the token with the value's key verifies with the value's public key. */
async function signs(token: SoftHsmToken, value: SecretValue): Promise<boolean> {
  const data = Buffer.from(`signed by ${parseHsmKeyValue(value).label} at ${Date.now()}`);
  return verifyHsmSignature(value, data, await signWithHsmKey(targetConfig(token), token.pin, value, data));
}

/** The (label, id) of every key object in the token whose label starts with PREFIX, listed by pkcs11-tool (opensc), private and public. */
function tokenKeys(token: SoftHsmToken): Array<{ kind: string; label: string; id: string }> {
  const listing = hsm.pkcs11Tool(['--token-label', token.label, '--login', '--pin', token.pin, '--list-objects']);
  const out: Array<{ kind: string; label: string; id: string }> = [];
  for (const block of listing.split(/\n(?=\S)/)) {
    const kind = /^(Private|Public) Key Object/.exec(block)?.[1];
    const label = /^\s*label:\s*(.*)$/m.exec(block)?.[1]?.trim();
    const id = /^\s*ID:\s*([0-9a-f]+)$/m.exec(block)?.[1];
    if (kind && label?.startsWith(PREFIX)) out.push({ kind, label, id: id ?? '' });
  }
  return out;
}

interface HsmHome extends RenewHome {
  readonly token: SoftHsmToken;
  readonly home: string;
  kt(argv: string[], stdin?: string): ReturnType<typeof runCli>;
}

/** A Keyturn home with the hsm-key target on a new token (admin: the PIN, put with `secret put`), the secret PATH of type signing-key on it, applied; no value issued yet. */
async function hsmHome(tokenLabel: string): Promise<HsmHome> {
  const token = hsm.initToken(tokenLabel);
  const tmp = tempDir();
  const home = join(tmp.dir, 'home');
  const env = { KEYTURN_HOME: home, SOFTHSM2_CONF: hsm.conf };
  const file = join(tmp.dir, 'keyturn.yaml');
  writeFileSync(
    file,
    `version: 1
targets:
  hsm: { type: hsm-key, module: ${hsm.module}, token: ${token.label}, admin: ${PIN_PATH} }
secrets:
  ${PATH}:
    type: signing-key
    target: hsm
    schedule: { manual: true }
`,
  );
  const kt = (argv: string[], stdin?: string) => runCli(argv, { env: { ...env, KEYTURN_LOG_LEVEL: 'silent' }, ...(stdin === undefined ? {} : { stdin }) });
  for (const [argv, stdin] of [[['init']], [['apply', '-f', file]], [['secret', 'put', PIN_PATH, '--stdin'], token.pin]] as Array<[string[], string?]>) {
    const r = await kt(argv, stdin);
    if (r.code !== 0) {
      tmp.remove();
      throw new Error(`keyturn ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    }
  }
  return {
    token,
    home,
    env,
    path: PATH,
    kt,
    usable: (value) => signs(token, value),
    async afterRecovery(versions) {
      const stored = new Set(versions.map((v) => `${parseHsmKeyValue(v).label}/${parseHsmKeyValue(v).id}`));
      const orphans = tokenKeys(token).filter((k) => !stored.has(`${k.label}/${k.id}`));
      expect(orphans, 'key objects in the token that no stored version names').toEqual([]);
    },
    close: async () => tmp.remove(),
  };
}

/** Every version of every secret of a home, decrypted, and its state rows and audit log (tables and `keyturn audit export`), as JSON texts. */
async function everything(h: HsmHome): Promise<{ values: SecretValue[]; texts: { values: string; state: string; audit: string; export: string } }> {
  const kt = await openKeyturn(loadSettings({ ...h.env, KEYTURN_LOG_LEVEL: 'silent' }));
  const values: SecretValue[] = [];
  let audit: string;
  try {
    for await (const path of kt.store.list('')) {
      for (const v of await kt.store.versions(path)) values.push((await kt.store.get(path, { versionId: v.id }))!.value);
    }
    audit = await auditTablesText(kt.state);
  } finally {
    await kt.close();
  }
  const exportFile = join(h.home, '..', 'audit.jsonl');
  const r = await h.kt(['audit', 'export', '--all', '--output', exportFile]);
  expect(r.code, r.stderr).toBe(0);
  return { values, texts: { values: JSON.stringify(values), state: JSON.stringify(dumpState(h.home)), audit, export: readFileSync(exportFile, 'utf8') } };
}

/** The private JWK members found anywhere in `x`, JSON inside strings included (state rows and audit events hold JSON as text). */
function privateMembers(x: unknown, where = '$'): string[] {
  if (typeof x === 'string') {
    const t = x.trim();
    if (!(t.startsWith('{') || t.startsWith('['))) return [];
    try {
      return privateMembers(JSON.parse(t), where);
    } catch {
      return [];
    }
  }
  if (Array.isArray(x)) return x.flatMap((v, i) => privateMembers(v, `${where}[${i}]`));
  if (x === null || typeof x !== 'object') return [];
  const obj = x as Record<string, unknown>;
  // A JWK (it has kty) with a private member.
  const own = typeof obj.kty === 'string' ? PRIVATE_MEMBERS.filter((m) => m in obj).map((m) => `${where}.${m}`) : [];
  return [...own, ...Object.entries(obj).flatMap(([k, v]) => privateMembers(v, `${where}.${k}`))];
}

runRenewContract({
  name: 'hsm-key',
  make: async () => {
    const token = hsm.initToken('kt-contract');
    const other = hsm.initToken('kt-other');
    return {
      target: createTarget(targetConfig(token)),
      adminValue: { pin: token.pin },
      // The value holds where the key is and its public half; the private key never leaves the token.
      secretParts: () => [],
      // A key this target did not make: generated in another token (check looks in its own token and finds no such key).
      foreign: async () =>
        createTarget(targetConfig(other)).renewer!.issue(
          { strategy: 'renew', admin: null, adminValue: { pin: other.pin }, primaryUsername: '', log: createLogger('silent'), signal: AbortSignal.timeout(60_000) },
          null,
          'v-foreign',
        ),
      close: async () => {},
    };
  },
});

describe('hsm-key: nothing private leaves the token', () => {
  let h: HsmHome;
  beforeAll(async () => {
    h = await hsmHome('kt-private');
  });
  afterAll(async () => h?.close());

  it('after three rotations no store value, state row or audit event holds a private key (PEM or JWK member), nor the PIN outside its own secret', { timeout: 6 * SPAWN_MS }, async () => {
    for (let i = 0; i < 3; i++) {
      const r = await h.kt(['rotate', PATH]);
      expect(r.code, r.stderr).toBe(0);
    }
    const { values, texts } = await everything(h);
    // The rotated secret's three keys and the PIN: nothing is missing from what was searched.
    const keys = values.filter((v) => typeof v === 'object' && v !== null && 'label' in v);
    expect(keys).toHaveLength(3);
    for (const k of keys) expect(await signs(h.token, k)).toBe(true);
    expect(values).toContainEqual(h.token.pin);
    expect(texts.export.split('\n').filter(Boolean).length, 'the audit export has events').toBeGreaterThan(3);
    for (const [where, text] of Object.entries(texts)) {
      expect(text, where).not.toContain('PRIVATE KEY');
      expect(privateMembers(text), where).toEqual([]);
      // The PIN is a value of the store (hsm/pin) and nowhere else.
      if (where !== 'values') expect(text.includes(h.token.pin), `${where} holds the PIN`).toBe(false);
    }
    expect(privateMembers(values)).toEqual([]);
    // The keys' public JWKs were searched (the walk finds JWKs): each has kty and no private member.
    for (const k of keys) expect((k as { publicJwk: { kty: string } }).publicJwk.kty).toBe('EC');
  });
});

describe('hsm-key: an HSM outage through the engine', () => {
  let h: HsmHome;
  beforeAll(async () => {
    h = await hsmHome('kt-outage');
  });
  afterAll(async () => h?.close());

  async function state(): Promise<{ current: { id: string; value: SecretValue }; runs: Array<{ id: string; status: string; errorCode: string | null }> }> {
    const kt = await openKeyturn(loadSettings({ ...h.env, KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      const v = (await kt.store.get(PATH))!;
      const runs = (await (await kt.engine()).runs.list({ path: PATH })).map((r) => ({ id: r.id, status: r.status, errorCode: r.errorCode }));
      return { current: { id: v.id, value: v.value }, runs };
    } finally {
      await kt.close();
    }
  }

  it(
    'the token folder gone: rotate exits 1, the run waits to retry, the current key is unchanged and no key is made; back again, the key signs and the rotation finishes',
    { timeout: 6 * SPAWN_MS },
    async () => {
      expect((await h.kt(['rotate', PATH])).code).toBe(0);
      const before = await state();
      const keysBefore = tokenKeys(h.token);
      expect(keysBefore).toHaveLength(2);

      hsm.takeAway();
      let during: Awaited<ReturnType<typeof state>>;
      try {
        const r = await h.kt(['rotate', PATH]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain('KT_TARGET_UNAVAILABLE');
        expect(r.stderr).not.toContain(h.token.pin);
        during = await state();
      } finally {
        hsm.bringBack();
      }
      expect(['retrying', 'failed']).toContain(during.runs[0]!.status);
      expect(during.runs[0]!.errorCode).toBe('KT_TARGET_UNAVAILABLE');
      expect(during.current.id, 'the current version changed during the outage').toBe(before.current.id);
      expect(tokenKeys(h.token), 'a key was made during the outage').toEqual(keysBefore);

      // Back: the current key still signs, and a rotation (resuming the run) finishes with a new key.
      expect(await signs(h.token, before.current.value)).toBe(true);
      const r = await h.kt(['rotate', PATH]);
      expect(r.code, r.stderr).toBe(0);
      const after = await state();
      expect(after.runs.find((x) => x.id === during.runs[0]!.id)?.status).toBe('done');
      expect(after.current.id).not.toBe(before.current.id);
      expect(await signs(h.token, after.current.value)).toBe(true);
      expect(await signs(h.token, before.current.value), 'the previous key is kept for the overlap').toBe(true);
      expect(tokenKeys(h.token)).toHaveLength(4);
    },
  );
});

describe('hsm-key: a resumed run killed between its stage move and its commit', () => {
  let h: HsmHome;
  beforeAll(async () => {
    h = await hsmHome('kt-resumed');
  });
  afterAll(async () => h?.close());

  /**
   * A resumed run (worldKnown false) finishes with `store.moveStage` in the store's own transaction
   * while its set, test and finish steps fold into the next commit; killed between the two, the run
   * row still names an earlier step with its pending version already current. That is not a
   * superseded run (Engine.supersededBy): `runs resume` finishes it and the replaced key is owed its
   * cleanup (the bug this case found, fixed).
   */
  it('killed at test:before, then its resumed attempt killed at finish:after: runs resume finishes it and the replaced key is owed its cleanup', { timeout: 6 * SPAWN_MS }, async () => {
    expect((await h.kt(['rotate', PATH])).code).toBe(0);
    const first = await startCli(['rotate', PATH], { env: { ...h.env, KEYTURN_CRASH_AT: 'test:before' } });
    expect(first.signal).toBe('SIGKILL');
    const second = await startCli(['rotate', PATH], { env: { ...h.env, KEYTURN_CRASH_AT: 'finish:after' } });
    expect(second.signal).toBe('SIGKILL');
    const kt = await openKeyturn(loadSettings({ ...h.env, KEYTURN_LOG_LEVEL: 'silent' }));
    let run: { id: string; fromVersionId: string | null };
    try {
      const r = (await (await kt.engine()).runs.list({ path: PATH }))[0]!;
      run = { id: r.id, fromVersionId: r.fromVersionId };
    } finally {
      await kt.close();
    }
    const resumed = await h.kt(['runs', 'resume', run.id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = await openKeyturn(loadSettings({ ...h.env, KEYTURN_LOG_LEVEL: 'silent' }));
    try {
      expect((await (await after.engine()).runs.get(run.id)).status).toBe('done');
      const owed = await after.state.db.selectFrom('version_cleanups').select('version_id').where('path', '=', PATH).where('version_id', '=', run.fromVersionId!).execute();
      expect(owed, 'the replaced version has no cleanup row: its key would stay in the token').toHaveLength(1);
    } finally {
      await after.close();
    }
  });
});

crashRenewSuite('hsm-key', () => hsmHome('kt-crash'));
