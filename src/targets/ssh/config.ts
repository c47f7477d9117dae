/**
 * The ssh target's configuration (strict zod schema, used by the keyturn.yaml loader). The
 * credential is `{ username, password }` where `password` holds the login's PRIVATE key (OpenSSH
 * or PKCS#8 PEM text; Ed25519 from `newSecret`); the target edits the account's authorized_keys
 * over SSH (./ssh-target.ts).
 *
 * - `host`, `port` (22): the SSH server.
 * - `authorizedKeysPath`: where the account's keys are, `~{username}/.ssh/authorized_keys` by
 *   default: `~{username}/` is the account's home directory (from the passwd database), and
 *   `{username}` anywhere else is the user name; any other path must be absolute.
 * - `hostKey`: the server's host key fingerprint (`SHA256:...`, as `ssh-keygen -l -f` prints it).
 *   Without it the host key is NOT verified (any server answering at host:port is trusted with
 *   the login); set it in production.
 * - `connectTimeoutMs`: bound on connecting, the handshake and the login (default 10000 ms).
 *
 * @example
 * ```ts
 * sshConfigSchema.parse({ type: 'ssh', host: 'web1.example.org' }).authorizedKeysPath; // '~{username}/.ssh/authorized_keys'
 * ```
 */
import { z } from 'zod';
import type { Strategy } from '../target.js';
import { connectTimeoutField, hostField, portField } from '../config-fields.js';

/** The default place of an account's authorized keys. */
export const DEFAULT_AUTHORIZED_KEYS = '~{username}/.ssh/authorized_keys';

/** A SHA-256 host key fingerprint as OpenSSH prints it: `SHA256:` and 43 characters of unpadded base64. */
export const HOST_KEY_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export const sshConfigSchema = z.strictObject({
  type: z.literal('ssh'),
  host: hostField.describe('host name or IP address of the SSH server'),
  port: portField.default(22).describe('port of the SSH server (default 22)'),
  authorizedKeysPath: z
    .string({ error: 'must be a path such as ~{username}/.ssh/authorized_keys' })
    // eslint-disable-next-line no-control-regex
    .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), 'must not contain control characters')
    .refine((p) => p.startsWith('~{username}/') || p.startsWith('/'), 'must start with "~{username}/" (the home directory) or "/"')
    .refine((p) => !p.split('/').includes('..'), 'must not contain ".."')
    .default(DEFAULT_AUTHORIZED_KEYS)
    .describe('the authorized_keys file of the account; "~{username}/" is its home directory, "{username}" its name (default ~{username}/.ssh/authorized_keys)'),
  hostKey: z
    .string({ error: 'must be a host key fingerprint such as SHA256:...' })
    .regex(HOST_KEY_FINGERPRINT, 'must be a host key fingerprint "SHA256:" + 43 base64 characters, as ssh-keygen -l -f prints it')
    .optional()
    .describe("the server's host key fingerprint (SHA256:...); without it the host key is NOT verified"),
  connectTimeoutMs: connectTimeoutField,
});

export type SshTargetConfig = z.output<typeof sshConfigSchema>;

/** The strategies the ssh target rotates with (its registry entry carries them; `keyturn apply` checks them). */
export const sshStrategies: readonly Strategy[] = ['single-user', 'dual-key'];
