/**
 * `keyturn apply`: compares a parsed `keyturn.yaml` with the configuration applied to the state
 * database, prints a plan (create / change / unchanged / remove) and applies it.
 *
 * What is applied: target configs, secret policies (stored as JSON, never with a value, with
 * each secret's effective rotation schedule: {@link storedPolicy}), notification channels
 * (credentials only as references, ../notify/schema.ts), the `detection:` and `backups:` sections
 * (each one `kt_settings` row) and,
 * for a declared secret that does not exist yet, its first value: `initial`, or a generated one
 * for an app-secret. An existing value is never overwritten. `remove` stops managing a target or a policy; the secret and
 * its versions stay in the store.
 *
 * All or nothing: the bootstrap values are built and checked first ({@link bootstrapValues}, which a
 * dry run calls too), then, with a store that keeps its values in the state database, the values,
 * the config tables and the audit events are written in one transaction, so a failure midway
 * leaves nothing behind. A store outside the database cannot join that transaction: its values are
 * written first, after the same checks. The scheduler's due times of the policies it changes are
 * written in the same transaction (src/schedule/due-repo.ts).
 *
 * @example
 * ```ts
 * const plan = await planConfig(state, store, config);
 * if (!dryRun) await applyPlan(state, store, config, plan);
 * ```
 */
import { DETECTION_SETTING } from '../detect/config.js';
import { BACKUPS_SETTING } from '../backup/schedule-config.js';
import { STORES_SETTING, storeConfigOf } from '../replicas/config.js';
import { checkStoreConfig } from '../stores/registry.js';
import { canPutWithin, type SecretStore } from '../stores/store.js';
import { KeyturnError, isKeyturnError } from '../core/errors.js';
import { assertValidValue, DEFAULT_MAX_VALUE_BYTES } from '../core/values.js';
import { databaseError } from '../state/db.js';
import type { Transaction } from 'kysely';
import type { StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';
import type { Clock } from '../core/clock.js';
import type { SecretMetadata, SecretValue } from '../core/types.js';
import { nextValue } from '../engine/next-value.js';
import { checkConfigTemplates } from './check-templates.js';
import { isRotatable, type KeyturnConfig, type SecretPolicyConfig } from './schema.js';
import { isBuiltIn, resolveSchedule } from '../schedule/resolve.js';
import { DueRepo } from '../schedule/due-repo.js';

export type PlanAction = 'create' | 'change' | 'unchanged' | 'remove';

export interface PlanEntry {
  kind: 'target' | 'policy' | 'value' | 'channel' | 'detection' | 'backups' | 'stores';
  name: string;
  action: PlanAction;
  /** Top-level keys that differ, for `change`. */
  changed?: string[];
}

/** Canonical JSON: keys sorted, so equal configs compare equal as text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

function policyWithoutValue(p: SecretPolicyConfig): Omit<SecretPolicyConfig, 'initial'> {
  const { initial: _initial, ...rest } = p;
  return rest;
}

/**
 * What is stored for a secret's policy: its config without the initial value and, when
 * keyturn.yaml says anything about its schedule (its own block or a default under `schedules:`),
 * the effective schedule with where each value came from (`effectiveSchedule`, read back by
 * engine/applied.ts). A change of a default thus shows as a change of each policy it reaches.
 */
export function storedPolicy(config: KeyturnConfig, path: string): Record<string, unknown> {
  const s = config.secrets[path]!;
  const { schedule } = resolveSchedule({ path, type: s.type, rotatable: isRotatable(s), own: s.schedule, defaults: config.schedules });
  return JSON.parse(JSON.stringify({ ...policyWithoutValue(s), ...(isBuiltIn(schedule) ? {} : { effectiveSchedule: schedule }) })) as Record<string, unknown>;
}

function diffKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => stableJson(a[k]) !== stableJson(b[k])).sort();
}

function compare<T extends Record<string, unknown>>(kind: PlanEntry['kind'], desired: Map<string, T>, applied: Map<string, T>): PlanEntry[] {
  const out: PlanEntry[] = [];
  for (const [name, want] of desired) {
    const have = applied.get(name);
    if (!have) out.push({ kind, name, action: 'create' });
    else {
      const changed = diffKeys(want, have);
      out.push(changed.length ? { kind, name, action: 'change', changed } : { kind, name, action: 'unchanged' });
    }
  }
  for (const name of applied.keys()) if (!desired.has(name)) out.push({ kind, name, action: 'remove' });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The plan entry of a section of keyturn.yaml stored whole in one `kt_settings` row (`detection:`, `backups:`). */
async function compareSetting(state: StateDb, kind: PlanEntry['kind'], name: string, desired: unknown): Promise<PlanEntry[]> {
  const applied = await state.db.selectFrom('kt_settings').select('value').where('name', '=', name).executeTakeFirst();
  return compare(
    kind,
    new Map(desired === undefined ? [] : [[name, JSON.parse(JSON.stringify(desired)) as Record<string, unknown>]]),
    new Map(applied === undefined ? [] : [[name, JSON.parse(applied.value) as Record<string, unknown>]]),
  );
}

/** Each store under `stores:` checked by its own store's schema: KT_CONFIG_INVALID naming the store and key. */
async function checkReplicaStores(config: KeyturnConfig): Promise<void> {
  const problems: string[] = [];
  for (const [name, store] of Object.entries(config.stores ?? {})) {
    try {
      await checkStoreConfig(storeConfigOf(store));
    } catch (e) {
      if (!isKeyturnError(e, 'KT_STORE_CONFIG_INVALID')) throw e;
      const lines = (e.details?.problems as string[] | undefined) ?? [e.message];
      for (const line of lines) problems.push(`stores.${name}.${line}`);
    }
  }
  if (problems.length > 0) throw new KeyturnError('KT_CONFIG_INVALID', problems.join('; '), { details: { issues: problems } });
}

export async function planConfig(state: StateDb, store: SecretStore, config: KeyturnConfig): Promise<PlanEntry[]> {
  await checkConfigTemplates(store, config);
  const appliedTargets = new Map((await state.db.selectFrom('targets').selectAll().execute()).map((r) => [r.name, JSON.parse(r.config) as Record<string, unknown>]));
  const appliedPolicies = new Map((await state.db.selectFrom('secret_policies').selectAll().execute()).map((r) => [r.path, JSON.parse(r.config) as Record<string, unknown>]));
  const desiredTargets = new Map(Object.entries(config.targets).map(([n, t]) => [n, JSON.parse(JSON.stringify(t)) as Record<string, unknown>]));
  const desiredPolicies = new Map(Object.keys(config.secrets).map((p) => [p, storedPolicy(config, p)]));
  const appliedChannels = new Map((await state.db.selectFrom('notify_channels').select(['name', 'config']).execute()).map((r) => [r.name, JSON.parse(r.config) as Record<string, unknown>]));
  const desiredChannels = new Map(Object.entries(config.notifications?.channels ?? {}).map(([n, c]) => [n, JSON.parse(JSON.stringify(c)) as Record<string, unknown>]));
  const detection = await compareSetting(state, 'detection', DETECTION_SETTING, config.detection);
  const backups = await compareSetting(state, 'backups', BACKUPS_SETTING, config.backups);
  await checkReplicaStores(config);
  const stores = await compareSetting(state, 'stores', STORES_SETTING, config.stores);
  const values: PlanEntry[] = [];
  for (const [path, s] of Object.entries(config.secrets)) {
    // A value to bootstrap: the initial one, or a generated one for an app-secret.
    if (s.initial === undefined && s.type !== 'app-secret') continue;
    const exists = (await store.describe(path)) !== null;
    values.push({ kind: 'value', name: path, action: exists ? 'unchanged' : 'create' });
  }
  return [
    ...compare('target', desiredTargets, appliedTargets),
    ...compare('policy', desiredPolicies, appliedPolicies),
    ...compare('channel', desiredChannels, appliedChannels),
    ...detection,
    ...backups,
    ...stores,
    ...values,
  ];
}

/** Records the applied config changes (the audit log), inside the transaction that applies them. */
export type ApplyAuditHook = (trx: Transaction<Schema>, applied: readonly PlanEntry[]) => Promise<void>;

/** A first value to store, built from the config. */
export interface BootstrapValue {
  path: string;
  value: SecretValue;
  metadata: Partial<SecretMetadata>;
}

/**
 * The values a plan creates (`initial`, or a generated one for an app-secret), each checked as the
 * store will check it. Every problem is KT_CONFIG_FILE_INVALID at its key path
 * (`secrets.PATH.initial: ...`), all of them in one error, before anything is written.
 *
 * @example
 * ```ts
 * bootstrapValues(config, plan, settings.maxValueBytes); // throws what applyPlan would
 * ```
 */
export function bootstrapValues(config: KeyturnConfig, plan: readonly PlanEntry[], maxValueBytes = DEFAULT_MAX_VALUE_BYTES): BootstrapValue[] {
  const out: BootstrapValue[] = [];
  const problems: string[] = [];
  for (const entry of plan) {
    if (entry.kind !== 'value' || entry.action !== 'create') continue;
    const s = config.secrets[entry.name]!;
    const metadata = {
      type: s.type,
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(s.owner !== undefined ? { owner: s.owner } : {}),
      ...(s.tags ? { tags: { ...s.tags } } : {}),
    };
    const key = s.initial === undefined ? 'password' : 'initial';
    try {
      const value = s.initial === undefined ? nextValue({ ...s, path: entry.name }, '') : (JSON.parse(JSON.stringify(s.initial)) as SecretValue);
      assertValidValue(value, maxValueBytes);
      out.push({ path: entry.name, value, metadata });
    } catch (e) {
      if (!isKeyturnError(e)) throw e;
      problems.push(`secrets.${entry.name}.${key}: ${e.message} (${e.code})`);
    }
  }
  if (problems.length > 0) throw new KeyturnError('KT_CONFIG_FILE_INVALID', `${problems.join('; ')}; nothing was applied`, { details: { issues: problems } });
  return out;
}

/**
 * Applies a plan made by {@link planConfig}: the bootstrap values and the config tables in one
 * transaction, with `audit` recording the changes in it (no record, no change). A failure leaves
 * the state database as it was.
 */
export async function applyPlan(
  state: StateDb,
  store: SecretStore,
  config: KeyturnConfig,
  plan: readonly PlanEntry[],
  clock: Clock,
  audit?: ApplyAuditHook,
  options: { maxValueBytes?: number } = {},
): Promise<void> {
  const values = bootstrapValues(config, plan, options.maxValueBytes);
  const now = clock.now();
  const writeConfig = async (trx: Transaction<Schema>): Promise<void> => {
    for (const entry of plan) {
      if (entry.kind === 'value' || entry.action === 'unchanged') continue;
      if (entry.kind === 'detection' || entry.kind === 'backups' || entry.kind === 'stores') {
        const { name, section } = {
          detection: { name: DETECTION_SETTING, section: config.detection as unknown },
          backups: { name: BACKUPS_SETTING, section: config.backups as unknown },
          stores: { name: STORES_SETTING, section: config.stores as unknown },
        }[entry.kind];
        await trx.deleteFrom('kt_settings').where('name', '=', name).execute();
        if (entry.action !== 'remove')
          await trx
            .insertInto('kt_settings')
            .values({ name, value: stableJson(section) })
            .execute();
      } else if (entry.kind === 'channel') {
        if (entry.action === 'remove') await trx.deleteFrom('notify_channels').where('name', '=', entry.name).execute();
        else {
          const text = stableJson(config.notifications!.channels[entry.name]!);
          // A new channel hears about what happens from now on (the audit log's size now), not the log's past.
          const head = await trx.selectFrom('audit_head').select('size').where('id', '=', 1).executeTakeFirst();
          await trx
            .insertInto('notify_channels')
            .values({ name: entry.name, config: text, from_seq: Number(head?.size ?? 0), updated_at: now })
            .onConflict((oc) => oc.column('name').doUpdateSet({ config: text, updated_at: now }))
            .execute();
        }
      } else if (entry.kind === 'target') {
        if (entry.action === 'remove') await trx.deleteFrom('targets').where('name', '=', entry.name).execute();
        else {
          const t = config.targets[entry.name]!;
          const row = { name: entry.name, type: t.type, config: stableJson(t), updated_at: now };
          await trx
            .insertInto('targets')
            .values(row)
            .onConflict((oc) => oc.column('name').doUpdateSet({ type: row.type, config: row.config, updated_at: now }))
            .execute();
        }
      } else if (entry.action === 'remove') await trx.deleteFrom('secret_policies').where('path', '=', entry.name).execute();
      else {
        const row = { path: entry.name, config: stableJson(storedPolicy(config, entry.name)), updated_at: now };
        await trx
          .insertInto('secret_policies')
          .values(row)
          .onConflict((oc) => oc.column('path').doUpdateSet({ config: row.config, updated_at: now }))
          .execute();
      }
    }
    // The scheduler's due times, in the same transaction: each policy created, changed or removed,
    // and each secret given its first value (src/schedule/due-repo.ts).
    const due = new DueRepo(state, clock);
    const touched = new Set(plan.filter((e) => (e.kind === 'policy' || e.kind === 'value') && e.action !== 'unchanged').map((e) => e.name));
    for (const path of touched) await due.refresh(path, trx);
    const applied = plan.filter((e) => e.kind !== 'value' && e.action !== 'unchanged');
    if (audit && applied.length > 0) await audit(trx, applied);
  };
  try {
    if (canPutWithin(store)) {
      await state.db.transaction().execute(async (trx) => {
        for (const v of values) await store.putWithin(trx, v.path, v.value, { metadata: v.metadata, versionId: 'initial' });
        await writeConfig(trx);
      });
    } else {
      for (const v of values) await store.put(v.path, v.value, { metadata: v.metadata, versionId: 'initial' });
      await state.db.transaction().execute(writeConfig);
    }
  } catch (e) {
    throw databaseError(e, state);
  }
}
