/**
 * The ldap target's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * - `url`: `ldap://host[:port]` or `ldaps://host[:port]` (389 and 636 by default), nothing else.
 * - `startTls`: upgrade an `ldap://` connection with StartTLS before binding (not with `ldaps://`).
 * - `caFile`: a PEM file of the CA(s) the server certificate must chain to (default: the system's).
 * - `userDn`: where a user lives, `<attr>={username},<parent>`: the clone `<user>_clone` is made
 *   beside the primary under the same parent, named by the same attribute.
 * - `groupsBaseDn`: where the groups (`member` or `uniqueMember` values) whose memberships the
 *   clone copies are searched (subtree); without it the clone copies the entry only.
 *
 * @example
 * ```ts
 * ldapConfigSchema.parse({ type: 'ldap', url: 'ldap://127.0.0.1:389', startTls: true, userDn: 'uid={username},ou=people,dc=example,dc=org' });
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField } from '../config-fields.js';

/** The placeholder `userDn` must hold, once, as the whole value of its first RDN. */
export const USERNAME_PLACEHOLDER = '{username}';

/** `<attr>={username},<parent>`: the naming attribute and the parent DN. */
const USER_DN = /^([A-Za-z][A-Za-z0-9-]*)=\{username\},(.+)$/;

/** The URL's scheme, host and port, or null when it is not a bare `ldap://` or `ldaps://` URL. */
export function parseLdapUrl(url: string): { secure: boolean; host: string; port: number } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') return null;
  if (u.hostname === '' || u.username !== '' || u.password !== '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') return null;
  const secure = u.protocol === 'ldaps:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { secure, host, port: u.port === '' ? (secure ? 636 : 389) : Number(u.port) };
}

/** The naming attribute and parent of a valid `userDn` template. */
export function userDnParts(template: string): { attribute: string; parent: string } {
  const m = USER_DN.exec(template);
  if (!m) throw new Error(`not a userDn template: ${template}`);
  return { attribute: m[1]!, parent: m[2]! };
}

/** `timeoutMs`: the bound on one LDAP operation (shared with the active-directory target). */
export const ldapTimeoutField = z
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(100, 'must be at least 100 ms')
  .max(600_000, 'must be at most 600000 ms (10 minutes)')
  .optional()
  .describe('give up on one LDAP operation (bind, search, modify, password change) after this long (default 60000 ms)');

/** `startTls` and `caFile`, as the ldap and active-directory targets take them. */
export const ldapTlsFields = {
  startTls: z.boolean({ error: 'must be true or false' }).optional().describe('upgrade the ldap:// connection with StartTLS before binding, verifying the server certificate'),
  caFile: z
    .string({ error: 'must be the path of a PEM file' })
    .min(1, 'must be the path of a PEM file')
    .optional()
    .describe('PEM file of the CA(s) the server certificate must chain to (default: the system CAs)'),
};

export const ldapConfigSchema = z
  .strictObject({
    type: z.literal('ldap'),
    url: z
      .string({ error: 'must be an ldap:// or ldaps:// URL' })
      .refine((u) => parseLdapUrl(u) !== null, 'must be an ldap:// or ldaps:// URL with a host and an optional port, nothing else')
      .describe('the server: ldap://host[:port] or ldaps://host[:port]'),
    ...ldapTlsFields,
    userDn: z
      .string({ error: 'must be a DN template such as uid={username},ou=people,dc=example,dc=org' })
      .regex(USER_DN, 'must be a DN template whose first RDN is <attribute>={username}, such as uid={username},ou=people,dc=example,dc=org')
      .describe('the DN of a user, with {username} as the value of its first RDN'),
    groupsBaseDn: z
      .string({ error: 'must be a DN' })
      .min(1, 'must be a DN')
      .optional()
      .describe('alternating-users: subtree of the groups (member / uniqueMember) the clone is put in like the primary'),
    connectTimeoutMs: connectTimeoutField,
    timeoutMs: ldapTimeoutField,
  })
  .superRefine((c, ctx) => {
    if (c.startTls === true && parseLdapUrl(c.url)?.secure) ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'cannot be used with an ldaps:// URL (already TLS)' });
  });

export type LdapTargetConfig = z.output<typeof ldapConfigSchema>;

/** The strategies the ldap target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const ldapStrategies: readonly Strategy[] = ['single-user', 'alternating-users'];
