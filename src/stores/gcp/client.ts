/**
 * The Secret Manager client the GCP store uses, made on first use: the official
 * `SecretManagerServiceClient` (gRPC) on the configured or regional endpoint, with Application
 * Default Credentials, and a retry policy of Keyturn's own:
 *
 * - reads (Get*, List*, AccessSecretVersion) retry UNAVAILABLE, RESOURCE_EXHAUSTED and
 *   DEADLINE_EXCEEDED (the SDK's default retries only AccessSecretVersion);
 * - writes retry RESOURCE_EXHAUSTED only: a quota refusal happens before the write, while an
 *   UNAVAILABLE write may have happened, so Keyturn's own checks (etags, version records) decide
 *   on its retry instead;
 * - every call, retries included, ends within `timeoutSeconds` (default 60; the SDK's is 600).
 *
 * Over plaintext gRPC to a loopback emulator (`insecure: true`) gRPC carries no call credentials,
 * so the store sends the ADC bearer token itself, as the `authorization` metadata of each call.
 *
 * @example
 * ```ts
 * const gcp = new GcpClient(config);
 * const [secret] = await gcp.client().getSecret({ name }, await gcp.options());
 * ```
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@google-cloud/secret-manager';
import type { GcpStoreConfig } from './config.js';

type Client = InstanceType<typeof v1.SecretManagerServiceClient>;

const SERVICE = 'google.cloud.secretmanager.v1.SecretManagerService';
const READS = ['GetSecret', 'ListSecrets', 'ListSecretVersions', 'GetSecretVersion', 'AccessSecretVersion'];
const WRITES = ['CreateSecret', 'UpdateSecret', 'DeleteSecret', 'AddSecretVersion', 'DisableSecretVersion', 'EnableSecretVersion', 'DestroySecretVersion'];

/** The client config (gapic format) for the retry policy above. */
export function retryConfig(timeoutMs: number): object {
  const methods: Record<string, object> = {};
  for (const m of READS) methods[m] = { timeout_millis: timeoutMs, retry_codes_name: 'keyturn_reads', retry_params_name: 'keyturn' };
  for (const m of WRITES) methods[m] = { timeout_millis: timeoutMs, retry_codes_name: 'keyturn_writes', retry_params_name: 'keyturn' };
  return {
    interfaces: {
      [SERVICE]: {
        retry_codes: { keyturn_reads: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED'], keyturn_writes: ['RESOURCE_EXHAUSTED'] },
        retry_params: {
          keyturn: {
            initial_retry_delay_millis: 100,
            retry_delay_multiplier: 1.6,
            max_retry_delay_millis: 5000,
            initial_rpc_timeout_millis: timeoutMs,
            rpc_timeout_multiplier: 1,
            max_rpc_timeout_millis: timeoutMs,
            total_timeout_millis: timeoutMs,
          },
        },
        methods,
      },
    },
  };
}

/** Per-call options: the bearer header on a plaintext channel. */
export interface CallOptions {
  otherArgs?: { headers: Record<string, string> };
}

export class GcpClient {
  private made: Client | undefined;
  /** `host:port` the client talks to (for messages). */
  readonly endpoint: string;

  constructor(private readonly config: GcpStoreConfig) {
    const host = config.apiEndpoint ?? (config.location ? `secretmanager.${config.location}.rep.googleapis.com` : 'secretmanager.googleapis.com');
    this.endpoint = `${host}:${config.port ?? 443}`;
  }

  /** `projects/P` or `projects/P/locations/L`. */
  get parent(): string {
    return this.config.location ? `projects/${this.config.project}/locations/${this.config.location}` : `projects/${this.config.project}`;
  }

  /** A global secret is replicated automatically; a regional secret takes no replication policy (its location is its home). */
  replication(): { replication?: { automatic: Record<string, never> } } {
    return this.config.location ? {} : { replication: { automatic: {} } };
  }

  client(): Client {
    if (this.made) return this.made;
    const c = this.config;
    const apiEndpoint = c.apiEndpoint ?? (c.location ? `secretmanager.${c.location}.rep.googleapis.com` : undefined);
    this.made = new v1.SecretManagerServiceClient({
      ...(apiEndpoint !== undefined ? { apiEndpoint } : {}),
      ...(c.port !== undefined ? { port: c.port } : {}),
      ...(c.insecure === true ? { sslCreds: grpc.credentials.createInsecure() } : {}),
      clientConfig: retryConfig((c.timeoutSeconds ?? 60) * 1000),
    });
    return this.made;
  }

  /** Options for one call (the bearer token on a plaintext channel; the SDK adds it over TLS). */
  async options(): Promise<CallOptions> {
    if (this.config.insecure !== true) return {};
    const auth = await this.client().auth.getClient();
    const headers = await auth.getRequestHeaders();
    const authorization = headers.get('authorization');
    return authorization ? { otherArgs: { headers: { authorization } } } : {};
  }

  async close(): Promise<void> {
    const made = this.made;
    this.made = undefined;
    await made?.close();
  }
}
