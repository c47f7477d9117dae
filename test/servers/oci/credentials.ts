/**
 * An OCI API signing key for tests: an RSA key pair, written as the private key file and the
 * OCI config file (`~/.oci/config` format) that the SDK's ConfigFileAuthenticationDetailsProvider
 * reads, with the keyId (`tenancy/user/fingerprint`) the local server checks signatures with.
 *
 * @example
 * ```ts
 * const creds = writeOciCredentials(dir, { region: 'us-ashburn-1' });
 * const server = await startOciServer({ keys: [creds] });
 * ```
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OciCredentials {
  /** The config file to hand the store (`auth: { type: 'config-file', file }`). */
  readonly configFile: string;
  readonly profile: string;
  /** `tenancy/user/fingerprint`, what a signed request names. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

/** Writes a fresh key pair and an OCI config file naming it under `dir`. */
export function writeOciCredentials(dir: string, options: { region?: string; profile?: string; name?: string } = {}): OciCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name = options.name ?? 'oci';
  const keyFile = join(dir, `${name}-key.pem`);
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const fingerprint = (createHash('md5').update(der).digest('hex').match(/../g) ?? []).join(':');
  const tenancy = 'ocid1.tenancy.oc1..keyturntest';
  const user = `ocid1.user.oc1..${name}`;
  const profile = options.profile ?? 'DEFAULT';
  const configFile = join(dir, `${name}-config`);
  const lines = [`[${profile}]`, `user=${user}`, `fingerprint=${fingerprint}`, `tenancy=${tenancy}`, `region=${options.region ?? 'us-ashburn-1'}`, `key_file=${keyFile}`, ''];
  writeFileSync(configFile, lines.join('\n'), { mode: 0o600 });
  return { configFile, profile, keyId: `${tenancy}/${user}/${fingerprint}`, publicKey: createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })) };
}
