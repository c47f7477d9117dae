/**
 * Fixtures for rotation tests against the real servers: a fresh Keyturn home with a target and
 * one managed credential applied (PostgreSQL on the password-auth cluster, MariaDB, Redis, the
 * test process's own slapd, Samba DC or MIT KDC, RabbitMQ, a local API-key provider), the user created on the server with its first password, and
 * teardown that drops both users of an alternating pair. What each kind needs (config, admin, users, login check) comes from its
 * fixture in test/fixtures/targets/.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Credential, Strategy } from '../../src/targets/target.js';
import { targetFixture, type FixtureOf } from '../fixtures/targets/index.js';
import { runCli } from './cli.js';
import { newPassword, uniqueName } from '../../src/contracts/names.js';
import { tempDir } from './state.js';

export type Kind = 'postgres' | 'mysql' | 'redis' | 'ldap' | 'rabbitmq' | 'script' | 'kerberos' | 'ssh' | 'active-directory' | 'http-api-key';

export interface RotationFixture<K extends Kind = Kind> {
  kind: K;
  strategy: Strategy;
  home: string;
  env: Record<string, string>;
  path: string;
  username: string;
  /** The kind's fixture (admin connection, users) this rotation runs on. */
  target: FixtureOf[K];
  /** Logs in with the plain driver at the real server (never through a proxy or the target's own test). */
  logsIn(cred: Credential): Promise<boolean>;
  /** dual-key: the kind fixture's `unknownKeys` (src/contracts/target-contract.ts): what the user holds that none of `stored` is. */
  unknownKeys?(username: string, stored: readonly Credential[]): Promise<string[]>;
  /** Extra files (consumer outputs) live here. */
  dir: string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Extra YAML under the secret (consumers, rotation), indented by 4 spaces. */
  secretExtra?: string;
  /** Override the target's port (e.g. a proxy in front of the server). */
  port?: number;
  /** Top-level YAML after targets: (a stores: section), not indented. */
  configExtra?: string;
  /** More environment for every keyturn command of the fixture (KEYTURN_STORE_FILE: an outside primary store). */
  env?: Record<string, string>;
}

/** A home with `target: db` and the secret `app/db` managing a fresh user on the real server. */
export async function rotationFixture<K extends Kind>(kind: K, strategy: Strategy, options: FixtureOptions = {}): Promise<RotationFixture<K>> {
  const tmp = tempDir();
  const home = join(tmp.dir, 'home');
  const fx = await targetFixture(kind);
  const username = uniqueName(`kt_${kind.slice(0, 2)}`);
  // A target whose credentials are not passwords (ssh: a private key) makes the first one.
  const pw = fx.target.newSecret ? fx.target.newSecret() : newPassword();
  await fx.createUser(username, pw);
  const env: Record<string, string> = { ...options.env, KEYTURN_HOME: home, APP_PASSWORD: pw, ADMIN_PASSWORD: fx.admin?.password ?? '' };
  // JSON is YAML: the target's config as one flow mapping.
  const target = JSON.stringify({ ...fx.config(options.port), ...(fx.admin ? { admin: 'admin/db' } : {}) });
  const adminSecret = fx.admin ? `  admin/db:\n    type: database-credential\n    initial: { username: ${JSON.stringify(fx.admin.username)}, password: "\${env:ADMIN_PASSWORD}" }\n` : '';
  const yaml = `version: 1
targets:
  db: ${target}
${options.configExtra ?? ''}secrets:
${adminSecret}  app/db:
    type: database-credential
    target: db
    strategy: ${strategy}
    initial: { username: ${username}, password: "\${env:APP_PASSWORD}" }
${options.secretExtra ?? ''}`;
  const file = join(tmp.dir, 'keyturn.yaml');
  writeFileSync(file, yaml);
  const close = async () => {
    await fx.dropPair(username);
    await fx.close();
    tmp.remove();
  };
  for (const argv of [['init'], ['apply', '-f', file]]) {
    const r = await runCli(argv, { env });
    if (r.code !== 0) {
      await close();
      throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    }
  }
  return {
    kind,
    strategy,
    home,
    env: { ...options.env, KEYTURN_HOME: home },
    path: 'app/db',
    username,
    target: fx,
    logsIn: (cred) => fx.logsIn(cred),
    dir: tmp.dir,
    close,
    ...(fx.unknownKeys ? { unknownKeys: fx.unknownKeys.bind(fx) } : {}),
  };
}
