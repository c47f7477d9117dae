/**
 * Test helpers for the audit log: make its storage refuse writes (to prove writes fail closed),
 * and read what it holds.
 */
import { sql } from 'kysely';
import { loadAuditKeys } from '../../src/audit/keys.js';
import { headMac } from '../../src/audit/mac.js';
import { readHead, writeHead, type Head } from '../../src/audit/repo.js';
import { loadSettings } from '../../src/config/settings.js';
import { openKeyturn } from '../../src/runtime/keyturn.js';
import type { StateDb } from '../../src/state/db.js';

/** Makes every insert into audit_leaves fail, on SQLite or PostgreSQL (a trigger; `allowAuditInserts` undoes it). */
export async function refuseAuditInserts(state: StateDb): Promise<void> {
  if (state.dialect === 'sqlite') {
    await sql`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_leaves BEGIN SELECT RAISE(ABORT, 'audit storage refuses writes'); END`.execute(state.db);
  } else {
    await sql`CREATE FUNCTION audit_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit storage refuses writes'; END $$ LANGUAGE plpgsql`.execute(state.db);
    await sql`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_leaves FOR EACH ROW EXECUTE FUNCTION audit_refuse()`.execute(state.db);
  }
}

export async function allowAuditInserts(state: StateDb): Promise<void> {
  if (state.dialect === 'sqlite') await sql`DROP TRIGGER audit_refuse`.execute(state.db);
  else await sql`DROP TRIGGER audit_refuse ON audit_leaves`.execute(state.db);
}

/** The SQL statement that makes a SQLite file's audit_leaves refuse inserts (for node:sqlite). */
export const SQLITE_REFUSE_AUDIT = "CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_leaves BEGIN SELECT RAISE(ABORT, 'audit storage refuses writes'); END";

/** Every row of every audit table, as text, for "never contains" checks. */
export async function auditTablesText(state: StateDb): Promise<string> {
  const parts: unknown[] = [];
  for (const table of ['audit_leaves', 'audit_head', 'audit_checkpoints', 'audit_keys', 'audit_sink_cursors'] as const) {
    parts.push(await state.db.selectFrom(table).selectAll().execute());
  }
  return JSON.stringify(parts);
}

/**
 * Rewrites the audit head row the way only a holder of the key ring can: with a valid MAC (for
 * tests that move the log's clock by editing its head, e.g. to make it look quiet).
 */
export async function rewriteHeadWithKey(env: Record<string, string>, change: (head: Head) => Head): Promise<void> {
  const kt = await openKeyturn(loadSettings(env));
  try {
    const keys = await loadAuditKeys(kt.state.db, kt.ring);
    if (keys?.mac == null) throw new Error('the audit log has no MAC key');
    const key = keys.mac;
    await kt.state.db.transaction().execute(async (trx) => {
      const next = change(await readHead(trx, kt.state, true));
      await writeHead(trx, kt.state, { ...next, mac: headMac(key, next) });
    });
  } finally {
    await kt.close();
  }
}
