/**
 * The agent's templates and what it knows of each: renders one (./render.ts) and, on a real
 * change of its file, runs its command (./command.ts); a failure of either is logged and kept
 * for the health endpoint and `--once`, never thrown out of the agent. Renders of one template
 * never overlap: a request while one runs makes exactly one more run after it (so a burst of
 * events for a secret costs at most two reads, and the last one sees the newest version). Every
 * attempt, once its reload (if any) is done, is told to `onRendered`: whether the file changed,
 * and the version it now holds (the delivery reports, ./report.ts; the supervisor, ./supervisor.ts).
 *
 * @example
 * ```ts
 * const agent = new TemplateSet(config, servers, log, clock);
 * await agent.renderAll();           // every template once
 * agent.renderSecret('app/db');      // the templates of one secret, in the background
 * agent.results();                   // per template: last render, change, errors
 * ```
 */
import type { Clock } from '../core/clock.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import type { AgentConfig } from './config.js';
import { runTemplateCommand } from './command.js';
import { renderOne } from './render.js';
import type { AgentServers } from './servers.js';
import { signalTemplate } from './signal.js';

/** Failures after the file was rendered: the file is current, only its reload failed. */
const RELOAD_FAILURES: ReadonlySet<string> = new Set(['KT_AGENT_COMMAND_FAILED', 'KT_AGENT_SIGNAL_FAILED']);

/** Whether a template with this last failure (or none) still has its file current. */
export function fileIsCurrent(error: KeyturnError | null): boolean {
  return error === null || RELOAD_FAILURES.has(error.code);
}

/**
 * Told after every render attempt of template `index`: whether its file really changed, and the
 * version the file holds (null when the render failed; a failed reload still holds it).
 */
export type OnRendered = (index: number, outcome: { readonly changed: boolean; readonly held: DeliveredSecret | null }) => void;

export interface TemplateResult {
  readonly secret: string;
  readonly destination: string;
  /** When the file last matched the secret's current version (written or found unchanged). */
  readonly renderedAt: number | null;
  readonly version: number | null;
  /** Real changes of the file since the agent started. */
  readonly changes: number;
  /** Commands run (each after a real change). */
  readonly commands: number;
  /** The last attempt's failure: KT_AGENT_RENDER_FAILED, KT_AGENT_COMMAND_FAILED or KT_AGENT_SIGNAL_FAILED. */
  readonly error: KeyturnError | null;
  /** Whether the last attempt changed the file. */
  readonly changed: boolean;
}

interface State {
  renderedAt: number | null;
  version: number | null;
  changes: number;
  commands: number;
  error: KeyturnError | null;
  changed: boolean;
  running: Promise<void> | null;
  again: boolean;
  /** The version last rendered (kept in memory for exec's environment). */
  secret: DeliveredSecret | null;
}

export class TemplateSet {
  readonly #config: AgentConfig;
  readonly #servers: AgentServers;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #stop: AbortSignal;
  readonly #states: State[];
  readonly #onRendered: OnRendered | undefined;

  constructor(config: AgentConfig, servers: AgentServers, log: Logger, clock: Clock, stop: AbortSignal = new AbortController().signal, onRendered?: OnRendered) {
    this.#onRendered = onRendered;
    this.#config = config;
    this.#servers = servers;
    this.#log = log;
    this.#clock = clock;
    this.#stop = stop;
    this.#states = config.templates.map(() => ({ renderedAt: null, version: null, changes: 0, commands: 0, error: null, changed: false, running: null, again: false, secret: null }));
  }

  /** Renders every template (each after any render of it under way); resolves when all are done. */
  async renderAll(): Promise<void> {
    await Promise.all(this.#config.templates.map((_, i) => this.render(i)));
  }

  /** Renders the templates that use `path`, in the background; true when one does. */
  renderSecret(path: string): boolean {
    let used = false;
    this.#config.templates.forEach((t, i) => {
      if (t.secret !== path) return;
      used = true;
      void this.render(i);
    });
    return used;
  }

  /** Whether some template uses `path`. */
  uses(path: string): boolean {
    return this.#config.templates.some((t) => t.secret === path);
  }

  /** Renders template `i` (once more after the render under way, if one is). */
  render(i: number): Promise<void> {
    const s = this.#states[i]!;
    if (s.running !== null) {
      s.again = true;
      return s.running;
    }
    s.running = (async () => {
      try {
        do {
          s.again = false;
          await this.#attempt(i, s);
        } while (s.again && !this.#stop.aborted);
      } finally {
        s.running = null;
      }
    })();
    return s.running;
  }

  /** Resolves when no render is under way. */
  async idle(): Promise<void> {
    while (this.#states.some((s) => s.running !== null)) await Promise.all(this.#states.map((s) => s.running));
  }

  /** The version of `path` last rendered, if any (in memory only). */
  secretOf(path: string): DeliveredSecret | null {
    const i = this.#config.templates.findIndex((t) => t.secret === path);
    return i === -1 ? null : this.#states[i]!.secret;
  }

  results(): TemplateResult[] {
    return this.#config.templates.map((t, i) => {
      const s = this.#states[i]!;
      return { secret: t.secret, destination: t.destination, renderedAt: s.renderedAt, version: s.version, changes: s.changes, commands: s.commands, error: s.error, changed: s.changed };
    });
  }

  async #attempt(i: number, s: State): Promise<void> {
    const t = this.#config.templates[i]!;
    let held: DeliveredSecret | null = null;
    try {
      const r = await renderOne(t, i, (path) => this.#servers.readSecret(path));
      held = r.secret;
      s.renderedAt = this.#clock.now();
      s.version = r.secret.number;
      s.secret = r.secret;
      s.changed = r.changed;
      s.error = null;
      if (!r.changed) return;
      s.changes += 1;
      this.#log.info({ template: i, secret: t.secret, destination: t.destination, version: r.secret.number }, 'agent: file rendered (changed)');
      await this.#reload(i, t, s, r.secret);
    } catch (e) {
      const err = isKeyturnError(e) ? e : new KeyturnError('KT_INTERNAL', `templates.${i}: ${(e as Error).name}`, { cause: e });
      s.error = err;
      if (!RELOAD_FAILURES.has(err.code)) s.changed = false;
      this.#log.error({ template: i, secret: t.secret, code: err.code, message: err.message }, 'agent: template not delivered');
    } finally {
      this.#onRendered?.(i, { changed: s.changed, held });
    }
  }

  /** After a real change: the command, then the signal; both are tried, the first failure is thrown. */
  async #reload(i: number, t: AgentConfig['templates'][number], s: State, secret: DeliveredSecret): Promise<void> {
    let failure: unknown = null;
    if (t.command !== undefined) {
      s.commands += 1;
      try {
        await runTemplateCommand(t, i, secret, { dir: this.#config.dir, signal: this.#stop });
        this.#log.info({ template: i, secret: t.secret }, 'agent: command ran');
      } catch (e) {
        failure = e;
      }
    }
    if (t.pidFile !== undefined) {
      try {
        await signalTemplate(t, i, secret, { log: this.#log, signal: this.#stop });
        this.#log.info({ template: i, secret: t.secret, pidFile: t.pidFile, signal: t.signal }, 'agent: process signalled');
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure !== null) throw failure;
  }
}
