/**
 * Test helper: whether a process still runs, for tests that check a command and what it started
 * were killed.
 *
 * @example
 * ```ts
 * await expect.poll(() => alive(pid), { timeout: 10_000, interval: 20 }).toBe(false);
 * ```
 */
import { readFileSync } from 'node:fs';

/** True while `pid` runs (a zombie, which no one may be left to reap here, counts as dead). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
