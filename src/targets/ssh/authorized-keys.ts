/**
 * The POSIX sh program the ssh target runs on the server to edit an account's authorized_keys,
 * as the admin (root: any account) or as the account itself. The user name and the file's path
 * template are its arguments (checked here first: plain names, no control characters); the key
 * line to add and the key blob to remove come on its stdin, never in argv. The file is rewritten
 * atomically: a temp file next to it (umask 077, mode 0600, the old file's owner, or the
 * account's for a new file), then `mv`. Unchanged content is not rewritten, so an edit is
 * idempotent. Lines are matched by the key blob (any field of the line), so options and
 * comments on a line do not hide a key.
 *
 * Exit codes: 0 done, 65 no such user (`id USER` fails), 66 no home directory, 77 the file or its
 * folder cannot be read or written (the login lacks the right).
 *
 * @example
 * ```ts
 * const { command, stdin } = editCommand('app', '~{username}/.ssh/authorized_keys', { add: 'ssh-ed25519 AAAA...', remove: null });
 * // exec(command) over SSH, write stdin to it
 * ```
 */

/** The exit codes of the program. */
export const EDIT_EXIT = { userMissing: 65, noHome: 66, denied: 77 } as const;

/** User names the target takes: portable POSIX names (letters, digits, `.`, `_`, `-`, not first), at most 64. */
const USERNAME = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/;

/** True when `name` is a user name the ssh target takes. */
export function isSshUsername(name: string): boolean {
  return USERNAME.test(name);
}

/** `s` as one sh word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `~/rest` (the home directory, resolved on the server) or an absolute path, with `{username}` filled in. */
export function keysPath(template: string, username: string): string {
  const filled = template.replaceAll('{username}', username);
  return filled.startsWith(`~${username}/`) ? `~/${filled.slice(username.length + 2)}` : filled;
}

const PROGRAM = String.raw`set -u
user=$1 path=$2
IFS= read -r add || :
IFS= read -r del || :
id -u "$user" >/dev/null 2>&1 || exit 65
case $path in
  '~/'*)
    home=$(getent passwd "$user" 2>/dev/null | cut -d: -f6)
    [ -n "$home" ] || home=$(awk -F: -v u="$user" '$1 == u { print $6; exit }' /etc/passwd)
    [ -n "$home" ] || exit 66
    f=$home/${'${'}path#'~/'} ;;
  *) f=$path ;;
esac
d=${'${'}f%/*}
umask 077
if [ -d "$d" ] && [ ! -x "$d" ]; then exit 77; fi
if [ -e "$f" ]; then
  [ -r "$f" ] && [ -w "$f" ] || exit 77
  src=$f
  owner=$(ls -ln "$f" | awk '{ print $3 ":" $4 }')
else
  [ -n "$add" ] || exit 0
  src=/dev/null
  owner=$(id -u "$user"):$(id -g "$user")
  if [ ! -d "$d" ]; then
    mkdir -p "$d" 2>/dev/null || exit 77
    chmod 700 "$d"
    if [ "$(id -u)" = 0 ]; then chown "$owner" "$d" || exit 77; fi
  fi
fi
tmp=$d/.keyturn-keys.$$
KT_ADD=$add KT_DEL=$del awk '
  function has(line, blob,   n, i, a) {
    if (blob == "") return 0
    n = split(line, a, /[ \t]+/)
    for (i = 1; i <= n; i++) if (a[i] == blob) return 1
    return 0
  }
  BEGIN { add = ENVIRON["KT_ADD"]; del = ENVIRON["KT_DEL"]; split(add, p, " "); blob = p[2]; seen = 0 }
  has($0, del) { next }
  has($0, blob) { if (seen) next; seen = 1 }
  { print }
  END { if (add != "" && !seen) print add }
' "$src" 2>/dev/null >"$tmp" || { rm -f "$tmp"; exit 77; }
if [ -e "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; echo unchanged; exit 0; fi
chmod 600 "$tmp" || { rm -f "$tmp"; exit 77; }
if [ "$(id -u)" = 0 ]; then chown "$owner" "$tmp" || { rm -f "$tmp"; exit 77; }; fi
mv -f "$tmp" "$f" || { rm -f "$tmp"; exit 77; }
echo changed
`;

/** What to change: the key line to add (`<type> <blob>`), the key blob whose lines to remove. */
export interface KeyEdit {
  readonly add: string | null;
  readonly remove: string | null;
}

/**
 * The command to run over SSH and what to write to its stdin, for one edit of `username`'s
 * authorized_keys at `template` (see the module comment).
 *
 * @example
 * ```ts
 * editCommand('app', '~{username}/.ssh/authorized_keys', { add: null, remove: 'AAAAC3Nz...' }).stdin; // '\nAAAAC3Nz...\n'
 * ```
 */
export function editCommand(username: string, template: string, edit: KeyEdit): { command: string; stdin: string } {
  if (!isSshUsername(username)) throw new Error('invalid user name');
  const line = (s: string | null) => (s ?? '').replace(/[\r\n]/g, '');
  return {
    command: `sh -c ${shellQuote(PROGRAM)} keyturn-ssh ${shellQuote(username)} ${shellQuote(keysPath(template, username))}`,
    stdin: `${line(edit.add)}\n${line(edit.remove)}\n`,
  };
}
