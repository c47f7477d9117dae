/**
 * `keyturn completion bash|zsh|fish`: prints a shell completion script. The script is generated
 * from the whole command tree (every entry of ./index.ts registered on a fresh program), so it
 * completes every command, subcommand and option there is; option values complete as files or
 * directories when the option takes a file or a folder, and as the allowed words of a choice.
 * Global options (--home, --json, -q) complete before the command too, as main.ts accepts them.
 *
 * @example
 * ```ts
 * const tree = await commandTree(app);
 * process.stdout.write(completionScript('bash', tree));
 * ```
 */
import { Argument, Command, type Option } from 'commander';
import { STAGES } from '../../core/types.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emitData } from '../io.js';
import { COMMANDS } from './index.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What an option's value completes to: nothing (no value), files, folders, the allowed words, or free text. */
export type ValueKind = { kind: 'none' } | { kind: 'file' } | { kind: 'dir' } | { kind: 'choice'; choices: readonly string[] } | { kind: 'text' };

export interface OptionNode {
  /** `-q`, `--quiet`: every spelling of the option. */
  readonly flags: readonly string[];
  readonly description: string;
  readonly value: ValueKind;
}

export interface CommandNode {
  /** The words that lead here: `keyturn secret put`. */
  readonly path: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly summary: string;
  readonly options: readonly OptionNode[];
  /** Words an argument of this command may be (from its choices). */
  readonly argumentChoices: readonly string[];
  readonly commands: readonly CommandNode[];
}

/** Placeholders (`--output <file>`) whose value is a file or a folder, or one of known words. */
const FILE_VALUES = new Set(['file', 'export', 'key']);
const DIR_VALUES = new Set(['dir']);
const WORD_VALUES: Record<string, readonly string[]> = { stage: STAGES };

function valueKind(option: Option): ValueKind {
  if (!option.required && !option.optional) return { kind: 'none' };
  if (option.argChoices?.length) return { kind: 'choice', choices: option.argChoices };
  const placeholder = /[<[]([^>\]]*)[>\]]/.exec(option.flags)?.[1] ?? '';
  if (FILE_VALUES.has(placeholder)) return { kind: 'file' };
  if (DIR_VALUES.has(placeholder)) return { kind: 'dir' };
  const words = WORD_VALUES[placeholder];
  if (words) return { kind: 'choice', choices: words };
  return { kind: 'text' };
}

function node(cmd: Command, parent: string | undefined): CommandNode {
  const path = parent === undefined ? cmd.name() : `${parent} ${cmd.name()}`;
  const options = cmd
    .createHelp()
    .visibleOptions(cmd)
    .map((o) => ({ flags: [o.short, o.long].filter((f): f is string => f !== undefined), description: o.description, value: valueKind(o) }));
  return {
    path,
    name: cmd.name(),
    aliases: cmd.aliases(),
    summary: cmd.summary() || cmd.description().split('\n')[0]!,
    options,
    argumentChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
    commands: cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden).map((c) => node(c, path)),
  };
}

/**
 * Every command, loaded and registered on a fresh program: the tree the scripts are made from.
 * The root carries the global options, which main.ts accepts before the command too.
 */
export async function fullProgram(app: CliApp): Promise<Command> {
  const program = common(new Command('keyturn')).option('-V, --version', 'output the version number');
  const registers = await Promise.all(COMMANDS.map((c) => c.load()));
  registers.forEach((register, i) => {
    register(program, app);
    // The one-line summary of `keyturn --help`, for completion menus.
    program.commands.at(-1)?.summary(COMMANDS[i]!.summary);
  });
  return program;
}

export async function commandTree(app: CliApp): Promise<CommandNode> {
  return node(await fullProgram(app), undefined);
}

function walk(root: CommandNode): CommandNode[] {
  return [root, ...root.commands.flatMap(walk)];
}

/** A POSIX shell word in single quotes. */
function sh(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A fish word in single quotes (fish escapes \ and ' inside them). */
function fish(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function valueWord(v: ValueKind): string {
  return v.kind === 'choice' ? `choice:${v.choices.join(' ')}` : v.kind;
}

/**
 * The shell functions bash and zsh share (their `case` syntax is the same): which command a word
 * leads to from a command path, and what an option of a command takes as its value.
 */
function sharedFunctions(nodes: readonly CommandNode[]): string {
  const child = nodes.flatMap((n) => n.commands.map((c) => `    ${[c.name, ...c.aliases].map((w) => sh(`${n.path} ${w}`)).join('|')}) REPLY=${sh(c.path)} ;;`));
  const value = nodes.flatMap((n) => n.options.filter((o) => o.value.kind !== 'none').map((o) => `    ${o.flags.map((f) => sh(`${n.path} ${f}`)).join('|')}) REPLY=${sh(valueWord(o.value))} ;;`));
  return `# _keyturn_child PATH WORD: REPLY is the command path that WORD leads to from PATH (status 1: none).
_keyturn_child() {
  case "$1 $2" in
${child.join('\n')}
    *) return 1 ;;
  esac
}

# _keyturn_value PATH OPTION: REPLY is what OPTION of PATH takes (file, dir, text, choice:WORDS); status 1: no value.
_keyturn_value() {
  case "$1 $2" in
${value.join('\n')}
    *) return 1 ;;
  esac
}`;
}

function bashScript(root: CommandNode): string {
  const nodes = walk(root);
  const words = nodes.map((n) => `    ${sh(n.path)}) REPLY=${sh([...n.commands.flatMap((c) => [c.name, ...c.aliases]), ...n.argumentChoices].join(' '))} ;;`);
  const options = nodes.map((n) => `    ${sh(n.path)}) REPLY=${sh(n.options.flatMap((o) => o.flags).join(' '))} ;;`);
  return `# bash completion for keyturn, generated by \`keyturn completion bash\`.
# Install: keyturn completion bash > ~/.local/share/bash-completion/completions/keyturn
# Or for this shell only: source <(keyturn completion bash)

${sharedFunctions(nodes)}

# _keyturn_words PATH: REPLY is the subcommands (and argument choices) of PATH.
_keyturn_words() {
  case $1 in
${words.join('\n')}
    *) REPLY='' ;;
  esac
}

# _keyturn_options PATH: REPLY is the options of PATH.
_keyturn_options() {
  case $1 in
${options.join('\n')}
    *) REPLY='' ;;
  esac
}

_keyturn_reply() {
  COMPREPLY=()
  local line
  while IFS= read -r line; do COMPREPLY+=("$line"); done
}

_keyturn() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev='' cmd=keyturn word opt='' pre='' REPLY='' i skip=0
  (( COMP_CWORD > 0 )) && prev=\${COMP_WORDS[COMP_CWORD-1]}
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word=\${COMP_WORDS[i]}
    if (( skip )); then skip=0; continue; fi
    case $word in
      --) COMPREPLY=(); return 0 ;;
      =) skip=1; continue ;;
      -*)
        if [[ $word != *=* && \${COMP_WORDS[i+1]} != = ]] && _keyturn_value "$cmd" "$word"; then skip=1; fi
        continue ;;
    esac
    _keyturn_child "$cmd" "$word" && cmd=$REPLY
  done
  # The value of an option: --opt VALUE, --opt=VALUE (split at = by COMP_WORDBREAKS) or --opt=VALUE in one word.
  if [[ $cur == = ]]; then opt=$prev; cur=''
  elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then opt=\${COMP_WORDS[COMP_CWORD-2]}
  elif [[ $cur == --*=* ]]; then opt=\${cur%%=*}; pre=$opt=; cur=\${cur#*=}
  elif [[ $prev == -* && $prev != *=* ]]; then opt=$prev
  fi
  if [[ -n $opt ]] && _keyturn_value "$cmd" "$opt"; then
    case $REPLY in
      file) compopt -o filenames 2>/dev/null; _keyturn_reply < <(compgen -f -- "$cur") ;;
      dir) compopt -o filenames 2>/dev/null; _keyturn_reply < <(compgen -d -- "$cur") ;;
      choice:*) _keyturn_reply < <(compgen -W "\${REPLY#choice:}" -- "$cur") ;;
      *) COMPREPLY=() ;;
    esac
    [[ -n $pre ]] && COMPREPLY=("\${COMPREPLY[@]/#/$pre}")
    return 0
  fi
  if [[ $cur == -* ]]; then _keyturn_options "$cmd"; else _keyturn_words "$cmd"; fi
  _keyturn_reply < <(compgen -W "$REPLY" -- "$cur")
}

complete -F _keyturn keyturn
`;
}

/** A zsh `_describe` entry, `word:description` (colons in the word escaped). */
function described(word: string, description: string): string {
  return sh(`${word.replaceAll(':', '\\:')}:${description}`);
}

function zshScript(root: CommandNode): string {
  const nodes = walk(root);
  const words = nodes.map(
    (n) =>
      `    ${sh(n.path)}) reply=(${[...n.commands.flatMap((c) => [c.name, ...c.aliases].map((w) => described(w, c.summary))), ...n.argumentChoices.map((w) => described(w, `${w} completion script`))].join(' ')}) ;;`,
  );
  const options = nodes.map((n) => `    ${sh(n.path)}) reply=(${n.options.flatMap((o) => o.flags.map((f) => described(f, o.description))).join(' ')}) ;;`);
  return `#compdef keyturn
# zsh completion for keyturn, generated by \`keyturn completion zsh\`.
# Load it in ~/.zshrc, after compinit: source <(keyturn completion zsh)
# Or install it as a file named _keyturn in a folder of $fpath (one you can write), then start a new shell

${sharedFunctions(nodes)}

# _keyturn_words PATH: reply is the subcommands (and argument choices) of PATH, with descriptions.
_keyturn_words() {
  case $1 in
${words.join('\n')}
    *) reply=() ;;
  esac
}

# _keyturn_options PATH: reply is the options of PATH, with descriptions.
_keyturn_options() {
  case $1 in
${options.join('\n')}
    *) reply=() ;;
  esac
}

_keyturn() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} cmd=keyturn word opt='' REPLY=''
  local -a reply
  local -i i skip=0
  for (( i = 2; i < CURRENT; i++ )); do
    word=\${words[i]}
    if (( skip )); then skip=0; continue; fi
    case $word in
      --) return 1 ;;
      -*)
        if [[ $word != *=* ]] && _keyturn_value "$cmd" "$word"; then skip=1; fi
        continue ;;
    esac
    _keyturn_child "$cmd" "$word" && cmd=$REPLY
  done
  # The value of an option: --opt VALUE or --opt=VALUE.
  if [[ $cur == --*=* ]]; then
    opt=\${cur%%=*}
    compset -P '*='
  elif [[ $prev == -* && $prev != *=* ]]; then
    opt=$prev
  fi
  if [[ -n $opt ]] && _keyturn_value "$cmd" "$opt"; then
    case $REPLY in
      file) _files ;;
      dir) _files -/ ;;
      choice:*) compadd -- \${=REPLY#choice:} ;;
      *) _message -e value "value of $opt" ;;
    esac
    return
  fi
  if [[ $cur == -* ]]; then
    _keyturn_options "$cmd"
    _describe -t options 'keyturn option' reply
  else
    _keyturn_words "$cmd"
    (( \${#reply} )) && _describe -t commands 'keyturn command' reply
  fi
}

if [[ $funcstack[1] == _keyturn ]]; then
  _keyturn "$@"
else
  compdef _keyturn keyturn
fi
`;
}

/** A fish function of two arguments that looks their pair up in `cases`; status 1 when none matches. */
function fishLookup(name: string, doc: string, cases: readonly string[]): string {
  return `# ${name} ${doc}
function ${name} --argument-names cmd word
    switch "$cmd $word"
${cases.join('\n')}
        case '*'
            return 1
    end
end`;
}

function fishScript(root: CommandNode): string {
  const nodes = walk(root);
  const child = nodes.flatMap((n) => n.commands.map((c) => `        case ${[c.name, ...c.aliases].map((w) => fish(`${n.path} ${w}`)).join(' ')}\n            echo ${fish(c.path)}`));
  const value = nodes.flatMap((n) =>
    n.options.filter((o) => o.value.kind !== 'none').map((o) => `        case ${o.flags.map((f) => fish(`${n.path} ${f}`)).join(' ')}\n            echo ${fish(o.value.kind)}`),
  );
  const lines: string[] = [];
  for (const n of nodes) {
    const at = `-n ${fish(`__keyturn_at ${JSON.stringify(n.path)}`)}`;
    for (const c of n.commands) for (const w of [c.name, ...c.aliases]) lines.push(`complete -c keyturn ${at} -a ${fish(w)} -d ${fish(c.summary)}`);
    if (n.argumentChoices.length) lines.push(`complete -c keyturn ${at} -a ${fish(n.argumentChoices.join(' '))}`);
    for (const o of n.options) {
      const spell = o.flags.map((f) => (f.startsWith('--') ? `-l ${fish(f.slice(2))}` : `-s ${fish(f.slice(1))}`)).join(' ');
      const v = o.value;
      const takes = v.kind === 'none' ? '' : v.kind === 'file' || v.kind === 'dir' ? ' -r -F' : v.kind === 'choice' ? ` -x -a ${fish(v.choices.join(' '))}` : ' -x';
      lines.push(`complete -c keyturn ${at} ${spell}${takes} -d ${fish(o.description)}`);
    }
  }
  return `# fish completion for keyturn, generated by \`keyturn completion fish\`.
# Install: keyturn completion fish > ~/.config/fish/completions/keyturn.fish

${fishLookup('__keyturn_child', 'PATH WORD: prints the command path that WORD leads to from PATH (status 1: none).', child)}

${fishLookup('__keyturn_value', 'PATH OPTION: prints what OPTION of PATH takes (file, dir, text, choice); status 1: no value.', value)}

# __keyturn_cmd: prints the command path typed so far, e.g. "keyturn secret put".
function __keyturn_cmd
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd keyturn
    set -l skip 0
    for word in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case '--'
                break
            case '-*'
                if not string match -q -- '*=*' $word; and __keyturn_value $cmd $word >/dev/null
                    set skip 1
                end
                continue
        end
        set -l next (__keyturn_child $cmd $word)
        if test -n "$next"
            set cmd $next
        end
    end
    echo $cmd
end

function __keyturn_at --argument-names want
    test (__keyturn_cmd) = "$want"
end

complete -c keyturn -e
complete -c keyturn -f
${lines.join('\n')}
`;
}

export function completionScript(shell: Shell, tree: CommandNode): string {
  switch (shell) {
    case 'bash':
      return bashScript(tree);
    case 'zsh':
      return zshScript(tree);
    case 'fish':
      return fishScript(tree);
  }
}

export function registerCompletion(program: Command, app: CliApp): void {
  common(program.command('completion'))
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .description('Print the completion script for bash, zsh or fish: commands, subcommands and options complete with Tab')
    .addHelpText(
      'after',
      `
The script covers every command and option of this version: print it again after an upgrade.

Examples:
  # bash (with bash-completion 2): new shells complete keyturn
  mkdir -p ~/.local/share/bash-completion/completions
  keyturn completion bash > ~/.local/share/bash-completion/completions/keyturn
  # bash, this shell only (or add the line to ~/.bashrc)
  source <(keyturn completion bash)
  # zsh: add the line to ~/.zshrc, after compinit
  source <(keyturn completion zsh)
  # fish: new shells complete keyturn
  keyturn completion fish > ~/.config/fish/completions/keyturn.fish`,
    )
    .action(async (shell: Shell, opts: CommonOptions) => {
      const script = completionScript(shell, await commandTree(app));
      emitData(app.io, !!opts.json, { shell, script }, () => script);
    });
}
