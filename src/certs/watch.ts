/**
 * `keyturn cert watch` without the command line: probes endpoints a few at a time (./probe.ts),
 * grades each certificate by the time left before its notAfter (ok, warning within `warnMs`,
 * critical within `criticalMs`, expired), and gives the exit code of the whole check. The time is
 * passed in (`now`), so the grading is a pure function of the certificate.
 *
 * @example
 * ```ts
 * const results = await watchEndpoints([parseEndpoint('example.com:443')], { warnMs: 30 * DAY_MS, criticalMs: 7 * DAY_MS, timeoutMs: 10_000, now: Date.now });
 * watchOutcome(results); // 'ok' when every certificate is fine
 * ```
 */
import { isIP } from 'node:net';
import type { KeyturnError } from '../core/errors.js';
import type { Endpoint } from './endpoint.js';
import { probeEndpoint, type CertificateFacts, type ProbeOptions } from './probe.js';

export const DAY_MS = 86_400_000;

/** How many endpoints are probed at once. */
export const WATCH_CONCURRENCY = 8;

export const CERT_STATUSES = ['ok', 'warning', 'critical', 'expired', 'error'] as const;
export type CertStatus = (typeof CERT_STATUSES)[number];

export interface WatchOptions extends ProbeOptions {
  readonly warnMs: number;
  readonly criticalMs: number;
  /** The clock, read when each certificate is graded. */
  readonly now: () => number;
  readonly concurrency?: number;
  /** The probe (tests give their own; default probeEndpoint). */
  readonly probe?: typeof probeEndpoint;
}

/** One endpoint's result, as `--json` prints it. */
export interface WatchResult {
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** The name sent as SNI and checked against the certificate (null: an IP address and no --servername). */
  readonly servername: string | null;
  readonly status: CertStatus;
  /** Whole days until notAfter, rounded down (negative once expired); null on error. */
  readonly daysLeft: number | null;
  readonly certificate: Omit<CertificateFacts, 'notBeforeMs' | 'notAfterMs'> | null;
  readonly chain: ReadonlyArray<Omit<CertificateFacts, 'notBeforeMs' | 'notAfterMs'>>;
  readonly trusted: boolean | null;
  readonly trustError: string | null;
  /** The name checked (servername, else the host) and whether the certificate is for it. */
  readonly name: string;
  readonly nameMatches: boolean | null;
  readonly nameError: string | null;
  readonly protocol: string | null;
  /** Why the endpoint could not be checked: KT_ENDPOINT_UNREACHABLE or KT_TLS_HANDSHAKE_FAILED. */
  readonly error: ReturnType<KeyturnError['toJSON']> | null;
  /** Whatever needs attention, in words (empty when none). */
  readonly problems: readonly string[];
}

/**
 * The grade of a certificate that ends at `notAfterMs`, at `now`.
 *
 * @example
 * ```ts
 * expiryStatus(now + 5 * DAY_MS, now, 30 * DAY_MS, 7 * DAY_MS); // 'critical'
 * ```
 */
export function expiryStatus(notAfterMs: number, now: number, warnMs: number, criticalMs: number): Exclude<CertStatus, 'error'> {
  const left = notAfterMs - now;
  if (left <= 0) return 'expired';
  if (left <= criticalMs) return 'critical';
  if (left <= warnMs) return 'warning';
  return 'ok';
}

function plain({ notBeforeMs: _b, notAfterMs: _a, ...rest }: CertificateFacts): Omit<CertificateFacts, 'notBeforeMs' | 'notAfterMs'> {
  return rest;
}

function dayWord(n: number): string {
  return `${n} day${Math.abs(n) === 1 ? '' : 's'}`;
}

/**
 * Probes one endpoint and grades what it serves.
 *
 * @example
 * ```ts
 * (await watchEndpoint(parseEndpoint('example.com:443'), options)).status; // 'ok'
 * ```
 */
export async function watchEndpoint(endpoint: Endpoint, options: WatchOptions): Promise<WatchResult> {
  const probe = await (options.probe ?? probeEndpoint)(endpoint, options);
  const name = options.servername ?? endpoint.host;
  const servername = options.servername ?? (isIP(endpoint.host) ? null : endpoint.host);
  const base = { endpoint: endpoint.text, host: endpoint.host, port: endpoint.port, servername, name };
  if (probe.kind === 'error') {
    return {
      ...base,
      status: 'error',
      daysLeft: null,
      certificate: null,
      chain: [],
      trusted: null,
      trustError: null,
      nameMatches: null,
      nameError: null,
      protocol: null,
      error: probe.error.toJSON(),
      problems: [probe.error.message],
    };
  }
  const now = options.now();
  const { certificate } = probe;
  const status = expiryStatus(certificate.notAfterMs, now, options.warnMs, options.criticalMs);
  const daysLeft = Math.floor((certificate.notAfterMs - now) / DAY_MS);
  const problems: string[] = [];
  if (status === 'expired') problems.push(`expired ${dayWord(-Math.ceil((certificate.notAfterMs - now) / DAY_MS))} ago (${certificate.notAfter})`);
  else if (status !== 'ok') problems.push(`expires in ${dayWord(daysLeft)} (${certificate.notAfter})`);
  if (certificate.notBeforeMs > now) problems.push(`not valid before ${certificate.notBefore}`);
  if (!probe.trusted) problems.push(`not trusted: ${probe.trustError ?? 'unknown reason'}`);
  if (!probe.nameMatches) problems.push(`not for ${name}: ${probe.nameError ?? 'name mismatch'}`);
  return {
    ...base,
    status,
    daysLeft,
    certificate: plain(certificate),
    chain: probe.chain.map(plain),
    trusted: probe.trusted,
    trustError: probe.trustError,
    nameMatches: probe.nameMatches,
    nameError: probe.nameError,
    protocol: probe.protocol,
    error: null,
    problems,
  };
}

/**
 * Probes every endpoint, at most `concurrency` at once; the results are in the order given.
 *
 * @example
 * ```ts
 * const results = await watchEndpoints(endpoints, { ...options, concurrency: 4 });
 * ```
 */
export async function watchEndpoints(endpoints: readonly Endpoint[], options: WatchOptions): Promise<WatchResult[]> {
  const results: WatchResult[] = new Array<WatchResult>(endpoints.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < endpoints.length) {
      const i = next++;
      results[i] = await watchEndpoint(endpoints[i]!, options);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? WATCH_CONCURRENCY, endpoints.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Whether a certificate that was read needs attention: it expires soon or has, is untrusted, or is for another name. */
export function needsAttention(r: WatchResult): boolean {
  return r.status !== 'error' && (r.status !== 'ok' || r.trusted === false || r.nameMatches === false || r.problems.length > 0);
}

/**
 * The outcome of a check, for the exit code: `attention` (exit 1) when any certificate read needs
 * attention (it wins: it is a finding), else `unreachable` (exit 4) when any endpoint could not
 * be checked, else `ok` (exit 0).
 *
 * @example
 * ```ts
 * watchOutcome(results); // 'ok', 'attention' or 'unreachable'
 * ```
 */
export function watchOutcome(results: readonly WatchResult[]): 'ok' | 'attention' | 'unreachable' {
  if (results.some(needsAttention)) return 'attention';
  if (results.some((r) => r.status === 'error')) return 'unreachable';
  return 'ok';
}
