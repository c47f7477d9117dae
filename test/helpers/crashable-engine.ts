/**
 * An in-process `kill -9` for rotation tests: an engine over a test's Keyturn that counts the
 * moments of a rotation (every step boundary, and the return of every target `set`/`test` and
 * store `put`/`moveStage`: the instants just after an outside effect, before the engine journals
 * it) and, at the chosen one, hangs forever on a promise that never settles. The crashed
 * "process" therefore never writes again. `bury()` then leaves what a SIGKILL leaves: its target
 * connections are cut and its lease row names a process of this host that is gone (a pid that
 * has exited), so the next worker takes the lease over at once, as after a real kill.
 *
 * @example
 * ```ts
 * const c = crashableEngine(kt, 7);            // hang at the 7th moment (null: never)
 * const end = await c.run((engine) => engine.rotate('app/db'));
 * if (end.kind === 'crashed') await c.bury();
 * ```
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { engineAuditPort } from '../../src/audit/hooks.js';
import { defaultContext } from '../../src/audit/context.js';
import { AppliedConfig, type AppliedTarget } from '../../src/engine/applied.js';
import { Engine } from '../../src/engine/engine.js';
import type { Keyturn } from '../../src/runtime/keyturn.js';
import type { SecretStore } from '../../src/stores/store.js';
import type { Target } from '../../src/targets/target.js';

/** A pid of this host that no longer runs: `true`, started once and reaped. */
let deadPid: number | undefined;
export function deadLocalPid(): number {
  deadPid ??= spawnSync('true').pid;
  return deadPid;
}

/** How an engine call ended: returned, threw, or hung at the crash moment. */
export type CallEnd<T> = { kind: 'returned'; value: T } | { kind: 'threw'; error: unknown } | { kind: 'crashed'; moment: string };

export interface CrashableEngine {
  readonly engine: Engine;
  /** Runs `fn` on the engine until it settles or the engine hangs at the crash moment. */
  run<T>(fn: (engine: Engine) => Promise<T>): Promise<CallEnd<T>>;
  /** The moments seen so far (`set:before`, `target.set`, `store.put`, ...). */
  readonly moments: readonly string[];
  /** After a crash: cut its target connections and hand its lease to a dead local pid. Idempotent. */
  bury(): Promise<void>;
  /** Without a crash: close its target connections. */
  close(): Promise<void>;
}

const never = new Promise<never>(() => undefined);

/** An applied config whose targets pass every `set` and `test` through `after` once they return. */
class HookedApplied extends AppliedConfig {
  constructor(
    state: Keyturn['state'],
    private readonly after: (what: string) => Promise<void>,
  ) {
    super(state);
  }

  override async target(name: string): Promise<AppliedTarget> {
    const applied = await super.target(name);
    const t = applied.target;
    const after = this.after;
    const target: Target = Object.create(t) as Target;
    Object.assign(target, {
      set: async (...args: Parameters<Target['set']>) => {
        await t.set(...args);
        await after('target.set');
      },
      test: async (...args: Parameters<Target['test']>) => {
        await t.test(...args);
        await after('target.test');
      },
    });
    return { ...applied, target };
  }
}

/** An engine over `kt` that hangs forever at its `crashAt`-th moment (1-based; null: never). */
export function crashableEngine(kt: Keyturn, crashAt: number | null): CrashableEngine {
  const moments: string[] = [];
  let signal!: (moment: string) => void;
  const crashed = new Promise<string>((resolve) => (signal = resolve));
  let isCrashed = false;
  const moment = async (what: string): Promise<void> => {
    if (isCrashed) return never;
    moments.push(what);
    if (crashAt !== null && moments.length === crashAt) {
      isCrashed = true;
      signal(what);
      return never;
    }
  };
  const inner = kt.store.withoutReadAudit?.() ?? kt.store;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'put' || prop === 'moveStage') {
        return async (...args: unknown[]) => {
          const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await moment(`store.${prop}`);
          return r;
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as SecretStore;
  const applied = new HookedApplied(kt.state, moment);
  const engine = new Engine({
    state: kt.state,
    store,
    applied,
    clock: kt.clock,
    log: kt.log,
    audit: engineAuditPort(kt.audit, defaultContext()),
    onBoundary: (step, when) => moment(`${step}:${when}`),
  });
  let buried = false;
  return {
    engine,
    moments,
    run: async <T>(fn: (engine: Engine) => Promise<T>): Promise<CallEnd<T>> =>
      Promise.race([
        fn(engine).then(
          (value): CallEnd<T> => ({ kind: 'returned', value }),
          (error: unknown): CallEnd<T> => ({ kind: 'threw', error }),
        ),
        crashed.then((m): CallEnd<T> => ({ kind: 'crashed', moment: m })),
      ]),
    bury: async () => {
      if (buried) return;
      buried = true;
      await applied.close();
      await kt.state.db
        .updateTable('leases')
        .set({ holder: `${hostname()}:${deadLocalPid()}:killed` })
        .where('holder', '=', engine.leases.holder)
        .execute();
    },
    close: () => applied.close(),
  };
}
