/**
 * Usage errors that never echo what was typed where it did not belong: a stray argument, an
 * unknown option's `=value` or an unknown command may be a secret typed in the wrong place
 * (`keyturn secret put a/b 'Hunter2!'`), so commander's own messages, which list them, are
 * replaced on every command by ones that name the problem and count the arguments.
 *
 * @example
 * ```ts
 * guardArguments(program.command('put <path>')); // "secret put takes 1 argument (PATH), got 2"
 * argumentsHint(cmd, 'give the value with --stdin, --file or --field');
 * ```
 */
import type { Command } from 'commander';

const hints = new WeakMap<Command, string>();

/** Adds `; <hint>` to the too-many-arguments message of `cmd` (how to give what did not fit). */
export function argumentsHint<C extends Command>(cmd: C, hint: string): C {
  hints.set(cmd, hint);
  return cmd;
}

/** The command's name as typed after `keyturn` (`secret put`). */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ') || cmd.name();
}

/** A word shown back only when it looks like the name of a command or an option, never like a value. */
const NAME_LIKE = /^[a-z][a-z0-9-]{0,30}$/;

type Internals = Command & {
  _excessArguments(received: string[]): void;
  unknownOption(flag: string): void;
  unknownCommand(): void;
  registeredArguments: ReadonlyArray<{ name(): string; variadic: boolean }>;
  _allowExcessArguments: boolean;
  _allowUnknownOption: boolean;
  args: string[];
};

/** Replaces commander's excess-argument, unknown-option and unknown-command messages on `cmd`. */
export function guardArguments(cmd: Command): void {
  const c = cmd as Internals;
  const unknownOption = c.unknownOption.bind(c);
  const unknownCommand = c.unknownCommand.bind(c);
  c._excessArguments = function (received: string[]): void {
    if (c._allowExcessArguments) return;
    const expected = c.registeredArguments.length;
    const names = c.registeredArguments.map((a) => a.name().toUpperCase()).join(', ');
    const takes = expected === 0 ? 'takes no arguments' : `takes ${expected} argument${expected === 1 ? '' : 's'} (${names})`;
    const hint = hints.get(cmd);
    c.error(`error: ${commandPath(cmd)} ${takes}, got ${received.length}${hint ? `; ${hint}` : ''} (the arguments are not shown: one may be a value)`, {
      code: 'commander.excessArguments',
    });
  };
  c.unknownOption = function (flag: string): void {
    if (c._allowUnknownOption) return;
    const name = flag.split('=')[0] ?? '';
    if (name.startsWith('--') && NAME_LIKE.test(name.slice(2))) return unknownOption(name);
    if (/^-[a-zA-Z]$/.test(name)) return unknownOption(name);
    c.error(`error: ${commandPath(cmd)} got an unknown option (not shown: it may be a value; a value that starts with - goes after --name=)`, { code: 'commander.unknownOption' });
  };
  c.unknownCommand = function (): void {
    const word = c.args[0] ?? '';
    if (NAME_LIKE.test(word)) return unknownCommand();
    c.error(`error: ${commandPath(cmd) === cmd.name() && !cmd.parent ? 'keyturn' : commandPath(cmd)} has no such command (the word given is not shown)`, { code: 'commander.unknownCommand' });
  };
}
