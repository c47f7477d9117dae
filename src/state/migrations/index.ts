/**
 * The numbered, forward-only migrations of the state database, in order. Opening a database that
 * is up to date only compares their names with the applied ones (state/db.ts), runs none.
 * Add a file `NNNN_name.ts` exporting `up(db)` and list it here; never edit a released one.
 */
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_engine.js';
import * as m0003 from './0003_audit.js';
import * as m0004 from './0004_run_failed_step.js';
import * as m0005 from './0005_audit_macs.js';
import * as m0006 from './0006_one_active_run.js';
import * as m0007 from './0007_access.js';
import * as m0008 from './0008_token_subject.js';
import * as m0009 from './0009_breakglass.js';
import * as m0010 from './0010_oidc.js';
import * as m0011 from './0011_notifications.js';
import * as m0012 from './0012_secret_status.js';
import * as m0013 from './0013_agent_deliveries.js';
import * as m0014 from './0014_schedule_due.js';
import * as m0015 from './0015_version_cleanups.js';
import * as m0016 from './0016_anomalies.js';
import * as m0017 from './0017_renewals.js';
import * as m0018 from './0018_replicas.js';
import * as m0019 from './0019_store_heads.js';
import * as m0020 from './0020_value_hmacs.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': m0001,
  '0002_engine': m0002,
  '0003_audit': m0003,
  '0004_run_failed_step': m0004,
  '0005_audit_macs': m0005,
  '0006_one_active_run': m0006,
  '0007_access': m0007,
  '0008_token_subject': m0008,
  '0009_breakglass': m0009,
  '0010_oidc': m0010,
  '0011_notifications': m0011,
  '0012_secret_status': m0012,
  '0013_agent_deliveries': m0013,
  '0014_schedule_due': m0014,
  '0015_version_cleanups': m0015,
  '0016_anomalies': m0016,
  '0017_renewals': m0017,
  '0018_replicas': m0018,
  '0019_store_heads': m0019,
  '0020_value_hmacs': m0020,
});
