/**
 * The check before a checkpoint, in a worker thread (./check-worker.ts), for a process that
 * appends all the time (`keyturn server`): the events since the last checkpoint are read back and
 * checked on the worker's own read-only connection to the SQLite file, and the appends go on
 * meanwhile. log.ts then signs the checkpoint at the size that was checked, in a transaction of
 * its own (docs/audit.md, "Checkpoints signed after a background check").
 *
 * A request that cannot be answered (the worker failed or exited) is rejected with
 * KT_AUDIT_WRITE_FAILED, and the check stops being offered (`usable` turns false): the log then
 * checks in the appending transaction, as without it.
 *
 * @example
 * ```ts
 * const bg = BackgroundCheck.start('/var/lib/keyturn/keyturn.db');
 * await bg?.check({ from: 1000, fromNodes, key, target: { size: 2000, prev, nodes } });
 * await bg?.stop();
 * ```
 */
import { Worker } from 'node:worker_threads';
import { KeyturnError, type ErrorCode } from '../core/errors.js';
import { workerScript } from '../core/worker-script.js';
import type { CheckAnswer, CheckRequest } from './check-worker.js';

export class BackgroundCheck {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  #next = 1;
  #broken = false;
  #stopping: Promise<void> | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.unref();
    worker.on('message', (answer: CheckAnswer) => {
      const waiter = this.#waiting.get(answer.id);
      if (waiter === undefined) return;
      this.#waiting.delete(answer.id);
      if (answer.error === undefined) waiter.resolve();
      else waiter.reject(new KeyturnError(answer.error.code as ErrorCode, answer.error.message));
    });
    const fail = (why: string): void => {
      this.#broken = true;
      for (const w of this.#waiting.values()) w.reject(new KeyturnError('KT_AUDIT_WRITE_FAILED', `the background audit check stopped: ${why}`));
      this.#waiting.clear();
    };
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => fail(`its thread exited (${code})`));
  }

  /** A worker checking `file` (a SQLite state file); null when the worker script is not built. */
  static start(file: string): BackgroundCheck | null {
    const script = workerScript('audit', 'check-worker.js', import.meta.url);
    if (script === undefined) return null;
    // No inherited flags: the parent's (--input-type, --eval) may not apply to a worker's file.
    return new BackgroundCheck(new Worker(script, { workerData: { file }, execArgv: [] }));
  }

  /** False once the worker failed or was stopped. */
  get usable(): boolean {
    return !this.#broken && this.#stopping === undefined;
  }

  /** Resolves when the rows lead to `target`; rejects with the first problem (its KT_ code). */
  check(request: Omit<CheckRequest, 'id'>): Promise<void> {
    if (!this.usable) return Promise.reject(new KeyturnError('KT_AUDIT_WRITE_FAILED', 'the background audit check is stopped'));
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // While a check is under way the worker keeps the process alive, so an answer is not lost at exit.
      this.#worker.ref();
      this.#worker.postMessage({ ...request, id } satisfies CheckRequest);
    }).finally(() => {
      if (this.#waiting.size === 0 && this.#stopping === undefined) this.#worker.unref();
    });
  }

  /** Ends the worker (a check under way is rejected). */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#worker.terminate().then(() => undefined));
  }
}
