/**
 * Runs one command for the exec consumer (and the script target): no shell, its own process
 * group, stdout discarded, the tail of stderr kept, and `stdin` written to it when given (else it
 * reads nothing). On timeout or cancellation the whole process group gets SIGKILL, so
 * whatever the command started (a shell's children, a backgrounded helper) dies with it.
 *
 * When the command exits but something it left running still holds stderr open, the result is
 * returned shortly after the exit rather than waiting for that process.
 *
 * @example
 * ```ts
 * const r = await runCommand({ argv: ['/bin/true'], env: { PATH: '/usr/bin:/bin' }, timeoutMs: 5000, signal, keepStderrBytes: 4096 });
 * r.code; // 0
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunOptions {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** How many trailing bytes of stderr to keep. */
  readonly keepStderrBytes: number;
  /** Written to the command's standard input, which is then closed; without it stdin is /dev/null. */
  readonly stdin?: string | undefined;
}

export interface RunResult {
  /** Exit code, or null when a signal ended the process or it did not start. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The errno code when the command could not be started (ENOENT, EACCES, ...). */
  readonly startError: string | null;
  readonly stderrTail: Buffer;
  /** True when stderr was longer than the kept tail. */
  readonly stderrTruncated: boolean;
}

/** Time allowed for stderr to drain after the command exits, when a leftover process holds it open. */
const DRAIN_AFTER_EXIT_MS = 200;

export function runCommand(options: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    let tail = Buffer.alloc(0);
    let truncated = false;
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    if (options.signal.aborted) {
      // Already cancelled: an 'abort' event will not come again, so never start the command.
      resolve({ code: null, signal: null, timedOut: false, aborted: true, startError: null, stderrTail: Buffer.alloc(0), stderrTruncated: false });
      return;
    }
    const [command, ...args] = options.argv;
    let child: ChildProcess;
    try {
      child = spawn(command!, args, {
        env: options.env,
        cwd: options.cwd,
        detached: true,
        shell: false,
        stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
      });
    } catch (e) {
      // Node's message for a rejected argument may quote it: keep only the code.
      const code = (e as NodeJS.ErrnoException).code;
      resolve({ code: null, signal: null, timedOut: false, aborted: false, startError: typeof code === 'string' ? code : 'invalid arguments', stderrTail: Buffer.alloc(0), stderrTruncated: false });
      return;
    }

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });

    const finish = (startError: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      options.signal.removeEventListener('abort', onAbort);
      child.stderr?.destroy();
      resolve({
        code: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        aborted,
        startError,
        stderrTail: tail,
        stderrTruncated: truncated,
      });
    };

    if (options.stdin !== undefined && child.stdin) {
      // A command that exits without reading all of it closes the pipe: EPIPE is its business, not a crash.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin);
    }

    child.stderr?.on('data', (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > options.keepStderrBytes) {
        tail = tail.subarray(tail.length - options.keepStderrBytes);
        truncated = true;
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Only a failure to start reaches here (kill errors are caught above).
      if (exit === null) finish(typeof e.code === 'string' ? e.code : 'unknown error');
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      drainTimer = setTimeout(() => finish(null), DRAIN_AFTER_EXIT_MS);
    });
    child.on('close', () => finish(null));
  });
}
