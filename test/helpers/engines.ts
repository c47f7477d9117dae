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
import { Engine, type BoundaryHook, type EngineOptions } from '../../src/engine/engine.js';
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
