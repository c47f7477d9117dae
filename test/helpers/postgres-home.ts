/**
 * A test's Keyturn home with one managed credential on the password-auth PostgreSQL cluster,
 * reached through a TCP proxy the test can take down (or directly), opened in-process and closed
 * after each test: the setup the outage and stale-run tests share.
 *
 * @example
 * ```ts
 * const home = usePostgresHome();
 * it('...', async () => {
 *   const h = await home.open({ strategy: 'single-user', secretExtra: RETRY });
 *   const run = await h.engineDownAt('set').rotate(h.fx.path);
 *   expect(await h.fx.logsIn((await h.stored())!)).toBe(true);
 * });
 * ```
 */
import { afterEach } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Step } from '../../src/engine/runs-repo.js';
import { openKeyturn, type Keyturn } from '../../src/runtime/keyturn.js';
import type { Credential, Strategy } from '../../src/targets/target.js';
import { downBefore, engineWith } from './engines.js';
import { PG_AUTH_PORT } from './pg-auth.js';
import { rotationFixture, type RotationFixture } from './rotation-fixtures.js';
import { tcpProxy, type TcpProxy } from './tcp-proxy.js';

export interface PostgresHome {
  fx: RotationFixture;
  kt: Keyturn;
  /** Null when opened with `viaProxy: false`. */
  proxy: TcpProxy | null;
  /** An engine whose target goes down (the proxy) just before `step` runs. */
  engineDownAt(step: Step): Engine;
  /** The stored value at a stage, as a credential (null when the stage is not set). */
  stored(stage?: 'current' | 'pending' | 'previous'): Promise<Credential | null>;
}

export function usePostgresHome(): { open(options?: { strategy?: Strategy; viaProxy?: boolean; secretExtra?: string }): Promise<PostgresHome> } {
  let open: { fx?: RotationFixture; kt?: Keyturn; proxy?: TcpProxy | null } = {};
  afterEach(async () => {
    const { fx, kt, proxy } = open;
    open = {};
    await kt?.close();
    await proxy?.close();
    await fx?.close();
  });
  return {
    open: async ({ strategy = 'single-user', viaProxy = true, secretExtra = '' } = {}) => {
      const proxy = viaProxy ? await tcpProxy(PG_AUTH_PORT) : null;
      open.proxy = proxy;
      const fx = await rotationFixture('postgres', strategy, { ...(proxy ? { port: proxy.port } : {}), secretExtra });
      open.fx = fx;
      const kt = await openKeyturn(loadSettings({ ...fx.env, KEYTURN_LOG_LEVEL: 'silent' }));
      open.kt = kt;
      return {
        fx,
        kt,
        proxy,
        engineDownAt: (step) => {
          if (!proxy) throw new Error('engineDownAt needs a home opened through the proxy');
          return engineWith(kt, downBefore(step, proxy));
        },
        stored: async (stage = 'current') => ((await kt.store.get(fx.path, { stage }))?.value ?? null) as Credential | null,
      };
    },
  };
}
