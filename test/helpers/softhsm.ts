/**
 * Test helper: SoftHSM2 tokens of this test process's own (`.ci/run` installs the Debian package
 * softhsm2). A temp folder holds a softhsm2.conf and its token folder; SOFTHSM2_CONF points this
 * process at it (SoftHSM reads it at every C_Initialize, and the hsm code initializes per
 * operation), so each test file (vitest runs each in a process of its own) has its tokens alone.
 * `initToken` makes a token with `softhsm2-util --init-token --free`; `takeAway`/`bringBack`
 * move the token folder away and back (an HSM outage: C_Initialize fails); `cleanup` removes the
 * folder and restores SOFTHSM2_CONF.
 *
 * @example
 * ```ts
 * const hsm = softHsm();
 * const token = hsm.initToken('signing');
 * createTarget({ type: 'hsm-key', module: hsm.module, token: token.label });
 * hsm.cleanup();
 * ```
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The PKCS#11 module of Debian's softhsm2 package (a link to the multiarch path). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  readonly label: string;
  /** The user PIN. */
  readonly pin: string;
  /** The security officer PIN. */
  readonly soPin: string;
}

export interface SoftHsm {
  readonly module: string;
  /** The softhsm2.conf SOFTHSM2_CONF names. */
  readonly conf: string;
  readonly tokenDir: string;
  /** A new token with a random user PIN, in the first free slot. */
  initToken(label: string): SoftHsmToken;
  /** Moves the token folder away: every operation fails until {@link bringBack}. */
  takeAway(): void;
  bringBack(): void;
  /** `pkcs11-tool` (opensc) with this SOFTHSM2_CONF and the module; its stdout. */
  pkcs11Tool(args: string[]): string;
  cleanup(): void;
}

/** True when SoftHSM2 is installed (the tests that need it are skipped elsewhere). */
export function softHsmInstalled(): boolean {
  return existsSync(SOFTHSM_MODULE);
}

export function softHsm(): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'keyturn-softhsm-'));
  const tokenDir = join(dir, 'tokens');
  const away = join(dir, 'tokens.away');
  mkdirSync(tokenDir, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const before = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  return {
    module: SOFTHSM_MODULE,
    conf,
    tokenDir,
    initToken(label) {
      const token = { label, pin: randomBytes(6).toString('hex'), soPin: randomBytes(6).toString('hex') };
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', token.soPin, '--pin', token.pin], { env, stdio: 'pipe', timeout: 20_000 });
      return token;
    },
    takeAway: () => renameSync(tokenDir, away),
    bringBack: () => renameSync(away, tokenDir),
    pkcs11Tool: (args) => execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }),
    cleanup() {
      if (before === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = before;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
