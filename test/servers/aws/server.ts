/**
 * A local AWS Secrets Manager for tests: an in-process HTTP server speaking the service's real
 * wire protocol (AWS JSON 1.1: `POST /`, `X-Amz-Target: secretsmanager.<Operation>`,
 * `Content-Type: application/x-amz-json-1.1`), verifying every request's SigV4 signature against
 * its known test keys, so that the official SDK (and any other client, e.g. a child `keyturn`
 * process) talks to it unchanged with only the endpoint and credentials set. Fault switches answer
 * ThrottlingException or InternalServiceError for the next calls. See ./README.md.
 *
 * @example
 * ```ts
 * const aws = await startAwsServer({ clock });
 * process.env.AWS_ACCESS_KEY_ID = AWS_TEST_ACCESS_KEY_ID; process.env.AWS_SECRET_ACCESS_KEY = AWS_TEST_SECRET_ACCESS_KEY;
 * const client = new SecretsManagerClient({ region: aws.region, endpoint: aws.url });
 * aws.faults.throttle(2); // the next two calls answer ThrottlingException (the SDK retries them)
 * await aws.close();
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AwsError, SecretsModel } from './model.js';
import { verifySigV4 } from './sigv4.js';

/**
 * The test key pair the server accepts by default (put them in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
 *
 * @example
 * ```ts
 * process.env.AWS_ACCESS_KEY_ID = AWS_TEST_ACCESS_KEY_ID;
 * ```
 */
export const AWS_TEST_ACCESS_KEY_ID = 'AKIAKEYTURNTEST00001';
export const AWS_TEST_SECRET_ACCESS_KEY = 'keyturn/local/secrets-manager/test-key';

type FaultKind = 'ThrottlingException' | 'InternalServiceError';

export interface AwsServerOptions {
  clock?: { now(): number };
  region?: string;
  /** Access key id → secret access key (default: the one test key pair). */
  keys?: Record<string, string>;
  /** Largest page of a list call (default 100, AWS's maximum). */
  maxPageSize?: number;
  /** ListSecrets misses secrets created less than this long ago (default 0; AWS documents up to five minutes). */
  listLagMs?: number;
}

export interface AwsServer {
  /** The endpoint, `http://127.0.0.1:<port>`. */
  url: string;
  region: string;
  model: SecretsModel;
  /** Calls answered per operation (refused ones included). */
  calls: Map<string, number>;
  faults: {
    /** The next `times` calls (of `op`, or any) answer 400 ThrottlingException "Rate exceeded". */
    throttle(times: number, op?: string): void;
    /** The next `times` calls (of `op`, or any) answer 500 InternalServiceError. */
    internalError(times: number, op?: string): void;
    clear(): void;
  };
  close(): Promise<void>;
}

/**
 * Starts the server on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const aws = await startAwsServer({ clock: manualClock(), maxPageSize: 2 });
 * ```
 */
export async function startAwsServer(options: AwsServerOptions = {}): Promise<AwsServer> {
  const region = options.region ?? 'us-east-1';
  const keys = options.keys ?? { [AWS_TEST_ACCESS_KEY_ID]: AWS_TEST_SECRET_ACCESS_KEY };
  const model = new SecretsModel({
    clock: options.clock ?? { now: () => Date.now() },
    region,
    ...(options.maxPageSize ? { maxPageSize: options.maxPageSize } : {}),
    ...(options.listLagMs ? { listLagMs: options.listLagMs } : {}),
  });
  const calls = new Map<string, number>();
  let pending: Array<{ kind: FaultKind; op: string | undefined; left: number }> = [];

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
    res.end(text);
  };
  // Front-end errors (auth, throttling, protocol) carry "message"; the service's own exceptions "Message".
  const refuse = (res: ServerResponse, status: number, type: string, message: string): void => send(res, status, { __type: type, message });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
    calls.set(op, (calls.get(op) ?? 0) + 1);
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') return refuse(res, 404, 'UnknownOperationException', 'Only POST / is served.');
    const refusal = verifySigV4({ method: req.method, path: req.url ?? '/', headers: req.headers, body }, keys);
    if (refusal) return refuse(res, refusal.status, refusal.type, refusal.message);
    if (op === '') return refuse(res, 400, 'UnknownOperationException', '');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) return refuse(res, 400, 'SerializationException', 'Content-Type must be application/x-amz-json-1.1');
    const fault = pending.find((f) => f.left > 0 && (f.op === undefined || f.op === op));
    if (fault) {
      fault.left -= 1;
      pending = pending.filter((f) => f.left > 0);
      if (fault.kind === 'ThrottlingException') return refuse(res, 400, 'ThrottlingException', 'Rate exceeded');
      return send(res, 500, { __type: 'InternalServiceError', Message: 'An error occurred on the server side.' });
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return refuse(res, 400, 'SerializationException', 'Start of structure or map found where not expected.');
    }
    try {
      send(res, 200, model.call(op, input));
    } catch (e) {
      if (e instanceof AwsError) return send(res, e.status, { __type: e.type, Message: e.message });
      return send(res, 500, { __type: 'InternalServiceError', Message: String(e) });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    region,
    model,
    calls,
    faults: {
      throttle: (times, op) => void pending.push({ kind: 'ThrottlingException', op, left: times }),
      internalError: (times, op) => void pending.push({ kind: 'InternalServiceError', op, left: times }),
      clear: () => void (pending = []),
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
