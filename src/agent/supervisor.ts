/**
 * The program the agent supervises (`exec` in agent.yaml, like Vault Agent's process
 * supervisor): started once every template has been rendered, so it never starts without its
 * files; restarted (or sent `exec.signal`, or left alone, by `exec.onChange`) after a real change
 * of a rendered file; started again with a growing delay (1 s doubling to 30 s, reset once it ran
 * 30 s) when it exits on its own; stopped with `exec.stopSignal`, then SIGKILL to its process
 * group after `exec.stopTimeout`, when the agent stops.
 *
 * An agent killed with SIGKILL cannot stop its program, which runs on in its own group. So the
 * running program's pid and start time are kept in `.keyturn-agent/exec.pid` beside agent.yaml,
 * and an agent that starts and finds that very process still running (same pid and same start
 * time, read from /proc: a reused pid is left alone) stops its group first, as at a stop, before
 * it starts its own: never two copies of the program.
 *
 * It runs in the config file's folder, in its own process group, with the agent's standard
 * output and error, and the agent's environment plus each `exec.env` entry: a field of a
 * rendered secret (or the whole value of a string secret), read from the agent's memory when the
 * program starts (a restart gets the new values). Values are never logged; a field the secret
 * does not have is KT_AGENT_EXEC_FAILED (logged, and the program is not started until the next
 * change).
 *
 * @example
 * ```ts
 * const sup = new Supervisor(config.exec!, { dir: config.dir, env: io.env, log, valueOf: (p) => set.secretOf(p) });
 * sup.start();        // once every template rendered
 * sup.changed();      // after a real change: restart, signal or nothing
 * await sup.stop();   // when the agent stops
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import { backoff, type Backoff } from './backoff.js';
import { DEFAULT_CACHE_DIR, type AgentExec } from './config.js';

/** A run this long counts as a success: the restart delay starts again from 1 s. */
const HEALTHY_RUN_MS = 30_000;

export interface SupervisorStatus {
  readonly running: boolean;
  readonly pid: number | null;
  /** Times the program was started. */
  readonly starts: number;
  /** How the last run ended: exit code or signal, null before any. */
  readonly lastExit: { readonly code: number | null; readonly signal: string | null } | null;
  readonly error: string | null;
}

export interface SupervisorOptions {
  readonly dir: string;
  /** The agent's environment, which the program inherits (plus exec.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** The version of a secret last rendered (for exec.env). */
  readonly valueOf: (path: string) => DeliveredSecret | null;
  /** Numbers in [0, 1) for the restart jitter (default Math.random). */
  readonly random?: () => number;
  /** First and largest restart delay (default 1 s and 30 s). */
  readonly restartBaseMs?: number;
  readonly restartMaxMs?: number;
}

export class Supervisor {
  readonly #exec: AgentExec;
  readonly #o: SupervisorOptions;
  readonly #restarts: Backoff;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #startedAt = 0;
  #starts = 0;
  #lastExit: SupervisorStatus['lastExit'] = null;
  #error: string | null = null;
  #started = false;
  #stopping = false;
  /** Restarts and stops run one after another. */
  #queue: Promise<void> = Promise.resolve();
  #restartQueued = false;
  #retry: AbortController | null = null;

  constructor(exec: AgentExec, o: SupervisorOptions) {
    this.#exec = exec;
    this.#o = o;
    this.#restarts = backoff({ baseMs: o.restartBaseMs ?? 1_000, maxMs: o.restartMaxMs ?? 30_000, random: o.random ?? Math.random });
  }

  /** Whether `start()` was called (the program is then kept running until `stop()`). */
  get started(): boolean {
    return this.#started;
  }

  status(): SupervisorStatus {
    return { running: this.#child !== null, pid: this.#child?.pid ?? null, starts: this.#starts, lastExit: this.#lastExit, error: this.#error };
  }

  /** Starts the program (once; later calls do nothing), after stopping one an earlier agent left running. */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    this.#queue = this.#queue.then(async () => {
      await this.#stopLeftover();
      if (!this.#stopping) this.#spawn();
    });
  }

  /** `.keyturn-agent/exec.pid` beside the config: the running program's pid and start time. */
  get #pidFile(): string {
    return join(this.#o.dir, DEFAULT_CACHE_DIR, 'exec.pid');
  }

  /** Stops the program an earlier agent of this config left running (it was killed), if that very process still runs. */
  async #stopLeftover(): Promise<void> {
    let recorded: string;
    try {
      recorded = readFileSync(this.#pidFile, 'utf8');
    } catch {
      return;
    }
    const [pidText, started] = recorded.trim().split(' ');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 1 && started !== undefined && startTimeOf(pid) === started) {
      this.#o.log.warn({ pid }, 'agent: the program an earlier agent started is still running (that agent was killed); stopping it first');
      signalGroup(pid, this.#exec.stopSignal);
      // Bounded by stopTimeout, like a stop: then SIGKILL to its group.
      const deadline = Date.now() + this.#exec.stopTimeoutMs;
      while (startTimeOf(pid) === started && Date.now() < deadline) await sleep(25);
      if (startTimeOf(pid) === started) signalGroup(pid, 'SIGKILL');
    }
    rmSync(this.#pidFile, { force: true });
  }

  /** Records the running program (best effort: without a writable folder an agent killed later cannot stop it). */
  #recordChild(pid: number): void {
    const started = startTimeOf(pid);
    if (started === null) return;
    try {
      mkdirSync(dirname(this.#pidFile), { recursive: true, mode: 0o700 });
      writeFileSync(this.#pidFile, `${pid} ${started}\n`, { mode: 0o600 });
    } catch (e) {
      this.#o.log.warn({ file: this.#pidFile, code: (e as NodeJS.ErrnoException).code }, "agent: could not record the program's pid; an agent killed later cannot stop it");
    }
  }

  /** A rendered file really changed: restart, signal or nothing, as exec.onChange says. */
  changed(): void {
    if (!this.#started || this.#stopping || this.#exec.onChange === 'none') return;
    if (this.#exec.onChange === 'signal') {
      const child = this.#child;
      if (child?.pid === undefined) return;
      try {
        child.kill(this.#exec.signal);
        this.#o.log.info({ pid: child.pid, signal: this.#exec.signal }, 'agent: supervised program signalled');
      } catch {
        // Exited meanwhile: its restart reads the new values anyway.
      }
      return;
    }
    // Several changes while a restart waits make one restart.
    if (this.#restartQueued) return;
    this.#restartQueued = true;
    this.#queue = this.#queue.then(async () => {
      this.#restartQueued = false;
      if (this.#stopping) return;
      this.#o.log.info({ pid: this.#child?.pid ?? null }, 'agent: restarting the supervised program after a change');
      await this.#terminate();
      if (!this.#stopping) {
        this.#restarts.reset();
        this.#spawn();
      }
    });
  }

  /** Stops the program (stopSignal, then SIGKILL to its group after stopTimeout) and any restart. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#retry?.abort();
    await this.#queue;
    await this.#terminate();
  }

  #environment(): Record<string, string> | KeyturnError {
    const env: Record<string, string> = {};
    for (const e of this.#exec.env) {
      const secret = this.#o.valueOf(e.secret);
      const where = `exec.env ${e.name} (secret ${e.secret}${e.field === undefined ? '' : `, field ${e.field}`})`;
      if (secret === null) return new KeyturnError('KT_AGENT_EXEC_FAILED', `${where}: the secret has not been rendered`);
      const v = secret.value;
      if (e.field === undefined) {
        if (typeof v !== 'string') return new KeyturnError('KT_AGENT_EXEC_FAILED', `${where}: the secret has fields: name one with field`);
        env[e.name] = v;
      } else {
        const f = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[e.field] : undefined;
        if (typeof f !== 'string') return new KeyturnError('KT_AGENT_EXEC_FAILED', `${where}: the secret has no text field by that name`);
        env[e.name] = f;
      }
    }
    return env;
  }

  #spawn(): void {
    const env = this.#environment();
    if (env instanceof KeyturnError) {
      this.#error = env.message;
      this.#o.log.error({ code: env.code, message: env.message }, 'agent: supervised program not started');
      return;
    }
    const [cmd, ...args] = this.#exec.command;
    let child: ChildProcess;
    try {
      child = spawn(cmd!, args, { cwd: this.#o.dir, env: { ...this.#o.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    } catch (e) {
      this.#failedToStart((e as NodeJS.ErrnoException).code ?? 'error');
      return;
    }
    this.#child = child;
    this.#startedAt = Date.now();
    this.#starts += 1;
    this.#error = null;
    let spawnError: string | null = null;
    this.#exited = new Promise((resolve) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        spawnError = e.code ?? 'error';
        // 'exit' may not follow a failed spawn.
        if (child.pid === undefined) done(null, null);
      });
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#child !== child) return resolve();
        this.#child = null;
        rmSync(this.#pidFile, { force: true });
        this.#lastExit = { code, signal };
        resolve();
        if (spawnError !== null) this.#failedToStart(spawnError);
        else this.#exitedByItself(code, signal);
      };
      child.once('exit', done);
    });
    if (child.pid !== undefined) {
      this.#recordChild(child.pid);
      this.#o.log.info({ pid: child.pid, command: cmd }, 'agent: supervised program started');
    }
  }

  #failedToStart(reason: string): void {
    this.#error = `exec.command ${this.#exec.command[0]} did not start (${reason})`;
    this.#o.log.error({ code: 'KT_AGENT_EXEC_FAILED', message: this.#error }, 'agent: supervised program not started');
    this.#scheduleRestart();
  }

  #exitedByItself(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopping || this.#terminating) return;
    if (Date.now() - this.#startedAt >= HEALTHY_RUN_MS) this.#restarts.reset();
    this.#error = `exec.command ${this.#exec.command[0]} exited by itself (${signal ?? `code ${code}`})`;
    this.#o.log.warn({ code: 'KT_AGENT_EXEC_FAILED', exitCode: code, signal }, 'agent: supervised program exited; starting it again');
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#stopping) return;
    const delay = this.#restarts.next();
    const retry = new AbortController();
    this.#retry = retry;
    void sleep(delay, undefined, { signal: retry.signal }).then(
      () => {
        if (this.#retry === retry) this.#retry = null;
        if (!this.#stopping && this.#child === null && !this.#restartQueued) this.#spawn();
      },
      () => undefined,
    );
  }

  #terminating = false;

  /** Ends the running program: stopSignal, then SIGKILL to its whole group after stopTimeout. */
  async #terminate(): Promise<void> {
    this.#retry?.abort();
    const child = this.#child;
    if (child === null || child.pid === undefined) return;
    this.#terminating = true;
    try {
      const pid = child.pid;
      try {
        child.kill(this.#exec.stopSignal);
      } catch {
        // Already gone.
      }
      const timer = new AbortController();
      const killed = sleep(this.#exec.stopTimeoutMs, undefined, { signal: timer.signal }).then(
        () => {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // The group is gone.
          }
        },
        () => undefined,
      );
      await this.#exited;
      timer.abort();
      await killed;
    } finally {
      this.#terminating = false;
    }
  }
}

/** A process's start time (field 22 of /proc/PID/stat, clock ticks since boot): with its pid, it names one process; null when it is gone (or no /proc). */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (exited, not yet reaped) is gone for this purpose.
    if (fields[0] === 'Z') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Sends `signal` to the process group led by `pid` (the program and what it started). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone.
  }
}
