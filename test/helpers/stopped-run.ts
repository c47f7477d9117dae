/**
 * A run stopped at a step boundary, as a SIGTERM would leave it: the engine is asked to stop right
 * after `create`, so the run is `retrying` at `set` with its pending version stored. For tests of
 * resume and cancel, locally and through the server.
 *
 * @example
 * ```ts
 * const run = await stoppedRun(kt, 'app/session'); // { status: 'retrying', step: 'set', ... }
 * ```
 */
import { Engine } from '../../src/engine/engine.js';
import type { Run } from '../../src/engine/runs-repo.js';
import type { Keyturn } from '../../src/runtime/keyturn.js';

export async function stoppedRun(kt: Keyturn, path: string): Promise<Run> {
  const engine: Engine = new Engine({
    state: kt.state,
    store: kt.store,
    applied: kt.applied,
    clock: kt.clock,
    log: kt.log,
    onBoundary: (step, when) => {
      if (step === 'create' && when === 'after') engine.requestStop();
    },
  });
  return engine.rotate(path);
}
