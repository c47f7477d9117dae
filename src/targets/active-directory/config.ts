/**
 * The active-directory target's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * - `url`: `ldaps://host[:port]` (636 by default), or `ldap://host[:port]` with `startTls: true`:
 *   a domain controller takes a password (`unicodePwd`) only over an encrypted connection.
 * - `caFile`: a PEM file of the CA(s) the DC's certificate must chain to (default: the system's).
 * - `tlsServerName`: the name the DC's certificate must carry, when it is not the URL's host
 *   (a DC reached by IP address, or by an alias its certificate does not name).
 * - `baseDn`: where users are looked up by `sAMAccountName` (subtree), e.g. `DC=corp,DC=example,DC=com`.
 * - `domain`: how a user name binds: a DNS domain (`corp.example.com`, with a dot) binds as the
 *   user principal name `<user>@corp.example.com`; a NetBIOS name (`CORP`) as `CORP\<user>`. An
 *   admin user name holding `@`, `\` or `=` (a UPN, a down-level name or a DN) is used as it is.
 *
 * @example
 * ```ts
 * activeDirectoryConfigSchema.parse({ type: 'active-directory', url: 'ldaps://dc1.corp.example.com', baseDn: 'DC=corp,DC=example,DC=com', domain: 'corp.example.com' });
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField } from '../config-fields.js';
import { ldapTimeoutField, ldapTlsFields, parseLdapUrl } from '../ldap/config.js';

/** A NetBIOS domain name (at most 15 characters, none of `\/:*?"<>|.` or spaces) or a DNS domain. */
const DOMAIN = /^(?:[A-Za-z0-9!#$%&'()^_{}~-]{1,15}|(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/;

export const activeDirectoryConfigSchema = z
  .strictObject({
    type: z.literal('active-directory'),
    url: z
      .string({ error: 'must be an ldaps:// or ldap:// URL' })
      .refine((u) => parseLdapUrl(u) !== null, 'must be an ldaps:// or ldap:// URL with a host and an optional port, nothing else')
      .describe('the domain controller: ldaps://host[:port], or ldap://host[:port] with startTls'),
    ...ldapTlsFields,
    tlsServerName: z
      .string({ error: 'must be a host name' })
      .min(1, 'must be a host name')
      .max(253, 'must be at most 253 characters')
      .optional()
      .describe("the name the DC's certificate must carry, when it is not the URL's host"),
    baseDn: z
      .string({ error: 'must be a DN such as DC=corp,DC=example,DC=com' })
      .min(1, 'must be a DN such as DC=corp,DC=example,DC=com')
      .describe('where users are looked up by sAMAccountName (subtree)'),
    domain: z
      .string({ error: 'must be a DNS domain (corp.example.com) or a NetBIOS domain name (CORP)' })
      .regex(DOMAIN, 'must be a DNS domain (corp.example.com) or a NetBIOS domain name (CORP)')
      .describe('a DNS domain (users bind as user@domain) or a NetBIOS name (users bind as DOMAIN\\user)'),
    connectTimeoutMs: connectTimeoutField,
    timeoutMs: ldapTimeoutField,
  })
  .superRefine((c, ctx) => {
    const url = parseLdapUrl(c.url);
    if (url?.secure && c.startTls === true) ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'cannot be used with an ldaps:// URL (already TLS)' });
    if (url && !url.secure && c.startTls !== true)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'a domain controller takes passwords only over TLS: use an ldaps:// URL, or set startTls: true' });
  });

export type ActiveDirectoryTargetConfig = z.output<typeof activeDirectoryConfigSchema>;

/** The strategies the active-directory target rotates with (its registry entry carries them). */
export const activeDirectoryStrategies: readonly Strategy[] = ['single-user', 'alternating-users'];

/**
 * The name `username` binds with: as it is when it is a UPN, a down-level name or a DN, else by `domain`.
 *
 * @example
 * ```ts
 * loginName('corp.example.com', 'app'); // 'app@corp.example.com'
 * loginName('CORP', 'app'); // 'CORP\\app'
 * ```
 */
export function loginName(domain: string, username: string): string {
  if (/[@\\]/.test(username) || /^[A-Za-z][A-Za-z0-9.-]*=/.test(username)) return username;
  return domain.includes('.') ? `${username}@${domain}` : `${domain}\\${username}`;
}
