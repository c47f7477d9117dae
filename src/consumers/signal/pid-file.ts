/**
 * Reading a pid file and finding out whether the process behind it is alive.
 *
 * The file's content is never echoed in an error: a misconfigured `pidFile` could point at a
 * file that holds a secret. Only a regular file is read, and reading never blocks: a FIFO or a
 * device at that path is refused (KT_CONSUMER_PATH_UNSAFE), and a read that outlasts the
 * delivery's signal is given up (KT_CONSUMER_TIMEOUT). A zombie (exited, not yet reaped) counts as dead, since a signal to
 * it does nothing; on systems without /proc that check is skipped.
 *
 * @example
 * ```ts
 * const pid = await readPidFile('signal /run/app.pid', '/run/app.pid', ctx.signal);
 * assertAlive('signal /run/app.pid', pid);
 * ```
 */
import { constants, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isKeyturnError } from '../../core/errors.js';
import { boundBy, consumerFailed, consumerPathUnsafe, fsReason } from '../failure.js';

/** More than any pid with a newline; a bigger file is not a pid file. */
const MAX_PID_FILE_BYTES = 64;

/**
 * Opening never blocks (O_NONBLOCK: a FIFO opens at once instead of waiting for a writer), and
 * the file is checked to be a regular file with fstat on the open handle before any read.
 */
const PID_FILE_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Reads the process id from `pidFile`, or throws KT_CONSUMER_FAILED saying why it cannot
 * (KT_CONSUMER_PATH_UNSAFE for something other than a regular file, KT_CONSUMER_TIMEOUT when
 * the read outlasts `signal`).
 */
export async function readPidFile(describe: string, pidFile: string, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const bytes = await boundBy(signal, describe, `reading the pid file ${pidFile}`, readSmallRegularFile(describe, pidFile));
  if (bytes.length > MAX_PID_FILE_BYTES) throw consumerFailed(describe, `the pid file ${pidFile} is larger than ${MAX_PID_FILE_BYTES} bytes, so it does not hold a process id`);
  const trimmed = bytes.toString('utf8').trim();
  if (!/^[0-9]{1,10}$/.test(trimmed)) throw consumerFailed(describe, `the pid file ${pidFile} does not hold a process id (a decimal integer)`);
  const pid = Number(trimmed);
  if (pid <= 1) throw consumerFailed(describe, `the pid file ${pidFile} names process ${pid}, which Keyturn never signals`, { pid });
  if (pid === process.pid) throw consumerFailed(describe, `the pid file ${pidFile} names Keyturn's own process ${pid}`, { pid });
  return pid;
}

async function readSmallRegularFile(describe: string, pidFile: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(pidFile, PID_FILE_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw consumerFailed(describe, `the pid file ${pidFile} does not exist (is the process running?)`);
    throw consumerFailed(describe, `could not read the pid file (${fsReason(e)})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw consumerPathUnsafe(describe, `the pid file ${pidFile} is not a regular file (a FIFO, device or folder is never read)`);
    const buf = Buffer.alloc(MAX_PID_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } catch (e) {
    if (isKeyturnError(e)) throw e;
    throw consumerFailed(describe, `could not read the pid file (${fsReason(e)})`);
  } finally {
    await handle.close();
  }
}

/** Throws KT_CONSUMER_FAILED unless process `pid` exists, is not a zombie, and may be signalled by us. */
export function assertAlive(describe: string, pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw consumerFailed(describe, `process ${pid} from the pid file is not running (stale pid file?)`, { pid });
    if (code === 'EPERM') throw consumerFailed(describe, `process ${pid} exists but Keyturn is not allowed to signal it (EPERM)`, { pid });
    throw consumerFailed(describe, `could not probe process ${pid} (${String(code)})`, { pid });
  }
  if (isZombie(pid)) throw consumerFailed(describe, `process ${pid} from the pid file has exited (zombie)`, { pid });
}

/** True when /proc says `pid` is a zombie; false when it is not or /proc cannot tell. */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Format: "pid (comm) S ...": the state follows the last ")" (comm may contain ")").
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
