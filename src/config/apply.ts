/**
 * `keyturn apply`: compares a parsed `keyturn.yaml` with the configuration applied to the state
 * database, prints a plan (create / change / unchanged / remove) and applies it.
 *
 * What is applied: target configs and secret policies (stored as JSON, never with a value) and,
 * for a declared secret that does not exist yet, its first value: `initial`, or a generated one
 * for an app-secret. An existing value is never overwritten. `remove` stops managing a target or a policy; the secret and
 * its versions stay in the store.
 *
 * @example
 * ```ts
 * const plan = await planConfig(state, store, config);
 * if (!dryRun) await applyPlan(state, store, config, plan);
 * ```
 */
import type { SecretStore } from '../stores/store.js';
import type { Transaction } from 'kysely';
import type { StateDb } from '../state/db.js';
import type { Schema } from '../state/schema.js';
import type { Clock } from '../core/clock.js';
import type { SecretValue } from '../core/types.js';
import { nextValue } from '../engine/next-value.js';
import { checkConfigTemplates } from './check-templates.js';
import type { KeyturnConfig, SecretPolicyConfig } from './schema.js';

export type PlanAction = 'create' | 'change' | 'unchanged' | 'remove';

export interface PlanEntry {
  kind: 'target' | 'policy' | 'value';
  name: string;
  action: PlanAction;
  /** Top-level keys that differ, for `change`. */
  changed?: string[];
}

/** Canonical JSON: keys sorted, so equal configs compare equal as text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function policyWithoutValue(p: SecretPolicyConfig): Omit<SecretPolicyConfig, 'initial'> {
  const { initial: _initial, ...rest } = p;
  return rest;
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

export async function planConfig(state: StateDb, store: SecretStore, config: KeyturnConfig): Promise<PlanEntry[]> {
  await checkConfigTemplates(store, config);
  const appliedTargets = new Map((await state.db.selectFrom('targets').selectAll().execute()).map((r) => [r.name, JSON.parse(r.config) as Record<string, unknown>]));
  const appliedPolicies = new Map((await state.db.selectFrom('secret_policies').selectAll().execute()).map((r) => [r.path, JSON.parse(r.config) as Record<string, unknown>]));
  const desiredTargets = new Map(Object.entries(config.targets).map(([n, t]) => [n, JSON.parse(JSON.stringify(t)) as Record<string, unknown>]));
  const desiredPolicies = new Map(Object.entries(config.secrets).map(([p, s]) => [p, JSON.parse(JSON.stringify(policyWithoutValue(s))) as Record<string, unknown>]));
  const values: PlanEntry[] = [];
  for (const [path, s] of Object.entries(config.secrets)) {
    // A value to bootstrap: the initial one, or a generated one for an app-secret.
    if (s.initial === undefined && s.type !== 'app-secret') continue;
    const exists = (await store.describe(path)) !== null;
    values.push({ kind: 'value', name: path, action: exists ? 'unchanged' : 'create' });
  }
  return [...compare('target', desiredTargets, appliedTargets), ...compare('policy', desiredPolicies, appliedPolicies), ...values];
}

/** Records the applied config changes (the audit log), inside the transaction that applies them. */
export type ApplyAuditHook = (trx: Transaction<Schema>, applied: readonly PlanEntry[]) => Promise<void>;

/**
 * Applies a plan made by {@link planConfig}: bootstrap values first, then the config tables in one
 * transaction, with `audit` recording the changes in it (no record, no change).
 */
export async function applyPlan(state: StateDb, store: SecretStore, config: KeyturnConfig, plan: readonly PlanEntry[], clock: Clock, audit?: ApplyAuditHook): Promise<void> {
  for (const entry of plan) {
    if (entry.kind !== 'value' || entry.action !== 'create') continue;
    const s = config.secrets[entry.name]!;
    const metadata = { type: s.type, ...(s.description !== undefined ? { description: s.description } : {}), ...(s.owner !== undefined ? { owner: s.owner } : {}), ...(s.tags ? { tags: { ...s.tags } } : {}) };
    const value = s.initial === undefined ? nextValue({ ...s, path: entry.name }, '') : (JSON.parse(JSON.stringify(s.initial)) as SecretValue);
    await store.put(entry.name, value, { metadata, versionId: 'initial' });
  }
  const now = clock.now();
  await state.db.transaction().execute(async (trx) => {
    for (const entry of plan) {
      if (entry.kind === 'value' || entry.action === 'unchanged') continue;
      if (entry.kind === 'target') {
        if (entry.action === 'remove') await trx.deleteFrom('targets').where('name', '=', entry.name).execute();
        else {
          const t = config.targets[entry.name]!;
          const row = { name: entry.name, type: t.type, config: stableJson(t), updated_at: now };
          await trx.insertInto('targets').values(row).onConflict((oc) => oc.column('name').doUpdateSet({ type: row.type, config: row.config, updated_at: now })).execute();
        }
      } else if (entry.action === 'remove') await trx.deleteFrom('secret_policies').where('path', '=', entry.name).execute();
      else {
        const row = { path: entry.name, config: stableJson(policyWithoutValue(config.secrets[entry.name]!)), updated_at: now };
        await trx.insertInto('secret_policies').values(row).onConflict((oc) => oc.column('path').doUpdateSet({ config: row.config, updated_at: now })).execute();
      }
    }
    const applied = plan.filter((e) => e.kind !== 'value' && e.action !== 'unchanged');
    if (audit && applied.length > 0) await audit(trx, applied);
  });
}
