/**
 * The HTTP-01 challenge answers (RFC 8555 section 8.3): a small HTTP server on the target's
 * `challenge.listen`, up only while an order is validated, answering
 * `GET /.well-known/acme-challenge/<token>` with the key authorization of a token it was given
 * and 404 to anything else. A port already in use (another web server on port 80) is
 * KT_TARGET_FAILED naming the address.
 *
 * @example
 * ```ts
 * const server = await startHttp01('0.0.0.0', 80);
 * server.add(token, keyAuthorization);
 * await server.close();
 * ```
 */
import { createServer } from 'node:http';
import { KeyturnError } from '../../core/errors.js';

const PREFIX = '/.well-known/acme-challenge/';

export interface Http01Server {
  /** Serve `keyAuthorization` for `token`. */
  add(token: string, keyAuthorization: string): void;
  /** How many answers were served (for logs). */
  readonly served: number;
  close(): Promise<void>;
}

export function startHttp01(host: string, port: number): Promise<Http01Server> {
  const answers = new Map<string, string>();
  let served = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const answer = (req.method === 'GET' || req.method === 'HEAD') && path.startsWith(PREFIX) ? answers.get(path.slice(PREFIX.length)) : undefined;
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    served += 1;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) }).end(req.method === 'HEAD' ? undefined : answer);
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        new KeyturnError('KT_TARGET_FAILED', `acme: the HTTP-01 challenge server cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${e.code ?? 'unknown reason'})`, {
          details: { target: 'acme', host, port, driverCode: e.code },
        }),
      );
    });
    server.listen(port, host, () => {
      resolve({
        add: (token, keyAuthorization) => void answers.set(token, keyAuthorization),
        get served() {
          return served;
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
