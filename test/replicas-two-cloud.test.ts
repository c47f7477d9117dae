/**
 * Issue #15, prove-it 3: the two-cloud example (examples/two-cloud-replicas/keyturn.yaml) runs for
 * a simulated day on a manual clock. Its two secrets (a PostgreSQL credential on the password-auth
 * cluster, alternating users, and a JSON connection blob) rotate on their `rate: 20m` grid, the
 * embedded store as the primary and the AWS and OCI local servers (test/servers/) as the replicas
 * `aws-eu` and `oci-fra`. The scheduler runs one `rotate --due` pass (Scheduler.runOnce) after each
 * 20-minute step, 72 times. After each step: both secrets rotated once, and, counted from the audit
 * log's `secret.replicate` events (source `replica:<name>`, the version id), each replica got
 * exactly the primary's new current version of each secret, once. At the end each replica's
 * current, read through its store (the official SDK against the local server), is the primary's
 * current, value included, and `keyturn_replica_lag_seconds` and `keyturn replicas status` say 0.
 *
 * The example's YAML is changed by the test only in connection details: the target's host, port
 * and database, the users (a fresh one per run), the stores' region, endpoints, OCIDs and
 * credentials. Both servers keep the manual clock as their time (creation and deletion times).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { decodeEvent, type AuditEvent } from '../src/audit/event.js';
import { applyPlan, planConfig } from '../src/config/apply.js';
import { parseConfig } from '../src/config/load.js';
import { newPassword, uniqueName } from '../src/contracts/names.js';
import { manualClock } from '../src/core/clock.js';
import { readSnapshot } from '../src/metrics/state-snapshot.js';
import { stateGauges } from '../src/metrics/state-gauges.js';
import { Scheduler, SCHEDULER_CONTEXT, type DueOutcome } from '../src/schedule/scheduler.js';
import { prepareStore, type PreparedStore } from '../src/stores/registry.js';
import { targetFixture } from './fixtures/targets/index.js';
import { runCli } from './helpers/cli.js';
import { outsideStoreFixture, type OutsideStoreFixture } from './helpers/outside-stores.js';
import { openTestHome } from './helpers/state.js';

const EXAMPLE = fileURLToPath(new URL('../examples/two-cloud-replicas/keyturn.yaml', import.meta.url));
const T0 = Date.parse('2026-03-02T00:00:00Z'); // on the 20-minute grid
const STEP_MS = 20 * 60_000;
const STEPS = 72; // a day
const PATHS = ['multi-cloud/app_user', 'multi-cloud/connection_blob'] as const;
const REPLICAS = ['aws-eu', 'oci-fra'] as const;

type Entries = Record<string, Record<string, unknown>>;
interface ExampleYaml {
  stores: Entries;
  targets: Entries;
  secrets: Record<string, Record<string, unknown> & { initial: Record<string, unknown> }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

it('two clouds every 20 minutes for a simulated day: 72 rotations of each secret, both replicas given each new current version (counted from the audit log)', async () => {
  const clock = manualClock(T0);
  const aws: OutsideStoreFixture = await outsideStoreFixture('aws', { clock });
  cleanups.push(() => aws.close());
  const oci: OutsideStoreFixture = await outsideStoreFixture('oci', { clock });
  cleanups.push(() => oci.close());
  const pg = await targetFixture('postgres');
  const username = uniqueName('kt_app');
  const password = newPassword();
  await pg.createUser(username, password);
  cleanups.push(async () => {
    await pg.dropPair(username);
    await pg.close();
  });
  const home = await openTestHome({ clock });
  cleanups.push(() => home.close());
  const kt = home.kt;

  // The example, changed in connection details only.
  const example = parse(readFileSync(EXAMPLE, 'utf8')) as ExampleYaml;
  expect(Object.keys(example.stores).sort()).toEqual([...REPLICAS]);
  for (const path of PATHS) expect(example.secrets[path]?.replicas).toEqual([...REPLICAS]);
  example.stores['aws-eu'] = { ...example.stores['aws-eu'], ...aws.config };
  example.stores['oci-fra'] = { ...example.stores['oci-fra'], ...oci.config };
  example.targets['app-pg'] = { ...example.targets['app-pg'], ...pg.config() };
  example.secrets['admin/app-pg']!.initial.username = pg.admin!.username;
  example.secrets['multi-cloud/app_user']!.initial.username = username;
  const config = parseConfig(stringify(example), { PG_ADMIN_PASSWORD: pg.admin!.password, APP_PASSWORD: password }, EXAMPLE);
  await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);

  const engine = kt.engineFor(SCHEDULER_CONTEXT);
  const scheduler = new Scheduler({ state: kt.state, clock, log: kt.log, engine: () => engine, holder: 'two-cloud-test' }, { intervalMs: 1000, concurrency: 4, targetConcurrency: 2, claimMs: 60_000 });
  const primaryCurrent = async (path: string) => (await kt.store.versions(path)).find((v) => v.stages.includes('current'))!.id;

  const rotations: Record<string, number> = Object.fromEntries(PATHS.map((p) => [p, 0]));
  const copies: Record<string, number> = Object.fromEntries(REPLICAS.map((r) => [r, 0]));
  const t = performance.now();
  for (let step = 1; step <= STEPS; step++) {
    const from = (await kt.audit.head()).size;
    clock.advance(STEP_MS);
    const outcomes: DueOutcome[] = [];
    await scheduler.runOnce((o) => {
      outcomes.push(o);
    });
    const at = `step ${step} (${new Date(clock.now()).toISOString()})`;
    expect(
      outcomes.map((o) => ({ path: o.path, status: o.run?.status ?? null, error: o.error?.code ?? null })).sort((a, b) => (a.path < b.path ? -1 : 1)),
      at,
    ).toEqual(PATHS.map((path) => ({ path, status: 'done', error: null })));
    const events: AuditEvent[] = (await kt.audit.between(from)).map((r) => decodeEvent(Buffer.from(r.leaf)));
    for (const path of PATHS) {
      const rotated = events.filter((e) => e.action === 'secret.rotate' && e.outcome === 'success' && e.path === path);
      expect(rotated, `${at}: ${path} rotated once`).toHaveLength(1);
      const version = rotated[0]!.versionId;
      expect(version, `${at}: ${path}: the rotation's version is the primary's current`).toBe(await primaryCurrent(path));
      const copied = events.filter((e) => e.action === 'secret.replicate' && e.path === path);
      expect(
        copied.map((e) => ({ source: e.source, outcome: e.outcome, versionId: e.versionId, runId: e.runId })).sort((a, b) => (a.source < b.source ? -1 : 1)),
        `${at}: ${path}: one copy of the new current version to each replica, by the rotation's propagate step`,
      ).toEqual(REPLICAS.map((r) => ({ source: `replica:${r}`, outcome: 'success', versionId: version, runId: rotated[0]!.runId })));
      rotations[path]! += rotated.length;
      for (const e of copied) copies[e.source.slice('replica:'.length)]! += 1;
    }
    // In sync at once: no lag, nothing behind (what /metrics reads).
    expect((await readSnapshot(kt)).replicas, at).toEqual(REPLICAS.map((replica) => ({ replica, lagSeconds: 0, behind: 0 })));
  }
  const loopMs = performance.now() - t;

  // Counted again over the whole log: 72 rotations of each secret, 144 copies into each replica, none failed.
  const all: AuditEvent[] = [];
  await kt.audit.pages(0, (rows) => void all.push(...rows.map((r) => decodeEvent(Buffer.from(r.leaf)))));
  for (const path of PATHS) {
    expect(all.filter((e) => e.action === 'secret.rotate' && e.outcome === 'success' && e.path === path)).toHaveLength(STEPS);
    for (const r of REPLICAS) expect(all.filter((e) => e.action === 'secret.replicate' && e.path === path && e.source === `replica:${r}` && e.outcome === 'success')).toHaveLength(STEPS);
  }
  expect(all.filter((e) => e.action === 'secret.replicate' && e.outcome !== 'success')).toEqual([]);
  expect(rotations).toEqual(Object.fromEntries(PATHS.map((p) => [p, STEPS])));
  expect(copies).toEqual(Object.fromEntries(REPLICAS.map((r) => [r, 2 * STEPS])));

  // Each replica's current, read through its own store (the provider's SDK), is the primary's.
  const deps = { state: kt.state, ring: kt.ring, clock, settings: kt.settings };
  const stores: Record<string, PreparedStore> = {
    'aws-eu': await prepareStore(example.stores['aws-eu'] as { type: string }, deps),
    'oci-fra': await prepareStore(example.stores['oci-fra'] as { type: string }, deps),
  };
  cleanups.push(async () => {
    for (const s of Object.values(stores)) await s.close();
  });
  for (const path of PATHS) {
    const primary = (await kt.store.get(path))!;
    expect(primary.number).toBe(STEPS + 1);
    for (const r of REPLICAS) {
      const replica = (await stores[r]!.forAudit().get(path))!;
      expect({ replica: r, id: replica.id, value: replica.value }).toEqual({ replica: r, id: primary.id, value: primary.value });
    }
  }
  // The blob keeps its fields; only its token changed, at each rotation.
  const blob = (await stores['aws-eu']!.forAudit().get(PATHS[1]))!.value as Record<string, string>;
  expect(Object.keys(blob).sort()).toEqual(['database', 'host', 'port', 'sslmode', 'token']);
  expect(blob.token).toMatch(/^[A-Za-z0-9]{48}$/);
  // The database credential the replicas hold logs in.
  const cred = (await kt.store.get(PATHS[0]))!.value as { username: string; password: string };
  expect(await pg.logsIn(cred)).toBe(true);

  // No lag: the gauge and `keyturn replicas status`.
  const registry = new Registry();
  stateGauges(registry, () => readSnapshot(kt), { secretPaths: 10 });
  const gauge = await registry.getSingleMetricAsString('keyturn_replica_lag_seconds');
  expect(gauge.split('\n').filter((l) => l.startsWith('keyturn_replica_lag_seconds{'))).toEqual(REPLICAS.map((r) => `keyturn_replica_lag_seconds{replica="${r}"} 0`));
  const status = await runCli(['replicas', 'status', '--json'], { env: { KEYTURN_HOME: join(home.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' } });
  expect(status.code, status.stderr).toBe(0);
  const rows = (JSON.parse(status.stdout) as { replicas: Array<{ path: string; replica: string; wants: number; holds: number; inSync: boolean; lagSeconds: number }> }).replicas;
  expect(rows.map((x) => ({ path: x.path, replica: x.replica, wants: x.wants, holds: x.holds, inSync: x.inSync, lagSeconds: x.lagSeconds }))).toEqual(
    PATHS.flatMap((path) => REPLICAS.map((replica) => ({ path, replica, wants: STEPS + 1, holds: STEPS + 1, inSync: true, lagSeconds: 0 }))),
  );
  console.log(`two-cloud day: ${STEPS} steps, rotations ${JSON.stringify(rotations)}, copies ${JSON.stringify(copies)}, loop ${Math.round(loopMs)} ms`);
}, 600_000);
