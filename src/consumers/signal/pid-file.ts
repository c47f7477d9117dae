/**
 * Reading a pid file and finding out whether the process behind it is alive.
 *
 * The file's content is never echoed in an error: a misconfigured `pidFile` could point at a
 * file that holds a secret. A zombie (exited, not yet reaped) counts as dead, since a signal to
 * it does nothing; on systems without /proc that check is skipped.
 *
 * @example
 * ```ts
 * const pid = await readPidFile('signal /run/app.pid', '/run/app.pid');
 * assertAlive('signal /run/app.pid', pid);
 * ```
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { consumerFailed, fsReason } from '../failure.js';

/** More than any pid with a newline; a bigger file is not a pid file. */
const MAX_PID_FILE_BYTES = 64;

/** Reads the process id from `pidFile`, or throws KT_CONSUMER_FAILED saying why it cannot. */
export async function readPidFile(describe: string, pidFile: string): Promise<number> {
  let bytes: Buffer;
  try {
    const handle = await open(pidFile, 'r');
    try {
      const buf = Buffer.alloc(MAX_PID_FILE_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      bytes = buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw consumerFailed(describe, `the pid file ${pidFile} does not exist (is the process running?)`);
    throw consumerFailed(describe, `could not read the pid file (${fsReason(e)})`);
  }
  if (bytes.length > MAX_PID_FILE_BYTES) throw consumerFailed(describe, `the pid file ${pidFile} is larger than ${MAX_PID_FILE_BYTES} bytes, so it does not hold a process id`);
  const trimmed = bytes.toString('utf8').trim();
  if (!/^[0-9]{1,10}$/.test(trimmed)) throw consumerFailed(describe, `the pid file ${pidFile} does not hold a process id (a decimal integer)`);
  const pid = Number(trimmed);
  if (pid <= 1) throw consumerFailed(describe, `the pid file ${pidFile} names process ${pid}, which Keyturn never signals`, { pid });
  if (pid === process.pid) throw consumerFailed(describe, `the pid file ${pidFile} names Keyturn's own process ${pid}`, { pid });
  return pid;
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
