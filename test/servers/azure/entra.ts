/**
 * A local Microsoft Entra ID authority for the local Key Vault: the OAuth 2.0 client-credentials
 * token endpoint (`POST /<tenant>/oauth2/v2.0/token`) and the OpenID discovery document MSAL reads
 * (`GET /<tenant>/v2.0/.well-known/openid-configuration`), on its own HTTPS port (the "login"
 * host, apart from the vault's). It knows one tenant and one app registration, which signs in
 * either with its client secret (EnvironmentCredential: AZURE_CLIENT_SECRET) or with a federated
 * credential (WorkloadIdentityCredential: AZURE_FEDERATED_TOKEN_FILE holding a token from a
 * trusted issuer, as AKS workload identity projects a service-account token). It issues the
 * access tokens the vault accepts. Written from the Microsoft identity platform's published
 * protocol pages (client credentials flow, client assertions, workload identity federation, error
 * codes); our own code. See README.md.
 *
 * @example
 * ```ts
 * const entra = await startEntra({ tenantId, tls, mint });
 * process.env.AZURE_AUTHORITY_HOST = entra.authorityHost;
 * writeFileSync(tokenFile, await entra.federatedToken());
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';

/** The audience Entra requires in a federated credential's token (Azure's default for workload identity). */
export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface EntraOptions {
  tenantId: string;
  tls: { key: string; cert: string };
  /** Signs an access token for `audience` (a resource such as https://vault.azure.net) issued to `clientId`. */
  mint(audience: string, clientId: string): Promise<{ token: string; expiresInS: number }>;
  /** The resources this tenant issues tokens for. */
  resources: string[];
}

export interface LocalEntra {
  /** `https://127.0.0.1:<port>`: what AZURE_AUTHORITY_HOST (or the store's `authorityHost`) names. */
  readonly authorityHost: string;
  /** The app registration's client id (AZURE_CLIENT_ID). */
  readonly clientId: string;
  /** The app registration's client secret (AZURE_CLIENT_SECRET). */
  readonly clientSecret: string;
  /** The federated credential the app trusts: the issuer, subject and audience of its tokens. */
  readonly federated: { readonly issuer: string; readonly subject: string; readonly audience: string };
  /**
   * A token from the trusted issuer (what the file AZURE_FEDERATED_TOKEN_FILE names holds), valid
   * for a day; `wrongKey` signs it with a key the issuer does not publish, `subject` names another one.
   */
  federatedToken(options?: { wrongKey?: boolean; subject?: string }): Promise<string>;
  /** Token requests served so far, by outcome (`ok`, or the OAuth error code). */
  readonly tokenRequests: string[];
  close(): Promise<void>;
}

/**
 * Starts the authority on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const entra = await startEntra({ tenantId, tls: { key, cert }, resources: ['https://vault.azure.net'], mint });
 * ```
 */
export async function startEntra(options: EntraOptions): Promise<LocalEntra> {
  const { tenantId } = options;
  const clientId = randomUUID();
  const clientSecret = `kt~${randomBytes(24).toString('base64url')}`;
  const issuerKeys = await generateKeyPair('RS256', { extractable: true });
  const rogueKeys = await generateKeyPair('RS256', { extractable: true });
  const federated = { issuer: 'https://oidc.keyturn.test/', subject: 'system:serviceaccount:keyturn:keyturn', audience: FEDERATED_AUDIENCE };
  const tokenRequests: string[] = [];

  const server = createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    void handle(req, res).catch((e: unknown) => oauthError(res, 500, 'server_error', 50000, `internal error: ${String(e)}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function discovery(tenant: string): Record<string, unknown> {
    const base = `${authorityHost}/${tenant}`;
    return {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${authorityHost}/${tenant}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      tenant_region_scope: null,
      cloud_instance_name: 'keyturn.test',
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', authorityHost);
    const [tenant, ...rest] = u.pathname.split('/').slice(1);
    const tail = rest.join('/');
    const known = tenant === tenantId || tenant === 'organizations' || tenant === 'common';
    if (req.method === 'GET' && tail === 'v2.0/.well-known/openid-configuration') {
      if (!known) return oauthError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenant ?? ''}' not found.`);
      return json(res, 200, discovery(tenant === tenantId ? tenantId : '{tenantid}'));
    }
    if (req.method === 'POST' && tail === 'oauth2/v2.0/token') {
      const outcome = await token(tenant ?? '', new URLSearchParams(Buffer.concat(chunks).toString('utf8')), res);
      tokenRequests.push(outcome);
      return;
    }
    return oauthError(res, 404, 'invalid_request', 900561, `The endpoint ${req.method ?? 'GET'} ${u.pathname} does not exist.`);
  }

  /** The client-credentials grant, with Entra's checks and error codes; returns the outcome. */
  async function token(tenant: string, form: URLSearchParams, res: ServerResponse): Promise<string> {
    const fail = (status: number, error: string, code: number, description: string): string => {
      oauthError(res, status, error, code, description);
      return error;
    };
    if (tenant !== tenantId) return fail(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`);
    if (form.get('grant_type') !== 'client_credentials') return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const requested = (form.get('scope') ?? '').split(' ').filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
    if (requested.length !== 1 || !requested[0]!.endsWith('/.default')) {
      return fail(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${requested.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
      );
    }
    const resource = requested[0]!.slice(0, -'/.default'.length);
    if (!options.resources.includes(resource)) return fail(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant.`);
    if (form.get('client_id') !== clientId) return fail(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory.`);
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (secret !== clientSecret)
        return fail(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) return fail(400, 'invalid_request', 50027, 'Invalid client_assertion_type.');
      const refused = await checkAssertion(assertion);
      if (refused !== null) return fail(refused.status, 'invalid_client', refused.code, refused.message);
    } else {
      return fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const { token: accessToken, expiresInS } = await options.mint(resource, clientId);
    json(res, 200, { token_type: 'Bearer', expires_in: expiresInS, ext_expires_in: expiresInS, access_token: accessToken });
    return 'ok';
  }

  /** Null when the assertion is a token of the federated credential's issuer, subject and audience, signed by the issuer's key and not expired. */
  async function checkAssertion(assertion: string): Promise<{ status: number; code: number; message: string } | null> {
    try {
      await jwtVerify(assertion, issuerKeys.publicKey, { issuer: federated.issuer, subject: federated.subject, audience: federated.audience, algorithms: ['RS256'] });
      return null;
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code === 'ERR_JWT_EXPIRED') return { status: 400, code: 700024, message: 'Client assertion is not within its valid time range.' };
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return { status: 401, code: 5002738, message: `Invalid JWT token. The token was not signed by a key published by ${federated.issuer}.` };
      return { status: 400, code: 70021, message: 'No matching federated identity record found for presented assertion.' };
    }
  }

  async function federatedToken(o: { wrongKey?: boolean; subject?: string } = {}): Promise<string> {
    const key: CryptoKey = o.wrongKey ? rogueKeys.privateKey : issuerKeys.privateKey;
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'keyturn-test' })
      .setIssuer(federated.issuer)
      .setSubject(o.subject ?? federated.subject)
      .setAudience([federated.audience])
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('24h')
      .sign(key);
  }

  return {
    authorityHost,
    clientId,
    clientSecret,
    federated,
    federatedToken,
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store, no-cache' }).end(text);
}

/** Entra's error body: the OAuth error, an AADSTS description, its code, and ids. */
function oauthError(res: ServerResponse, status: number, error: string, code: number, message: string): void {
  const traceId = randomUUID();
  json(res, status, {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${traceId}`,
    error_codes: [code],
    timestamp: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
    trace_id: traceId,
    correlation_id: randomUUID(),
  });
}
