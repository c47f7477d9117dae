/**
 * The generic target: app secrets with no outside system (session keys, signing salts). The
 * `simple` strategy only stores the new value; `set` and `test` have nothing to change or probe,
 * so they succeed (after checking the strategy), and the consumers carry the value to its users.
 *
 * @example
 * ```ts
 * const target = new GenericTarget();
 * await target.set({ ...ctx, strategy: 'simple' }, next, current); // no-op
 * ```
 */
import { assertStrategy } from '../checks.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { genericStrategies } from './config.js';

export class GenericTarget implements Target {
  readonly kind = 'generic';
  readonly strategies: readonly Strategy[] = genericStrategies;
  readonly passwordLimits: PasswordLimits = {};

  async set(ctx: TargetContext, _next: Credential, _current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
  }

  async test(ctx: TargetContext, _cred: Credential): Promise<void> {
    assertStrategy(this, ctx.strategy);
  }
}
