/**
 * `keyturn server`'s stage reads answered from a cache while the SQLite home is unchanged
 * (src/stores/embedded/staged-read.ts over src/state/read-cache.ts), next to the CLI writing the
 * same home: a value stored, rolled back or deleted by another process, or through the server
 * itself, is what the next read serves, though the opened value is kept too (KEYTURN_VALUE_CACHE_SECONDS,
 * default 30 s: test/value-cache.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { apiHome } from './helpers/api-home.js';
import { runCli, SPAWN_MS, startCli } from './helpers/cli.js';

describe('cached stage reads', () => {
  it('serve what the CLI (another process, or another connection) stored, rolled back or deleted, at the next read', { timeout: 4 * SPAWN_MS }, async () => {
    const h = await apiHome({ tokens: { admin: ['admin'] }, secrets: [['app/db', 'v1']] });
    try {
      const read = async (): Promise<{ status: number; value?: string; number?: number }> => {
        const r = await h.call('GET', '/v1/secrets/app/db', 'admin');
        const body = r.json() as { value?: string; number?: number };
        return { status: r.statusCode, ...(body.value === undefined ? {} : { value: body.value, number: body.number }) };
      };
      expect(await read()).toEqual({ status: 200, value: 'v1', number: 1 });
      expect(await read()).toEqual({ status: 200, value: 'v1', number: 1 });
      const cli = async (argv: string[]): Promise<void> => {
        const r = await startCli(argv, { env: h.env });
        expect(r.code, r.stderr).toBe(0);
      };
      await cli(['secret', 'put', 'app/db', '--value', 'v2']);
      expect(await read()).toEqual({ status: 200, value: 'v2', number: 2 });
      await cli(['secret', 'rollback', 'app/db']);
      expect(await read()).toEqual({ status: 200, value: 'v1', number: 1 });
      // Another connection in this process (runCli opens the home again).
      expect((await runCli(['secret', 'put', 'app/db', '--value', 'v3'], { env: h.env })).code).toBe(0);
      expect(await read()).toEqual({ status: 200, value: 'v3', number: 3 });
      // The server's own write, on its own connection.
      expect((await h.call('PUT', '/v1/secrets/app/db', 'admin', { value: 'v4' })).statusCode).toBe(200);
      expect(await read()).toEqual({ status: 200, value: 'v4', number: 4 });
      await cli(['secret', 'rm', 'app/db']);
      expect((await read()).status).not.toBe(200);
      // Each value the server sent has its read event.
      const events = (await h.kt.audit.tail(200)).map((r) => JSON.parse(r.leaf) as { action: string; outcome: string; actor: string });
      expect(events.filter((e) => e.action === 'secret.read' && e.outcome === 'success' && e.actor === `token:${h.ids.admin}`)).toHaveLength(6);
    } finally {
      await h.close();
    }
  });
});
