/**
 * The GCP Secret Manager store's config (KEYTURN_STORE_FILE): the project, an optional location
 * (regional secrets, on the regional endpoint), an optional secret id prefix, and the endpoint.
 * No credential: the Google auth library finds Application Default Credentials
 * (GOOGLE_APPLICATION_CREDENTIALS, the gcloud user, workload identity, the metadata server).
 *
 * @example
 * ```ts
 * configSchema.parse({ type: 'gcp', project: 'acme-prod', location: 'europe-west1', prefix: 'keyturn-' });
 * ```
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True for a loopback host name or address (plaintext gRPC is allowed only there). */
export function isLoopback(host: string): boolean {
  if (LOOPBACK.has(host)) return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export const configSchema = z
  .strictObject({
    type: z.literal('gcp'),
    /** The Google Cloud project id (or number) holding the secrets. */
    project: z.string().regex(/^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$/, 'a project id (6 to 30 of a-z, 0-9 and -) or a project number'),
    /** A location for regional secrets (e.g. `europe-west1`): secrets live under projects/P/locations/L, served by secretmanager.L.rep.googleapis.com. */
    location: z
      .string()
      .regex(/^[a-z]+-[a-z]+[0-9]+$/, 'a Google Cloud region such as europe-west1')
      .optional(),
    /** Prepended to every secret id Keyturn makes (letters, digits, _ and -), to keep Keyturn's secrets apart from others in the project. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{0,64}$/, 'at most 64 of A-Z, a-z, 0-9, _ and -')
      .optional(),
    /** The API host (default secretmanager.googleapis.com, or the location's regional endpoint). */
    apiEndpoint: z
      .string()
      .regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/, 'a host name or address, without scheme or port')
      .optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** Plaintext gRPC (no TLS): only to a loopback apiEndpoint, for a local emulator. The bearer token is still sent. */
    insecure: z.boolean().optional(),
    /** How long one call may take, its retries included, before KT_STORE_UNAVAILABLE (default 60). */
    timeoutSeconds: z.number().int().min(1).max(600).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.insecure === true && (c.apiEndpoint === undefined || !isLoopback(c.apiEndpoint))) {
      ctx.addIssue({ code: 'custom', path: ['insecure'], message: 'plaintext gRPC is allowed only to a loopback apiEndpoint (127.0.0.1, ::1, localhost)' });
    }
  });

export type GcpStoreConfig = z.infer<typeof configSchema>;
