/**
 * Engines over a test's Keyturn with a hook at the step boundaries: a crash (throw), a target
 * that goes down (through a TCP proxy), whatever the test needs there. One place for the engine
 * wiring the outage, stale-run and simple engine tests share.
 *
 * @example
 * ```ts
 * const run = await engineWith(kt, downBefore('set', proxy)).rotate(path, { wait: true });
 * ```
 */
import { KeyturnError } from '../../src/core/errors.js';
import { AppliedConfig, type AppliedTarget } from '../../src/engine/applied.js';
import { Engine, type BoundaryHook, type EngineOptions } from '../../src/engine/engine.js';
import type { Target } from '../../src/targets/target.js';
import type { Step } from '../../src/engine/runs-repo.js';
import type { Keyturn } from '../../src/runtime/keyturn.js';
import type { TcpProxy } from './tcp-proxy.js';

/** An engine over `kt` whose step boundaries call `onBoundary`; `options` replace any part (applied config, clock, random, ...). */
export function engineWith(kt: Keyturn, onBoundary?: BoundaryHook, options: Partial<EngineOptions> = {}): Engine {
  return new Engine({ state: kt.state, store: kt.store, applied: kt.applied, clock: kt.clock, log: kt.log, ...(onBoundary ? { onBoundary } : {}), ...options });
}

/** A boundary hook that takes the target down (the proxy) just before `step` runs. */
export function downBefore(step: Step, proxy: TcpProxy): BoundaryHook {
  return (s, when) => {
    if (s === step && when === 'before') void proxy.down();
  };
}

/** The real targets, whose first `test` call (a run's test step) is refused: the run rolls back with the target up. */
class RefusedOnce extends AppliedConfig {
  private refused = false;
  override async target(name: string): Promise<AppliedTarget> {
    const applied = await super.target(name);
    const t = applied.target;
    const target: Target = Object.create(t) as Target;
    target.test = async (...args: Parameters<Target['test']>) => {
      if (!this.refused) {
        this.refused = true;
        throw new KeyturnError('KT_TARGET_AUTH_FAILED', 'refused once by the test');
      }
      return t.test(...args);
    };
    return { ...applied, target };
  }
}

/** An applied config over `state` whose targets refuse the first login test (a run's test step), then behave. */
export function refusedOnce(state: Keyturn['state']): AppliedConfig {
  return new RefusedOnce(state);
}
