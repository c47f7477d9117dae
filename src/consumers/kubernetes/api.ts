/**
 * The consumer's way to the Kubernetes API: @kubernetes/client-node, loaded only when a delivery
 * runs, with a kubeconfig from the config (`kubeconfig`, `context`) or the default chain; calls
 * retried on throttling (429, honouring Retry-After), 5xx and unreachable servers, within the
 * delivery's abort signal; and failures as short reasons (HTTP code, Status reason and message;
 * never a body or a value).
 *
 * @example
 * ```ts
 * const api = await connect(config);
 * const secret = await api.call(ctx.signal, 'reading Secret apps/db', () => api.core.readNamespacedSecret({ name: 'db', namespace: 'apps' }));
 * ```
 */
import type * as K8s from '@kubernetes/client-node';

/** A failed API call: its HTTP code (0: no answer) and a reason fit for an error message. */
export class KubeCallError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly statusReason: string | null,
  ) {
    super(reason);
  }
}

export interface KubeApi {
  readonly sdk: typeof K8s;
  readonly core: K8s.CoreV1Api;
  readonly apps: K8s.AppsV1Api;
  /** The namespace to use: the config's, else the context's, else `default`. */
  readonly namespace: string;
  readonly server: string;
  /** Runs `fn`, retrying throttling, 5xx and connection failures; throws KubeCallError. */
  call<T>(signal: AbortSignal, what: string, fn: () => Promise<T>): Promise<T>;
}

const RETRIES = 5;
const MAX_RETRY_AFTER_MS = 10_000;

/** Loads the SDK and the kubeconfig (also used by the kubernetes store); throws KubeCallError (code 0) when the kubeconfig cannot be used. */
export async function connect(config: { readonly kubeconfig?: string; readonly context?: string; readonly namespace?: string }): Promise<KubeApi> {
  const sdk = await import('@kubernetes/client-node');
  const kc = new sdk.KubeConfig();
  try {
    if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
    if (config.context !== undefined) {
      if (!kc.getContexts().some((c) => c.name === config.context)) throw new Error(`the kubeconfig has no context "${config.context}"`);
      kc.setCurrentContext(config.context);
    }
  } catch (e) {
    throw new KubeCallError(0, `could not load the kubeconfig${config.kubeconfig ? ` ${config.kubeconfig}` : ''} (${shortMessage(e)})`, null);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeCallError(0, 'the kubeconfig names no cluster for its current context', null);
  // loadFromDefault's last resort, when it found no kubeconfig and no service account.
  if (config.kubeconfig === undefined && cluster.name === 'cluster' && cluster.server === 'http://localhost:8080')
    throw new KubeCallError(0, 'no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster (no service account token); set kubeconfig', null);
  const namespace = config.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return {
    sdk,
    core: kc.makeApiClient(sdk.CoreV1Api),
    apps: kc.makeApiClient(sdk.AppsV1Api),
    namespace,
    server: cluster.server,
    call: (signal, what, fn) => withRetries(signal, what, cluster.server, fn),
  };
}

function shortMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 200);
}

/**
 * The code and reason of an SDK failure. `scrub` cleans the server's own message (a Status
 * message, an error's first line) before it goes into the reason.
 */
export function describeFailure(e: unknown, server: string, scrub: (text: string) => string = (t) => t): KubeCallError {
  if (e instanceof KubeCallError) return e;
  const err = e as { code?: unknown; body?: unknown; headers?: Record<string, string>; cause?: { code?: unknown } };
  if (typeof err.code === 'number' && err.code >= 100) {
    let body = err.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body) as unknown;
      } catch {
        body = undefined;
      }
    }
    const status = (typeof body === 'object' && body !== null ? body : {}) as { reason?: unknown; message?: unknown };
    const reason = typeof status.reason === 'string' ? status.reason : null;
    const message = typeof status.message === 'string' ? scrub(status.message).slice(0, 300) : null;
    return new KubeCallError(err.code, `the Kubernetes API answered ${err.code}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`, reason);
  }
  const cause = typeof err.cause?.code === 'string' ? err.cause.code : e instanceof Error && /fetch failed|ECONN|ENOTFOUND|socket/i.test(e.message) ? 'no answer' : null;
  if (cause !== null) return new KubeCallError(0, `cannot reach the Kubernetes API server at ${server} (${cause})`, null);
  return new KubeCallError(0, `the Kubernetes client failed (${scrub(shortMessage(e))})`, null);
}

function retryAfterMs(e: unknown): number | null {
  const headers = (e as { headers?: Record<string, string> }).headers;
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (raw === undefined) return null;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : null;
}

/** Resolves after `ms`, or rejects once `signal` aborts. */
export function pause(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new KubeCallError(0, 'the delivery was cancelled', null));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new KubeCallError(0, 'the delivery was cancelled', null));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function withRetries<T>(signal: AbortSignal, what: string, server: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw new KubeCallError(0, `${what} was cancelled`, null);
    try {
      return await fn();
    } catch (e) {
      const failure = describeFailure(e, server);
      const transient = failure.code === 429 || failure.code >= 500 || (failure.code === 0 && failure.reason.startsWith('cannot reach'));
      if (!transient || attempt >= RETRIES) throw failure;
      const wait = retryAfterMs(e) ?? Math.min(100 * 2 ** attempt, 2_000);
      await pause(signal, wait);
    }
  }
}
