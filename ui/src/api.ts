/**
 * The dashboard's one way to the API: the token the user logged in with (kept in sessionStorage,
 * so it ends with the tab), sent as `Authorization: Bearer`; errors become an ApiError with the
 * server's KT_ code, message and fix. Every action goes through the same routes as the CLI.
 *
 * @example
 * ```ts
 * const inv = await api<Inventory>('GET', '/v1/inventory');
 * ```
 */
const KEY = 'keyturn.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (t: string): void => sessionStorage.setItem(KEY, t),
  clear: (): void => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix: string | null,
  ) {
    super(message);
  }
}

/** A path inside a URL: each segment escaped, the slashes kept. */
export const enc = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const t = token.get();
  const headers: Record<string, string> = t === null ? {} : { authorization: `Bearer ${t}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  const json = text === '' ? null : (JSON.parse(text) as unknown);
  if (!r.ok) {
    const e = (json as { error?: { code?: string; message?: string; fix?: string } } | null)?.error;
    throw new ApiError(r.status, e?.code ?? `HTTP_${r.status}`, e?.message ?? r.statusText, e?.fix ?? null);
  }
  return json as T;
}

const early = new Map<string, Promise<unknown>>();

/**
 * Starts a GET before the page needs it (at start-up, while the caller is checked), so the first
 * view waits for one round trip, not two; `api` hands the answer over once, then asks anew.
 */
export function prefetch(url: string): void {
  if (token.get() !== null && !early.has(url)) early.set(url, api('GET', url));
}

/** A GET, answered by its prefetch when one is waiting. */
export function get<T>(url: string): Promise<T> {
  const had = early.get(url);
  if (had === undefined) return api<T>('GET', url);
  early.delete(url);
  return had as Promise<T>;
}

export type Capability = 'read' | 'list' | 'write' | 'rotate' | 'delete' | 'admin' | 'audit' | 'approve';

export interface Self {
  tokenId: string;
  subject: string;
  policies: string[];
  everywhere: Capability[];
  path: string | null;
  capabilities: Capability[] | null;
}

export interface InventoryRow {
  path: string;
  type: string | null;
  target: string | null;
  ageMs: number;
  max: string;
  maxAgeMs: number | null;
  status: 'ok' | 'warning' | 'overdue' | 'failing';
  lifecycle: string;
  lastResult: string | null;
  lastRunId: string | null;
  lastRotation: string | null;
  overdueAt: string | null;
  dueAt: string | null;
  expiresAt: string | null;
}

export interface Inventory {
  now: string;
  counts: Record<string, number>;
  secrets: InventoryRow[];
}

/** A run's step as `keyturn runs show --json` prints it. */
export interface Step {
  seq: number;
  step: string;
  attempt: number;
  outcome: string;
  detail: string | null;
  errorCode: string | null;
  startedAt: string;
  ms: number | null;
}

/** A run as `GET /v1/runs/ID` answers (`keyturn runs show --json`); the list leaves out steps. */
export interface Run {
  id: string;
  path: string;
  strategy: string;
  status: string;
  step: string;
  attempt: number;
  error: { code: string; message: string | null } | null;
  createdAt: string;
  finishedAt: string | null;
  nextAttemptAt: string | null;
  fromVersionId: string | null;
  pendingVersionId: string | null;
  steps?: Step[];
  consumers?: Array<{ kind: string; target: string; status: string; attempts: number; error: { code: string; message: string | null } | string | null }>;
  agents?: { versionId: string; have: Array<{ agent: string }>; missing: Array<{ agent: string }> } | null;
}
