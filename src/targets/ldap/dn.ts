/**
 * DNs of users from the target's `userDn` template, with the user name escaped as an RFC 4514
 * attribute value (so a name holding `,`, `+`, `=` or `\` cannot reach another entry), and the
 * admin's DN: its user name when that is a DN already (`cn=admin,dc=example,dc=org`), else the
 * template's.
 *
 * @example
 * ```ts
 * userDn('uid={username},ou=people,dc=example,dc=org', 'app'); // 'uid=app,ou=people,dc=example,dc=org'
 * escapeDnValue(' a,b'); // '\\ a\\,b'
 * ```
 */
import { USERNAME_PLACEHOLDER } from './config.js';

/**
 * Escapes a string as an RFC 4514 attribute value: `"+,;<>\` and NUL anywhere, `#` and a space at
 * the start, a space at the end, and `=` (which some servers refuse unescaped).
 *
 * @example
 * ```ts
 * escapeDnValue('#a=b '); // '\\#a\\=b\\ '
 * ```
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\u0000') out += '\\00';
    else if ('"+,;<>\\='.includes(c) || (i === 0 && (c === '#' || c === ' ')) || (i === value.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/**
 * The DN of `username` by the template.
 *
 * @example
 * ```ts
 * userDn('cn={username},ou=svc,dc=example,dc=org', 'a+b'); // 'cn=a\\+b,ou=svc,dc=example,dc=org'
 * ```
 */
export function userDn(template: string, username: string): string {
  return template.replace(USERNAME_PLACEHOLDER, () => escapeDnValue(username));
}

/**
 * The DN to bind as for a credential: its user name when that is a DN (holds an unescaped `=`),
 * else the template's DN for it.
 *
 * @example
 * ```ts
 * bindDn('uid={username},ou=people,dc=example,dc=org', 'cn=admin,dc=example,dc=org'); // 'cn=admin,dc=example,dc=org'
 * ```
 */
export function bindDn(template: string, username: string): string {
  return /^[A-Za-z][A-Za-z0-9.-]*=/.test(username) ? username : userDn(template, username);
}

/**
 * The parent of a DN as a server spells it (everything after the first unescaped `,`).
 *
 * @example
 * ```ts
 * parentDn('CN=a\\,b,CN=Users,DC=corp,DC=example'); // 'CN=Users,DC=corp,DC=example'
 * ```
 */
export function parentDn(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',') return dn.slice(i + 1).trimStart();
  }
  throw new Error(`not a DN with a parent: ${dn}`);
}
