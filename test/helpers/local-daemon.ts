/**
 * What the test helpers that run a server of their own (./slapd.ts, ./kdc.ts, ./samba-dc.ts)
 * share: a free loopback port, waiting for a child to exit or to answer (`pollUntil`), stopping
 * children (SIGTERM, then SIGKILL after a bound), and one instance per process shared by
 * reference count: the first `acquire()` starts it, the last `release()` stops it, and a process
 * that exits without releasing kills it. No vitest import: the rotation benchmark loads the
 * fixtures, and so this file.
 *
 * @example
 * ```ts
 * const shared = sharedDaemon(start);          // start(): Promise<{ server, children, remove }>
 * const kdc = await shared.acquire();          // { ...server, release() }
 * await kdc.release();
 * ```
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A port nobody listens on at 127.0.0.1 (bound, read, released). Not the Target contract's
 * `unusedPort`: that module imports vitest.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `child` has exited (at once if it has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/**
 * Polls `answers` every `everyMs` until it is true, the child exits, it fails to spawn, or `ms`
 * pass; true when it answered.
 */
export async function pollUntil(child: ChildProcess, answers: () => Promise<boolean>, ms: number, everyMs: number): Promise<boolean> {
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = performance.now() + ms;
  while (child.exitCode === null && performance.now() < deadline) {
    if (await answers()) return true;
    await Promise.race([new Promise((r) => setTimeout(r, everyMs)), spawnError]);
  }
  return false;
}

/** How long children get to exit after SIGTERM before SIGKILL. */
const STOP_MS = 10_000;

/** SIGTERM to each child, SIGKILL to those still running after STOP_MS; resolves once all have exited. */
export async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  for (const c of children) c.kill('SIGTERM');
  await Promise.race([Promise.all(children.map(exited)), new Promise((resolve) => setTimeout(resolve, STOP_MS).unref())]);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
}

/** A started server: what holders see, its processes, and how to remove its folder. */
export interface Started<S> {
  readonly server: S;
  readonly children: readonly ChildProcess[];
  remove(): void;
}

/** One instance of a server per process, shared by reference count (see the module comment). */
export function sharedDaemon<S extends object>(start: () => Promise<Started<S>>): { acquire(): Promise<S & { release(): Promise<void> }> } {
  let running: Promise<Started<S>> | null = null;
  let holders = 0;
  let killOnExit: (() => void) | null = null;
  return {
    async acquire() {
      holders++;
      running ??= start();
      let r: Started<S>;
      try {
        r = await running;
      } catch (e) {
        holders--;
        running = null;
        throw e;
      }
      if (!killOnExit) {
        killOnExit = () => r.children.forEach((c) => c.kill('SIGKILL'));
        process.once('exit', killOnExit);
      }
      let released = false;
      return {
        ...r.server,
        async release() {
          if (released) return;
          released = true;
          if (--holders > 0) return;
          running = null;
          if (killOnExit) process.removeListener('exit', killOnExit);
          killOnExit = null;
          await stopChildren(r.children);
          r.remove();
        },
      };
    },
  };
}
