/**
 * Bearer authentication for the local Secret Manager server, as Google's front end does it for a
 * service account: the `authorization` metadata carries `Bearer <token>`, where the token is the
 * self-signed JWT the Google auth library makes from a service-account key file (RS256, `iss` and
 * `sub` the account's email, `kid` its key id, a `scope` of cloud-platform or an `aud` of the
 * service) or an access token the server issued. Anything else is UNAUTHENTICATED.
 *
 * @example
 * ```ts
 * const accounts = new ServiceAccounts();
 * const key = accounts.add('keyturn@demo.iam.gserviceaccount.com'); // write it to a file for GOOGLE_APPLICATION_CREDENTIALS
 * accounts.verify('Bearer eyJ...', Date.now()); // the email, or throws
 * ```
 */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';

/** A service-account key file's content (the JSON `gcloud iam service-accounts keys create` writes). */
export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const AUDIENCES = ['https://secretmanager.googleapis.com/', 'https://secretmanager.googleapis.com'];

/** A new service-account key (RSA 2048), known to no server until added. */
export function newServiceAccountKey(email: string, projectId = 'keyturn-test'): { key: ServiceAccountKey; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key: ServiceAccountKey = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: email,
    client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)),
    token_uri: 'https://oauth2.googleapis.com/token',
  };
  return { key, publicKey };
}

export class AuthError extends Error {}

export class ServiceAccounts {
  private readonly keys = new Map<string, { email: string; publicKey: KeyObject }>();
  private readonly tokens = new Map<string, string>();

  /** Registers a new key for `email` and returns its key file content. */
  add(email: string, projectId?: string): ServiceAccountKey {
    const { key, publicKey } = newServiceAccountKey(email, projectId);
    this.keys.set(key.private_key_id, { email, publicKey });
    return key;
  }

  /** Registers an existing key file's public half. */
  trust(key: ServiceAccountKey): void {
    this.keys.set(key.private_key_id, { email: key.client_email, publicKey: createPublicKey(key.private_key) });
  }

  /** Revokes a key: its tokens are refused from now on. */
  revoke(key: ServiceAccountKey): void {
    this.keys.delete(key.private_key_id);
  }

  /** An opaque access token for `email` (as the metadata server or a token exchange would hand out). */
  issueToken(email: string): string {
    const token = `ya29.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, email);
    return token;
  }

  /** The caller's email for an `authorization` header value; throws AuthError otherwise. */
  async verify(header: string | undefined, nowMs: number): Promise<string> {
    const match = /^Bearer (\S+)$/i.exec(header ?? '');
    if (!match) throw new AuthError('Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    const token = match[1]!;
    const opaque = this.tokens.get(token);
    if (opaque !== undefined) return opaque;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new AuthError('Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    }
    const account = kid === undefined ? undefined : this.keys.get(kid);
    if (!account) throw new AuthError('Request had invalid authentication credentials: unknown key.');
    let claims: { iss?: string; sub?: string; exp?: number; iat?: number; scope?: string; aud?: string };
    try {
      const { payload } = await compactVerify(token, account.publicKey, { algorithms: ['RS256'] });
      claims = JSON.parse(new TextDecoder().decode(payload)) as typeof claims;
    } catch {
      throw new AuthError('Request had invalid authentication credentials: bad signature.');
    }
    if (claims.iss !== account.email || claims.sub !== account.email) throw new AuthError('Request had invalid authentication credentials: issuer is not the key owner.');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) throw new AuthError('Request had invalid authentication credentials: the token has expired.');
    if (typeof claims.iat === 'number' && claims.iat * 1000 > nowMs + 5 * 60_000) throw new AuthError('Request had invalid authentication credentials: the token is issued in the future.');
    const scoped = typeof claims.scope === 'string' && claims.scope.split(' ').includes(SCOPE);
    if (!scoped && !AUDIENCES.includes(claims.aud ?? '')) throw new AuthError('Request had insufficient authentication scopes.');
    return account.email;
  }
}
