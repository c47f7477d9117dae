/**
 * The numbered, forward-only migrations of the state database, in order, each imported only when
 * it has to run: opening a database that is up to date reads their names, not their code.
 * Add a file `NNNN_name.ts` exporting `up(db)` and list it here; never edit a released one.
 *
 * @example
 * ```ts
 * const up = await MIGRATIONS['0001_initial']!(); // { up(db) }
 * ```
 */
import type { Migration } from 'kysely/migration';

export const MIGRATIONS: Readonly<Record<string, () => Promise<Migration>>> = Object.freeze({
  '0001_initial': () => import('./0001_initial.js'),
  '0002_engine': () => import('./0002_engine.js'),
  '0003_audit': () => import('./0003_audit.js'),
  '0004_run_failed_step': () => import('./0004_run_failed_step.js'),
});
