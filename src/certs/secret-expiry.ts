/**
 * The expiry of certificate secrets, for `keyturn report compliance` (src/lifecycle/compliance.ts)
 * and the `/metrics` state gauges (src/metrics/state-snapshot.ts).
 *
 * A secret is a certificate when its current value is an object whose `cert` field holds a PEM
 * certificate (`-----BEGIN CERTIFICATE-----`): the shape the `renew` strategy stores,
 * `{ cert, key, chain, notAfter, serial }`. Its expiry is the notAfter of the first certificate in
 * `cert` (the leaf), read with node's X509Certificate: the certificate is trusted, not the
 * `notAfter` field beside it. Only when that PEM does not parse is a valid ISO-8601 `notAfter`
 * field used instead (`source: 'field'`, logged at warn once per version), so a value whose
 * certificate is damaged still shows its stated end rather than passing as "not a certificate";
 * a value with neither is not a certificate (null).
 *
 * Cost: a string value is never a certificate, and the version's kind says so without a decrypt;
 * only a JSON value is read (one decrypt), and the answer is kept per version (versions never
 * change), so each version is decrypted once per process. The value is read without a
 * `secret.read` audit event (as `keyturn health` reads credentials: src/runtime/current-login.ts):
 * nothing of it leaves this module but the certificate's notAfter, a public part of the
 * certificate. The key and the rest of the value are never kept, logged or returned.
 *
 * @example
 * ```ts
 * certificateExpiry({ cert: pem, key, chain, notAfter, serial }); // { notAfterMs: 1767225600000, source: 'certificate' }
 * certificateStatus(now + 10 * DAY_MS, now); // 'warning' (within CERT_WARN_MS, 30 days)
 * await currentCertificateExpiry(kt, kt.store, info); // null for a secret that is not a certificate
 * ```
 */
import { X509Certificate } from 'node:crypto';
import { DAY_MS } from '../core/clock.js';
import { isKeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SecretValue } from '../core/types.js';
import type { SecretStore } from '../stores/store.js';
import { expiryStatus } from './watch.js';

/** How long before its notAfter a certificate secret is `warning`: 30 days, the default of `keyturn cert watch --warn`. */
export const CERT_WARN_MS = 30 * DAY_MS;

export const CERT_EXPIRY_STATUSES = ['ok', 'warning', 'expired'] as const;
export type CertExpiryStatus = (typeof CERT_EXPIRY_STATUSES)[number];

export interface CertificateExpiry {
  /** The leaf certificate's notAfter, in ms since the epoch. */
  readonly notAfterMs: number;
  /** `certificate`: read from the PEM; `field`: the PEM did not parse, the value's `notAfter` field. */
  readonly source: 'certificate' | 'field';
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*?-----END CERTIFICATE-----/;
/** ISO-8601 as `new Date().toISOString()` and most tools write it (a date and a time, with Z or an offset). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The expiry of a certificate value; null when `value` is not a certificate (see the module comment). */
export function certificateExpiry(value: SecretValue): CertificateExpiry | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const cert = value.cert;
  if (typeof cert !== 'string' || !cert.includes('-----BEGIN CERTIFICATE-----')) return null;
  const leaf = PEM_CERT.exec(cert)?.[0];
  if (leaf !== undefined) {
    try {
      const notAfterMs = Date.parse(new X509Certificate(leaf).validTo);
      if (Number.isFinite(notAfterMs)) return { notAfterMs, source: 'certificate' };
    } catch {
      // Not a certificate node can read: the field below, if any.
    }
  }
  const field = value.notAfter;
  if (typeof field === 'string' && ISO_TIME.test(field)) {
    const notAfterMs = Date.parse(field);
    if (Number.isFinite(notAfterMs)) return { notAfterMs, source: 'field' };
  }
  return null;
}

/**
 * The grade of a certificate ending at `notAfterMs`, at `now`: `expired` once notAfter has passed,
 * `warning` within `warnMs` of it, else `ok` (`keyturn cert watch`'s grading, without its critical band).
 */
export function certificateStatus(notAfterMs: number, now: number, warnMs: number = CERT_WARN_MS): CertExpiryStatus {
  const s = expiryStatus(notAfterMs, now, warnMs, 0);
  return s === 'critical' ? 'warning' : s;
}

/** The version to look at: the secret's current version, and its kind when known (else it is asked for). */
export interface CurrentVersionRef {
  readonly path: string;
  /** When the secret was created: with the path, it tells a purged and re-created secret apart. */
  readonly createdAt: number;
  readonly versionId: string;
  readonly kind?: 'string' | 'json';
}

/** Answers kept per state database (so per home): `path \0 createdAt \0 versionId` -> expiry or null. */
const KNOWN = new WeakMap<object, Map<string, CertificateExpiry | null>>();
const KNOWN_MAX = 10_000;

/** How many value decrypts `currentCertificateExpiry` made in this process (tests and measurements). */
export const certificateReads = { count: 0 };

/**
 * The expiry of `ref`'s version when it is a certificate, else null. Decrypts the value only for a
 * JSON version not seen before by this process; a version gone meanwhile (deleted, purged) is null.
 * Other errors of the store are thrown.
 */
export async function currentCertificateExpiry(home: { readonly state: object; readonly log: Logger }, store: SecretStore, ref: CurrentVersionRef): Promise<CertificateExpiry | null> {
  let known = KNOWN.get(home.state);
  if (known === undefined) KNOWN.set(home.state, (known = new Map()));
  const key = `${ref.path}\0${ref.createdAt}\0${ref.versionId}`;
  const had = known.get(key);
  if (had !== undefined) return had;
  let answer: CertificateExpiry | null = null;
  try {
    const kind = ref.kind ?? (await store.versions(ref.path)).find((v) => v.id === ref.versionId)?.kind;
    if (kind === 'json') {
      const quiet = store.withoutReadAudit?.() ?? store;
      certificateReads.count += 1;
      const version = await quiet.get(ref.path, { versionId: ref.versionId });
      answer = version === null ? null : certificateExpiry(version.value);
      if (answer?.source === 'field') home.log.warn({ path: ref.path, versionId: ref.versionId }, 'certificate secret: the PEM in cert does not parse; its notAfter field is used');
    } else if (kind === undefined) {
      return null; // the version is gone: nothing to remember
    }
  } catch (e) {
    if (isKeyturnError(e, 'KT_SECRET_NOT_FOUND') || isKeyturnError(e, 'KT_SECRET_DELETED') || isKeyturnError(e, 'KT_VERSION_NOT_FOUND')) return null;
    throw e;
  }
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(key, answer);
  return answer;
}
