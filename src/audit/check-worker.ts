/**
 * The worker thread of the background check before a checkpoint (./background-check.ts): on its
 * own read-only connection to the SQLite state file, it reads the events from the last checkpoint
 * to the state about to be signed and checks them as the append that signs would (./uncovered.ts:
 * each row's seq, leaf hash and MAC, and that they lead to that state). It answers each request
 * with `ok` or the first problem's code and message; it never writes.
 *
 * The audit MAC key comes with each request and stays inside this process.
 *
 * @example
 * ```ts
 * new Worker(new URL('./check-worker.js', import.meta.url), { workerData: { file } });
 * ```
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { isKeyturnError } from '../core/errors.js';
import { arrayRows } from '../state/sqlite-adapter.js';
import { CompactRange } from './merkle.js';
import { eachLeafCheckPageSync } from './repo.js';
import { assertLeadsTo, checkRows, startWalk } from './uncovered.js';

/** One check: the rows [from, target.size), from the compact range at `from`. */
export interface CheckRequest {
  readonly id: number;
  readonly from: number;
  /** The compact range at `from` (empty for 0), proven by that checkpoint's signature. */
  readonly fromNodes: readonly Uint8Array[];
  readonly key: Uint8Array;
  readonly target: { readonly size: number; readonly prev: string; readonly nodes: readonly Uint8Array[] };
}

export interface CheckAnswer {
  readonly id: number;
  readonly error?: { readonly code: string; readonly message: string };
}

const db = new DatabaseSync((workerData as { file: string }).file, { readOnly: true, timeout: 5000 });
const allArrays = arrayRows(db);

function check(req: CheckRequest): void {
  const key = Buffer.from(req.key.buffer, req.key.byteOffset, req.key.length);
  const walk = startWalk(req.from, req.from === 0 ? undefined : CompactRange.restore(req.from, req.fromNodes));
  eachLeafCheckPageSync(allArrays, req.from, req.target.size, (rows) => checkRows(walk, rows, key));
  assertLeadsTo(walk, req.target);
}

parentPort!.on('message', (req: CheckRequest) => {
  try {
    check(req);
    parentPort!.postMessage({ id: req.id } satisfies CheckAnswer);
  } catch (e) {
    const error = isKeyturnError(e) ? { code: e.code, message: e.message } : { code: 'KT_DATABASE_UNAVAILABLE', message: `the audit log could not be read: ${(e as Error).message}` };
    parentPort!.postMessage({ id: req.id, error } satisfies CheckAnswer);
  }
});
