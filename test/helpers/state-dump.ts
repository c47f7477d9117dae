/**
 * Every row of every table of a Keyturn home's SQLite state database, for before/after
 * comparisons; except the audit log's tables, which record refused attempts too
 * (test/audit-*.test.ts covers them), and what the server's anomaly detection makes of those
 * events (`anomalies`, `detect_cursor`: a burst of refusals is an anomaly; test/server-anomalies.test.ts).
 *
 * @example
 * ```ts
 * const before = dumpState(home);
 * // ... a command that must be refused ...
 * expect(dumpState(home)).toEqual(before);
 * ```
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export function dumpState(home: string): unknown {
  const db = new DatabaseSync(join(home, 'keyturn.db'));
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'audit\\_%' ESCAPE '\\' AND name NOT IN ('anomalies', 'detect_cursor') ORDER BY name")
      .all() as Array<{ name: string }>;
    return Object.fromEntries(tables.map((t) => [t.name, db.prepare(`SELECT * FROM "${t.name}"`).all()]));
  } finally {
    db.close();
  }
}
