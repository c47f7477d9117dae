/**
 * The apply-time strategy check: every secret with a target must rotate with a strategy that
 * target's registry entry lists, so `keyturn apply` (and `--dry-run`) refuses the file at once
 * instead of the first run failing later. The strategy checked is the one the engine will use:
 * the secret's own, or the default (single-user with a target, simple without).
 *
 * @example
 * ```ts
 * strategyIssues(config); // [{ path: ['secrets', 'app/key', 'strategy'], message: 'the postgres target "main-pg" rotates with single-user or alternating-users, not "simple"' }]
 * ```
 */
import { targetRegistry } from '../targets/registry.js';
import type { Strategy } from '../targets/target.js';
import { httpApiKeyStrategiesOf, type HttpApiKeyTargetConfig } from '../targets/http-api-key/config.js';
import { ISSUED_TYPES, type KeyturnConfig, type SecretPolicyConfig } from './schema.js';

/** Targets whose configuration narrows the strategies of their registry entry, with why. */
const CONFIGURED_STRATEGIES: Readonly<Record<string, (config: never) => { strategies: readonly Strategy[]; why: string }>> = {
  'http-api-key': (c: HttpApiKeyTargetConfig) => ({
    strategies: httpApiKeyStrategiesOf(c),
    why:
      c.create.response === undefined
        ? 'Keyturn chooses the key (create sends {{key}}); renew is for a provider that makes the key (create.response.key)'
        : 'the provider makes the key (create.response.key), so dual-key (which sends a key Keyturn chose) cannot be used',
  }),
};

/** The strategy a secret rotates with: its own, else renew for a certificate or signing-key, single-user with a target and simple without. */
export function strategyOf(policy: Pick<SecretPolicyConfig, 'strategy' | 'target' | 'type'>): Strategy {
  return policy.strategy ?? (ISSUED_TYPES.has(policy.type) ? 'renew' : policy.target !== undefined ? 'single-user' : 'simple');
}

/** One strategy a target does not support, at its key path (`secrets.<path>.strategy`). */
export interface StrategyIssue {
  path: string[];
  message: string;
}

/** Each secret whose target does not rotate with its strategy (none when all is well). */
export function strategyIssues(config: KeyturnConfig): StrategyIssue[] {
  const out: StrategyIssue[] = [];
  for (const [path, s] of Object.entries(config.secrets)) {
    if (s.target === undefined) continue;
    const type = config.targets[s.target]?.type;
    const entry = type === undefined ? undefined : targetRegistry.find(type);
    if (!entry) continue;
    const strategy = strategyOf(s);
    // A target whose configuration narrows its strategies (http-api-key: renew only when the provider makes the key).
    const narrowed = type === undefined ? undefined : CONFIGURED_STRATEGIES[type]?.(config.targets[s.target] as never);
    if (entry.strategies.includes(strategy) && (narrowed === undefined || narrowed.strategies.includes(strategy))) continue;
    if (narrowed !== undefined && entry.strategies.includes(strategy)) {
      out.push({ path: ['secrets', path, 'strategy'], message: `the ${entry.kind} target "${s.target}" rotates with ${narrowed.strategies.join(' or ')} only, not "${strategy}": ${narrowed.why}` });
      continue;
    }
    // No "; " in the message: it separates the issues of one error.
    const which = s.strategy === undefined ? `the default "${strategy}" (strategy: is not set)` : `"${strategy}"`;
    out.push({ path: ['secrets', path, 'strategy'], message: `the ${entry.kind} target "${s.target}" rotates with ${entry.strategies.join(' or ')}, not ${which}` });
  }
  return out;
}
