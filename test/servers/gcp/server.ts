/**
 * A local Google Secret Manager (v1) speaking gRPC, for the GCP store's tests: the official
 * `@google-cloud/secret-manager` client talks to it unchanged (only the endpoint and a plaintext
 * channel are set). Every call is authenticated as Google's front end does (bearer token in the
 * `authorization` metadata, see ./auth.ts); fault switches refuse the next calls with
 * RESOURCE_EXHAUSTED (quota) or UNAVAILABLE, and `deny` answers PERMISSION_DENIED.
 *
 * @example
 * ```ts
 * const server = await startGcpServer({ clock });
 * writeFileSync(keyFile, JSON.stringify(server.key)); // GOOGLE_APPLICATION_CREDENTIALS=keyFile
 * const store = create({ type: 'gcp', project: 'keyturn-test', apiEndpoint: '127.0.0.1', port: server.port, insecure: true }, deps);
 * server.faults.resourceExhausted = 2; // the next two calls are refused
 * await server.close();
 * ```
 */
import * as grpc from '@grpc/grpc-js';
import { AuthError, ServiceAccounts, type ServiceAccountKey } from './auth.js';
import { RpcError, SecretModel } from './model.js';
import { secretManagerService } from './proto.js';

export interface GcpServerOptions {
  /** Times of creation and destruction (default: the system clock). */
  clock?: { now(): number };
  /** The project of the service account the server makes (default `keyturn-test`). */
  project?: string;
}

export interface GcpServer {
  /** `127.0.0.1:port`. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** A service-account key file's content the server trusts (write it to a file for GOOGLE_APPLICATION_CREDENTIALS). */
  readonly key: ServiceAccountKey;
  readonly accounts: ServiceAccounts;
  readonly model: SecretModel;
  /** The next N calls are refused with the code (counted down as they are refused). */
  readonly faults: { resourceExhausted: number; unavailable: number };
  /** Every caller is refused with PERMISSION_DENIED while true. */
  deny: boolean;
  /** Calls by method name (refused ones included), and how many were refused by a fault. */
  readonly calls: Record<string, number>;
  readonly refused: { resourceExhausted: number; unavailable: number; unauthenticated: number };
  close(): Promise<void>;
}

type Handler = (request: never) => unknown;

/**
 * Starts the server on 127.0.0.1 (a free port).
 *
 * @example
 * ```ts
 * const server = await startGcpServer();
 * ```
 */
export async function startGcpServer(options: GcpServerOptions = {}): Promise<GcpServer> {
  const clock = options.clock ?? { now: () => Date.now() };
  const model = new SecretModel(clock);
  const accounts = new ServiceAccounts();
  const project = options.project ?? 'keyturn-test';
  const key = accounts.add(`keyturn@${project}.iam.gserviceaccount.com`, project);
  const faults = { resourceExhausted: 0, unavailable: 0 };
  const refused = { resourceExhausted: 0, unavailable: 0, unauthenticated: 0 };
  const calls: Record<string, number> = {};
  const state = { deny: false };

  const handlers: Record<string, Handler> = {
    ListSecrets: (r) => model.listSecrets(r),
    CreateSecret: (r) => model.createSecret(r),
    AddSecretVersion: (r) => model.addSecretVersion(r),
    GetSecret: (r) => model.getSecret(r),
    UpdateSecret: (r) => model.updateSecret(r),
    DeleteSecret: (r) => model.deleteSecret(r),
    ListSecretVersions: (r) => model.listSecretVersions(r),
    GetSecretVersion: (r) => model.getSecretVersion(r),
    AccessSecretVersion: (r) => model.accessSecretVersion(r),
    DisableSecretVersion: (r) => model.setVersionState(r, 'DISABLED'),
    EnableSecretVersion: (r) => model.setVersionState(r, 'ENABLED'),
    DestroySecretVersion: (r) => model.setVersionState(r, 'DESTROYED'),
  };

  const service = secretManagerService();
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(service)) {
    const name = method.originalName ?? key;
    const rpc = Object.keys(handlers).find((h) => h.toLowerCase() === name.toLowerCase() || h === key);
    implementation[key] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const method = rpc ?? key;
      calls[method] = (calls[method] ?? 0) + 1;
      void (async () => {
        try {
          if (faults.unavailable > 0) {
            faults.unavailable -= 1;
            refused.unavailable += 1;
            throw new RpcError(grpc.status.UNAVAILABLE, 'The service is currently unavailable.');
          }
          if (faults.resourceExhausted > 0) {
            faults.resourceExhausted -= 1;
            refused.resourceExhausted += 1;
            throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute'.");
          }
          const header = call.metadata.get('authorization')[0];
          try {
            await accounts.verify(typeof header === 'string' ? header : header?.toString('utf8'), Date.now());
          } catch (e) {
            if (e instanceof AuthError) {
              refused.unauthenticated += 1;
              throw new RpcError(grpc.status.UNAUTHENTICATED, e.message);
            }
            throw e;
          }
          if (state.deny) throw new RpcError(grpc.status.PERMISSION_DENIED, `Permission denied on resource (or it may not exist).`);
          const handler = rpc === undefined ? undefined : handlers[rpc];
          if (!handler) throw new RpcError(grpc.status.UNIMPLEMENTED, `Method ${name} is not implemented by the local server.`);
          callback(null, handler(call.request as never));
        } catch (e) {
          if (e instanceof RpcError) callback({ code: e.code, details: e.message, metadata: new grpc.Metadata() });
          else callback({ code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e), metadata: new grpc.Metadata() });
        }
      })();
    };
  }

  const server = new grpc.Server();
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    endpoint: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    key,
    accounts,
    model,
    faults,
    calls,
    refused,
    get deny() {
      return state.deny;
    },
    set deny(v: boolean) {
      state.deny = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls still open (a client waiting on a retry) must not hold the test.
        setImmediate(() => server.forceShutdown());
      }),
  };
}
