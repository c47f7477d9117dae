/**
 * The configuration applied by `keyturn apply`, read back from the state database: secret
 * policies and targets. Target instances (with their connection pools) are created once per
 * process and reused by every run; a policy is read on every call but parsed again only when its
 * stored text changed.
 *
 * @example
 * ```ts
 * const applied = new AppliedConfig(state);
 * const policy = await applied.policy('prod/db/app');
 * const { target, adminPath } = await applied.target(policy.target!);
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { SecretPolicyConfig } from '../config/schema.js';
import type { EffectiveSchedule } from '../schedule/resolve.js';
import type { StateDb } from '../state/db.js';
import type { Target } from '../targets/target.js';
import { prepared } from '../state/prepared.js';

// The config schemas (zod) and the target registry (with its drivers) load on first use, so a
// command that only reads the store never pays for them.
const schemas = () => import('../config/schema.js');
const registry = () => import('../targets/registry.js');

/** A secret's applied policy text: read at every rotation (compiled once, ../state/prepared.ts). */
const policyConfig = prepared((db, p) => db.selectFrom('secret_policies').select('config').where('path', '=', p('path')));
export interface SecretPolicy extends SecretPolicyConfig {
  readonly path: string;
  /**
   * The rotation schedule in force: as `keyturn apply` resolved it with the defaults of
   * keyturn.yaml (stored with the policy as `effectiveSchedule`), else the built-in one.
   */
  readonly effectiveSchedule: EffectiveSchedule;
}

/** A stored policy's text, parsed: the policy's own config, and its effective schedule resolved at apply. */
export async function parsePolicy(path: string, config: string): Promise<SecretPolicy> {
  const [{ secretPolicySchema, isRotatable }, { effectiveScheduleSchema }, { resolveSchedule }] = await Promise.all([schemas(), import('../schedule/schema.js'), import('../schedule/resolve.js')]);
  const { effectiveSchedule: stored, ...rest } = JSON.parse(config) as Record<string, unknown>;
  const policy = secretPolicySchema.parse(rest);
  const effectiveSchedule =
    stored === undefined ? resolveSchedule({ path, type: policy.type, rotatable: isRotatable(policy), own: policy.schedule }).schedule : (effectiveScheduleSchema.parse(stored) as EffectiveSchedule);
  return { path, ...policy, effectiveSchedule };
}

export interface AppliedTarget {
  readonly name: string;
  readonly target: Target;
  /** Path of the secret holding the admin credential, when the target has one. */
  readonly adminPath: string | undefined;
}

export class AppliedConfig {
  private readonly targets = new Map<string, Promise<AppliedTarget>>();

  constructor(private readonly state: StateDb) {}

  /** Parsed policies by path, with the stored text they came from: a policy is parsed again only once `apply` changed it. */
  private readonly parsed = new Map<string, { config: string; policy: SecretPolicy }>();

  async policy(path: string): Promise<SecretPolicy> {
    const row = await policyConfig.first(this.state, this.state.db, { path });
    if (!row) throw new KeyturnError('KT_POLICY_NOT_FOUND', `${path} has no applied rotation policy`);
    const hit = this.parsed.get(path);
    if (hit?.config === row.config) return hit.policy;
    const policy: SecretPolicy = Object.freeze(await parsePolicy(path, row.config));
    this.parsed.set(path, { config: row.config, policy });
    return policy;
  }

  async policies(): Promise<SecretPolicy[]> {
    const rows = await this.state.db.selectFrom('secret_policies').selectAll().execute();
    const out: SecretPolicy[] = [];
    for (const r of rows) out.push(await parsePolicy(r.path, r.config));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The target instance for `name`, created on first use. */
  target(name: string): Promise<AppliedTarget> {
    let entry = this.targets.get(name);
    if (!entry) {
      entry = this.load(name);
      this.targets.set(name, entry);
      entry.catch(() => this.targets.delete(name));
    }
    return entry;
  }

  private async load(name: string): Promise<AppliedTarget> {
    const row = await this.state.db.selectFrom('targets').select('config').where('name', '=', name).executeTakeFirst();
    if (!row) throw new KeyturnError('KT_TARGET_NOT_FOUND', `target "${name}" is not applied`);
    const raw = JSON.parse(row.config) as { admin?: string } & Record<string, unknown>;
    const { admin, ...config } = raw;
    const { createTarget, targetConfigSchema } = await registry();
    return { name, target: createTarget(targetConfigSchema.parse(config)), adminPath: admin };
  }

  /** Closes every target's connections. */
  async close(): Promise<void> {
    const all = await Promise.allSettled(this.targets.values());
    this.targets.clear();
    await Promise.allSettled(all.map((r) => (r.status === 'fulfilled' ? r.value.target.close?.() : undefined)));
  }
}
