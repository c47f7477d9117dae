/**
 * A JWKS endpoint for the OIDC tests (node:http on 127.0.0.1) and signing keys made with jose:
 * one key set per URL path, a count of fetches, an answer status to fail with, `/hang` never
 * answers and `/big` is too large.
 *
 * @example
 * ```ts
 * const jwks = await jwksServer();
 * const rsa = await newKey('RS256', 'k8s-1');
 * jwks.sets.set('/k8s/jwks', [rsa.jwk]); // jwksUrl: `${jwks.url}/k8s/jwks`
 * ```
 */
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export interface Key {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function newKey(alg: string, kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS endpoint: one key set per path, a count of fetches, and an answer status to fail with. */
export async function jwksServer(): Promise<{ url: string; sets: Map<string, JWK[]>; fetches: () => number; status: { code: number }; close(): Promise<void> }> {
  const sets = new Map<string, JWK[]>();
  const status = { code: 200 };
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    fetches += 1;
    if (req.url === '/hang') return; // never answers
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [], pad: 'x'.repeat(600 * 1024) }));
      return;
    }
    const keys = sets.get(req.url ?? '');
    if (status.code !== 200 || !keys) {
      res.writeHead(status.code === 200 ? 404 : status.code).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    sets,
    fetches: () => fetches,
    status,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
