/**
 * Redis ACL rules for `alternating-users`: reads `ACL GETUSER <primary>` and turns it into the
 * `ACL SETUSER` rules that give another user the same permissions: flags (except on/off and
 * nopass), commands, key patterns, channel patterns and selectors (Redis 7), in that order,
 * after RESET_RULES. Passwords are never copied. Redis 6 replies (keys and channels as lists of
 * patterns) are read too.
 *
 * `reset` itself is not used: it also sets `sanitize-payload`, which a user created without it
 * does not have and which no rule can clear again. For the same reason a clone that holds a
 * sanitize flag the primary lacks keeps it (`samePermissions` does not count it).
 *
 * @example
 * ```ts
 * const rules = cloneRules(parseAclUser(await call(['ACL', 'GETUSER', 'app'], ...)));
 * await call(['ACL', 'SETUSER', 'app_clone', ...RESET_RULES, ...rules, 'on', `>${password}`], ...);
 * ```
 */

export interface AclUser {
  readonly flags: readonly string[];
  readonly commands: readonly string[];
  readonly keys: readonly string[];
  readonly channels: readonly string[];
  /** Each selector's rules, e.g. ['+set', '~w:*']. */
  readonly selectors: readonly (readonly string[])[];
  /** The SHA-256 (hex) of each password the user has: several with dual-key. */
  readonly passwords: readonly string[];
}

/** The reply as key → value, whether it came as a flat [k, v, ...] array (RESP2) or a map. */
function fields(reply: unknown): Map<string, unknown> {
  if (Array.isArray(reply)) {
    const out = new Map<string, unknown>();
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), reply[i + 1]);
    return out;
  }
  if (reply !== null && typeof reply === 'object') return new Map(Object.entries(reply));
  return new Map();
}

/** Rules from a string ("+get -@all") or a list of patterns (Redis 6 keys: ["app:*"]). */
function rules(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string' || Buffer.isBuffer(value))
    return String(value)
      .split(' ')
      .filter((r) => r !== '');
  if (Array.isArray(value)) return value.map((v) => String(v)).map((v) => (prefix && !v.startsWith(prefix) && !v.startsWith('%') ? `${prefix}${v}` : v));
  return [];
}

/**
 * Parses an `ACL GETUSER` reply; null when the user does not exist.
 *
 * @example
 * ```ts
 * parseAclUser(['flags', ['on'], 'passwords', [], 'commands', '+get', 'keys', '~a:*', 'channels', '', 'selectors', []])?.keys; // ['~a:*']
 * ```
 */
export function parseAclUser(reply: unknown): AclUser | null {
  if (reply === null || reply === undefined) return null;
  const f = fields(reply);
  const selectors = Array.isArray(f.get('selectors')) ? (f.get('selectors') as unknown[]) : [];
  return {
    flags: Array.isArray(f.get('flags')) ? (f.get('flags') as unknown[]).map(String) : [],
    commands: rules(f.get('commands')),
    keys: rules(f.get('keys'), '~'),
    channels: rules(f.get('channels'), '&'),
    passwords: Array.isArray(f.get('passwords')) ? (f.get('passwords') as unknown[]).map(String) : [],
    selectors: selectors.map((s) => {
      const sf = fields(s);
      return [...rules(sf.get('commands')), ...rules(sf.get('keys'), '~'), ...rules(sf.get('channels'), '&')];
    }),
  };
}

/** Clears passwords, key and channel patterns, selectors and commands: `reset` without its flags. */
export const RESET_RULES = ['resetpass', 'resetkeys', 'resetchannels', 'clearselectors', '-@all'] as const;

/** Flags that are about logging in, not permissions: the clone sets its own. */
const LOGIN_FLAGS = new Set(['on', 'off', 'nopass']);
const SANITIZE_FLAGS = new Set(['sanitize-payload', 'skip-sanitize-payload']);

/**
 * The SETUSER rules (to follow RESET_RULES) that copy `user`'s permissions.
 *
 * @example
 * ```ts
 * cloneRules({ flags: ['on'], commands: ['-@all', '+get'], keys: ['~a:*'], channels: [], selectors: [['+set', '~w:*']] }); // ['-@all', '+get', '~a:*', '(+set ~w:*)']
 * ```
 */
export function cloneRules(user: AclUser): string[] {
  return [...user.flags.filter((f) => !LOGIN_FLAGS.has(f)), ...user.commands, ...user.keys, ...user.channels, ...user.selectors.filter((s) => s.length > 0).map((s) => `(${s.join(' ')})`)];
}

/** The permission rules of a user, comparable between two users (flags sorted, passwords left out). */
export function permissionsOf(user: AclUser): string[] {
  return [...[...user.flags].filter((f) => !LOGIN_FLAGS.has(f)).sort(), ...user.commands, ...user.keys, ...user.channels, ...user.selectors.map((s) => `(${s.join(' ')})`)];
}

/**
 * True when `clone` has the permissions of `primary`. A sanitize flag on the clone counts only
 * when the primary has one too (see above: it cannot be cleared).
 *
 * @example
 * ```ts
 * samePermissions(primary, clone); // true right after a sync
 * ```
 */
export function samePermissions(primary: AclUser, clone: AclUser): boolean {
  const keepSanitize = primary.flags.some((f) => SANITIZE_FLAGS.has(f));
  const cloneView = keepSanitize ? clone : { ...clone, flags: clone.flags.filter((f) => !SANITIZE_FLAGS.has(f)) };
  return permissionsOf(primary).join(' ') === permissionsOf(cloneView).join(' ');
}
