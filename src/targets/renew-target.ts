/**
 * The base of a target that only rotates with `renew` (a CA issuing certificates, a signing-key
 * maker, an HSM): the engine never calls `set` or `test` on it (the `renew` strategy uses the
 * target's `renewer` instead), so they refuse, naming the strategy to use.
 *
 * @example
 * ```ts
 * export class InternalCaTarget extends RenewOnlyTarget {
 *   readonly kind = 'internal-ca';
 *   readonly renewer = new InternalCaRenewer(config);
 * }
 * ```
 */
import { assertStrategy } from './checks.js';
import type { Credential, PasswordLimits, Renewer, Strategy, Target, TargetContext } from './target.js';

export const renewStrategies = ['renew'] as const satisfies readonly Strategy[];

export abstract class RenewOnlyTarget implements Target {
  abstract readonly kind: string;
  abstract readonly renewer: Renewer;
  readonly strategies: readonly Strategy[] = renewStrategies;
  readonly passwordLimits: PasswordLimits = {};

  async set(ctx: TargetContext, _next: Credential, _current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
  }

  async test(ctx: TargetContext, _cred: Credential): Promise<void> {
    assertStrategy(this, ctx.strategy);
  }
}
