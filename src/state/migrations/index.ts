/**
 * The numbered, forward-only migrations of the state database, in order.
 * Add a file `NNNN_name.ts` exporting `up(db)` and list it here; never edit a released one.
 */
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_initial.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': m0001,
});
