/**
 * Users and groups by name or id, for the owner and group of the agent's rendered files. A name
 * is looked up with `getent` (so users from LDAP or SSSD count, as for `chown`); a numeric id is
 * taken as it is. The lookup happens once, when agent.yaml is loaded.
 *
 * @example
 * ```ts
 * resolveAccount('user', 'www-data'); // 33
 * resolveAccount('group', 65534);     // 65534
 * resolveAccount('user', 'nobody-here'); // null
 * ```
 */
import { execFileSync } from 'node:child_process';

/** Numeric ids for chown; -1 leaves that one as it is. */
export interface Account {
  readonly uid: number;
  readonly gid: number;
}

/** The numeric id of a user or group, or null when this host has none by that name. */
export function resolveAccount(kind: 'user' | 'group', nameOrId: string | number): number | null {
  if (typeof nameOrId === 'number') return nameOrId;
  if (/^[0-9]+$/.test(nameOrId)) return Number(nameOrId);
  let line: string;
  try {
    line = execFileSync('getent', [kind === 'user' ? 'passwd' : 'group', nameOrId], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return null;
  }
  const id = Number(line.split('\n')[0]?.split(':')[2]);
  return Number.isInteger(id) && id >= 0 ? id : null;
}
