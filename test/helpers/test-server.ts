/**
 * Test helper: a server process this test process starts on first use and shares (slapd in
 * ./slapd.ts, a Samba DC in ./samba-dc.ts). `sharedServer(start)` gives an `acquire()`: the first
 * call starts the server, each holder gets its fields and a `release()`, the last release stops it
 * (SIGTERM, SIGKILL after a bound) and removes its folder; a process that exits without releasing
 * kills it. `pollUntil` waits for a started child to answer, with a bound.
 *
 * @example
 * ```ts
 * const acquire = sharedServer(async () => ({ server: { url }, child, remove }));
 * const server = await acquire(); // { url, release }
 * await server.release();
 * ```
 */
import type { ChildProcess } from 'node:child_process';

/** How long a server gets to exit after SIGTERM. */
const STOP_MS = 10_000;

/** A started server: what holders see, its process, and how to remove its folder. */
export interface Running<T> {
  server: T;
  child: ChildProcess;
  remove(): void;
}

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

/** SIGKILLs the child, waits for it, removes its folder (a start that failed). */
export async function discard(child: ChildProcess, remove: () => void): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
  remove();
}

/** One server for this process, started by `start` on the first `acquire()` and stopped after the last release. */
export function sharedServer<T extends object>(start: () => Promise<Running<T>>): () => Promise<T & { release(): Promise<void> }> {
  let running: Promise<Running<T>> | null = null;
  let holders = 0;
  let killOnExit: (() => void) | null = null;
  return async () => {
    holders++;
    running ??= start();
    let r: Running<T>;
    try {
      r = await running;
    } catch (e) {
      holders--;
      running = null;
      throw e;
    }
    if (!killOnExit) {
      killOnExit = () => r.child.kill('SIGKILL');
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
        r.child.kill('SIGTERM');
        await Promise.race([exited(r.child), new Promise((resolve) => setTimeout(resolve, STOP_MS).unref())]);
        if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
        await exited(r.child);
        r.remove();
      },
    };
  };
}
