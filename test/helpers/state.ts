/**
 * Test helpers: fresh state databases on SQLite (a temp file) and PostgreSQL (a schema of its own
 * in the machine's server, dropped afterwards), with an initialized key ring.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Clock } from '../../src/core/clock.js';
import { KeyRing } from '../../src/crypto/keyring.js';
import { generateRootKey } from '../../src/crypto/root-key.js';
import { openState, type StateDb } from '../../src/state/db.js';
import { loadSettings } from '../../src/config/settings.js';
import { initHome, openKeyturn, type Keyturn } from '../../src/runtime/keyturn.js';
import { applyPlan, planConfig } from '../../src/config/apply.js';
import { parseConfig } from '../../src/config/load.js';

/** The trust-auth PostgreSQL every machine runs; override with KEYTURN_TEST_PG_URL. */
export const PG_URL = process.env.KEYTURN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function tempDir(prefix = 'keyturn-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestState {
  state: StateDb;
  ring: KeyRing;
  close(): Promise<void>;
}

export async function sqliteState(clock?: Clock): Promise<TestState & { file: string }> {
  const tmp = tempDir();
  const file = join(tmp.dir, 'keyturn.db');
  const state = await openState({ sqliteFile: file });
  const ring = await KeyRing.initialize(state, generateRootKey(), clock);
  return {
    state,
    ring,
    file,
    close: async () => {
      await state.close();
      tmp.remove();
    },
  };
}

export async function postgresState(clock?: Clock): Promise<TestState & { schema: string }> {
  const schema = `kt_test_${randomBytes(6).toString('hex')}`;
  const state = await openState({ url: PG_URL, pgSchema: schema });
  const ring = await KeyRing.initialize(state, generateRootKey(), clock);
  return {
    state,
    ring,
    schema,
    close: async () => {
      await state.close();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A fresh PostgreSQL schema for one home's state database: the `KEYTURN_DATABASE_URL` that puts a
 * Keyturn in it (its search_path), and `drop()` for the cleanup.
 */
export async function postgresSchemaUrl(prefix: string): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), schema, drop: () => dropSchema(schema) };
}

/** A fresh, initialized Keyturn home in a temp folder, opened (logs silent) on `clock` (default: the system's), with `out`, a folder for consumers' files. */
export async function openTestHome(options: { clock?: Clock; env?: Record<string, string> } = {}): Promise<{ kt: Keyturn; dir: string; out: string; close(): Promise<void> }> {
  const tmp = tempDir();
  const out = join(tmp.dir, 'out');
  mkdirSync(out, { mode: 0o700 });
  const settings = loadSettings({ KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent', ...options.env });
  await initHome(settings);
  const kt = await openKeyturn(settings, options.clock ? { clock: options.clock } : {});
  return {
    kt,
    dir: tmp.dir,
    out,
    close: async () => {
      await kt.close();
      tmp.remove();
    },
  };
}

/** Applies a keyturn.yaml text to an open Keyturn, as `keyturn apply` does. */
export async function applyYaml(kt: Keyturn, yaml: string): Promise<void> {
  const config = parseConfig(yaml, {});
  await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
}
