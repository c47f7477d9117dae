/**
 * SIGTERM while a rotation runs through `keyturn server` (a real process): the server takes no new
 * connection, lets the request under way end, the run stops at a step boundary (or finishes), the
 * caller gets its answer, and the process exits 0. The run is never left in the middle of a step:
 * it is done, or retrying at a boundary and finished by the next `rotate`. An answer given while
 * draining closes its connection, so an idle keep-alive connection does not hold the exit for
 * fastify's keep-alive timeout (72 s: this test took that long before).
 *
 * The consumer is a command that waits for a file the test writes, so the SIGTERM lands while a
 * step is under way without any timing guess.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, SPAWN_MS, startServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

describe('keyturn server on SIGTERM with a rotation under way', () => {
  it('answers the request, stops the run at a step boundary, exits 0; the next rotate finishes it', { timeout: 6 * SPAWN_MS }, async () => {
    const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
    expect((await runCli(['init'], { env })).code).toBe(0);
    const started = join(tmp.dir, 'started');
    const go = join(tmp.dir, 'go');
    const config = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(
      config,
      `version: 1
secrets:
  app/slow:
    type: app-secret
    password: { length: 32 }
    consumers:
      - type: exec
        argv: [/bin/sh, -c, 'touch "$STARTED"; while [ ! -f "$GO" ]; do sleep 0.02; done']
        env: { STARTED: "${started}", GO: "${go}" }
        timeoutMs: 120000
`,
    );
    const applied = await runCli(['apply', '-f', config], { env });
    expect(applied.code, applied.stderr).toBe(0);
    // apply may deliver the first value: let its consumer pass, then start from a clean slate.
    writeFileSync(go, '');
    const token = (await runCli(['token', 'create', '--policy', 'admin', '-q'], { env })).stdout.trim();
    rmSync(go, { force: true });
    rmSync(started, { force: true });

    const { child, listening, exited } = await startServerProcess(env);

    const answer = fetch(`${listening}/v1/rotations/app/slow`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    // The consumer step is under way.
    await vi.waitFor(() => expect(existsSync(started)).toBe(true), { timeout: 4 * SPAWN_MS, interval: 20 });
    child.kill('SIGTERM');
    // A new connection is refused while the server drains (or it has already closed its listener).
    await vi.waitFor(
      async () =>
        expect(
          await fetch(`${listening}/healthz`).then(
            () => 'answered',
            () => 'refused',
          ),
        ).toBe('refused'),
      { timeout: SPAWN_MS, interval: 20 },
    );
    writeFileSync(go, '');
    const r = await answer;
    expect(r.status).toBe(200);
    const run = (await r.json()) as { id: string; status: string };
    expect(await exited).toBe(0);

    // Never mid-step: done, or stopped at a boundary (retrying) and finished by the next rotate.
    const shown = JSON.parse((await runCli(['runs', 'show', run.id, '--json'], { env })).stdout) as { status: string; steps: Array<{ status: string }> };
    expect(['done', 'retrying']).toContain(shown.status);
    expect(shown.steps.filter((s) => s.status === 'running')).toEqual([]);
    if (shown.status === 'retrying') {
      const again = await runCli(['rotate', 'app/slow', '--json'], { env });
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as { id: string; status: string }).status).toBe('done');
    }
  });
});
