/**
 * The kerberos target's configuration (strict zod schema, used by the keyturn.yaml loader). MIT
 * Kerberos: the target runs MIT's own tools (kinit, kadmin or kadmin.local, kpasswd, ktutil,
 * klist) with a krb5.conf it writes for each call, naming only this realm and these servers.
 *
 * - `realm`, `host`, `port` (88): the realm and its KDC.
 * - `adminHost` (default `host`), `adminPort` (749): kadmind, for remote `kadmin` as `ctx.admin`.
 * - `kpasswdPort` (464): the password-change service, for a principal changing its own password
 *   (single-user without an admin).
 * - `kadminLocal`: run `kadmin.local` on this machine (the KDC's own, root, reading the database
 *   through `kdcProfile`, the kdc.conf) instead of remote kadmin; no admin credential needed.
 * - `toolsDir`: where MIT's tools are, searched before the system folders (Keyturn's own PATH is
 *   not passed on).
 * - `keytab`: after each change, a keytab file of the principal with the keys the KDC holds for it
 *   (`path`, `mode` "0600", `owner` { uid, gid }), written atomically.
 * - `timeoutMs`: bound on each tool run (default 10000 ms).
 *
 * @example
 * ```ts
 * kerberosConfigSchema.parse({ type: 'kerberos', realm: 'EXAMPLE.ORG', host: 'kdc.example.org' }).port; // 88
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { fileModeField } from '../../consumers/file/config.js';
import { hostField, portField } from '../config-fields.js';
import type { Strategy } from '../target.js';

/** Realm names the target takes: what a krb5.conf section and a kadmin query carry safely. */
export const REALM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Default bound on one tool run. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const absolutePath = (what: string) =>
  z.string({ error: `must be the absolute path of ${what}` }).refine((p) => isAbsolute(p) && !p.includes('\0') && !/[\r\n]/.test(p), `must be the absolute path of ${what}`);

const idField = z.number({ error: 'must be a numeric id' }).int('must be a whole number').min(0, 'must be 0 or more');

export const kerberosConfigSchema = z.strictObject({
  type: z.literal('kerberos'),
  realm: z.string({ error: 'must be a realm name such as EXAMPLE.ORG' }).regex(REALM, 'must be a realm name such as EXAMPLE.ORG (letters, digits, ".", "_", "-")').describe('the Kerberos realm'),
  host: hostField.describe('host name or IP address of the KDC'),
  port: portField.default(88).describe('port of the KDC (default 88)'),
  adminHost: hostField.optional().describe('host of kadmind (default: host)'),
  adminPort: portField.default(749).describe('port of kadmind (default 749)'),
  kpasswdPort: portField.default(464).describe('port of the password-change service (default 464), for a principal changing its own password'),
  kadminLocal: z.boolean({ error: 'must be true or false' }).optional().describe('run kadmin.local on this machine (the KDC host, as root) instead of remote kadmin with the admin credential'),
  kdcProfile: absolutePath('the kdc.conf').optional().describe('kadminLocal: the kdc.conf naming the database (default /etc/krb5kdc/kdc.conf)'),
  toolsDir: absolutePath('a folder')
    .refine((p) => !p.includes(':'), 'must not contain ":"')
    .optional()
    .describe('folder searched first for the MIT tools (kinit, kadmin, kadmin.local, kpasswd, ktutil, klist); then the system folders'),
  keytab: z
    .strictObject({
      path: absolutePath('the keytab file').describe('keytab file to write; replaced atomically'),
      mode: fileModeField.default('0600').describe('octal permission bits of the keytab, default "0600"'),
      owner: z.strictObject({ uid: idField, gid: idField.optional() }).optional().describe('numeric owner (and group) of the keytab'),
    })
    .optional()
    .describe("after each change, write a keytab with the principal's keys the KDC holds (dual-key: the previous kvno too, until revoke)"),
  timeoutMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(100, 'must be at least 100 ms')
    .max(600_000, 'must be at most 600000 ms (10 minutes)')
    .optional()
    .describe(`give up on one Kerberos tool run (kinit, kadmin, kpasswd) after this long (default ${DEFAULT_TIMEOUT_MS} ms)`),
});

export type KerberosTargetConfig = z.output<typeof kerberosConfigSchema>;

/** The strategies the kerberos target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const kerberosStrategies: readonly Strategy[] = ['single-user', 'dual-key'];
