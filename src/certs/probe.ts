/**
 * One TLS handshake with one endpoint, to read the certificate it serves: whatever the certificate
 * is (untrusted, expired, for another name), the handshake goes on (`rejectUnauthorized: false`)
 * and the facts are reported instead: the leaf's names, issuer, serial, dates and SHA-256
 * fingerprint, the chain served, whether that chain verifies against the trusted CAs (the system's,
 * or only those of `ca` when given) with OpenSSL's reason code when not, and whether the leaf is
 * for the name asked for (`tls.checkServerIdentity`). Nothing is sent after the handshake.
 *
 * The TCP connection is made first, on its own: a failure before it is KT_ENDPOINT_UNREACHABLE
 * (no such name, refused, no connection in time), one after it KT_TLS_HANDSHAKE_FAILED (not TLS,
 * refused or unfinished handshake). One timer covers both.
 *
 * @example
 * ```ts
 * const probe = await probeEndpoint(parseEndpoint('example.com:443'), { timeoutMs: 10_000 });
 * if (probe.kind === 'certificate') console.log(probe.certificate.notAfter, probe.trusted);
 * ```
 */
import { X509Certificate } from 'node:crypto';
import { connect as netConnect, isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { formatDuration } from '../core/duration.js';
import { KeyturnError, type ErrorCode } from '../core/errors.js';
import type { Endpoint } from './endpoint.js';

export interface ProbeOptions {
  /** The limit on connecting and the handshake together, in milliseconds. */
  readonly timeoutMs: number;
  /** The name sent as SNI and checked against the certificate (default: the host, when it is a name). */
  readonly servername?: string;
  /** PEM CA certificates to verify against instead of the system's. */
  readonly ca?: string;
}

/** The facts of one certificate (dates as ISO-8601 text and milliseconds). */
export interface CertificateFacts {
  /** The subject's common name, or null when it has none. */
  readonly subjectCN: string | null;
  /** The whole subject, `CN=a, O=b`. */
  readonly subject: string;
  /** The subject alternative names, as `DNS:a`, `IP Address:1.2.3.4`. */
  readonly subjectAltNames: readonly string[];
  readonly issuer: string;
  /** Upper-case hex. */
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** `AB:CD:...`, of the DER certificate. */
  readonly fingerprint256: string;
}

export type Probe =
  | {
      readonly kind: 'certificate';
      readonly certificate: CertificateFacts;
      /** The certificates after the leaf, as served (and the root, when the trusted CAs hold it). */
      readonly chain: readonly CertificateFacts[];
      /** The chain verifies against the trusted CAs (the name is checked apart: nameMatches). */
      readonly trusted: boolean;
      /** OpenSSL's reason when not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ...). */
      readonly trustError: string | null;
      /** The name checked against the certificate: --servername, else the host. */
      readonly name: string;
      readonly nameMatches: boolean;
      /** Why the name does not match (tls.checkServerIdentity's message). */
      readonly nameError: string | null;
      /** The TLS version agreed on (TLSv1.3). */
      readonly protocol: string | null;
    }
  | { readonly kind: 'error'; readonly error: KeyturnError };

/** A distinguished name as one line: `CN=a, O=b` (Node prints one attribute a line). */
function dnLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/**
 * The facts of a DER certificate.
 *
 * @example
 * ```ts
 * certificateFacts(socket.getPeerCertificate().raw).notAfter; // '2026-05-01T12:00:00.000Z'
 * ```
 */
export function certificateFacts(der: Buffer): CertificateFacts {
  const x = new X509Certificate(der);
  const notBeforeMs = Date.parse(x.validFrom);
  const notAfterMs = Date.parse(x.validTo);
  const cn = /^CN=(.*)$/m.exec(x.subject)?.[1] ?? null;
  return {
    subjectCN: cn,
    subject: dnLine(x.subject),
    subjectAltNames: x.subjectAltName ? x.subjectAltName.split(', ').filter(Boolean) : [],
    issuer: dnLine(x.issuer),
    serialNumber: x.serialNumber.toUpperCase(),
    notBefore: new Date(notBeforeMs).toISOString(),
    notAfter: new Date(notAfterMs).toISOString(),
    notBeforeMs,
    notAfterMs,
    fingerprint256: x.fingerprint256,
  };
}

/** The certificates above the leaf, following issuerCertificate until it points to itself. */
function chainOf(leaf: DetailedPeerCertificate): CertificateFacts[] {
  const out: CertificateFacts[] = [];
  const seen = new Set<string>([leaf.fingerprint256]);
  for (let c = leaf.issuerCertificate as DetailedPeerCertificate | undefined; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(certificateFacts(c.raw));
  }
  return out;
}

/** What went wrong in a socket error, short: its reason (OpenSSL's) or message, and its code. */
function reasonOf(e: Error): string {
  const { code, reason } = e as Error & { code?: string; reason?: string };
  const text = reason ?? e.message;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

function authorizationCode(e: unknown): string | null {
  if (e === null || e === undefined) return null;
  if (typeof e === 'string') return e;
  const { code, message } = e as { code?: string; message?: string };
  return code ?? message ?? String(e);
}

/**
 * Connects to `endpoint`, reads its certificate and closes; never rejects (a failure is a probe
 * of kind `error` with KT_ENDPOINT_UNREACHABLE or KT_TLS_HANDSHAKE_FAILED).
 *
 * @example
 * ```ts
 * const p = await probeEndpoint({ text: '127.0.0.1:1', host: '127.0.0.1', port: 1 }, { timeoutMs: 1000 });
 * p.kind === 'error' && p.error.code; // 'KT_ENDPOINT_UNREACHABLE' (refused)
 * ```
 */
export function probeEndpoint(endpoint: Endpoint, options: ProbeOptions): Promise<Probe> {
  const name = options.servername ?? endpoint.host;
  // SNI carries names only (RFC 6066): none for an IP address unless --servername gives one.
  const sni = options.servername ?? (isIP(endpoint.host) ? undefined : endpoint.host);
  return new Promise((resolve) => {
    let stage: 'connect' | 'handshake' = 'connect';
    let done = false;
    let secure: TLSSocket | undefined;
    const raw = netConnect({ host: endpoint.host, port: endpoint.port });
    const finish = (probe: Probe): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      secure?.destroy();
      raw.destroy();
      resolve(probe);
    };
    const fail = (why: string, cause?: unknown): void => {
      const code: ErrorCode = stage === 'connect' ? 'KT_ENDPOINT_UNREACHABLE' : 'KT_TLS_HANDSHAKE_FAILED';
      const what = stage === 'connect' ? `cannot connect to ${endpoint.text}` : `no TLS handshake with ${endpoint.text}`;
      const causeCode = (cause as { code?: unknown } | undefined)?.code;
      const details: Record<string, unknown> = { endpoint: endpoint.text, ...(typeof causeCode === 'string' ? { cause: causeCode } : {}) };
      finish({ kind: 'error', error: new KeyturnError(code, `${what}: ${why}`, { details, cause }) });
    };
    const timer = setTimeout(
      () => fail(stage === 'connect' ? `no connection within ${formatDuration(options.timeoutMs)}` : `the handshake did not finish within ${formatDuration(options.timeoutMs)}`),
      options.timeoutMs,
    );
    raw.once('error', (e) => fail(reasonOf(e), e));
    raw.once('connect', () => {
      stage = 'handshake';
      secure = tlsConnect({
        socket: raw,
        ...(sni === undefined ? {} : { servername: sni }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        rejectUnauthorized: false,
        // The chain alone decides `authorized`; the name is checked below, apart.
        checkServerIdentity: () => undefined,
      });
      secure.once('error', (e) => fail(reasonOf(e), e));
      secure.once('close', () => fail('the connection closed before the handshake finished'));
      secure.once('secureConnect', () => {
        const s = secure!;
        const peer = s.getPeerCertificate(true);
        if (!peer.raw) return fail('the endpoint sent no certificate');
        let certificate: CertificateFacts;
        let chain: CertificateFacts[];
        try {
          certificate = certificateFacts(peer.raw);
          chain = chainOf(peer);
        } catch (e) {
          return fail(`the certificate cannot be read: ${e instanceof Error ? e.message : String(e)}`, e);
        }
        const identity = checkServerIdentity(name, peer);
        finish({
          kind: 'certificate',
          certificate,
          chain,
          trusted: s.authorized,
          trustError: s.authorized ? null : authorizationCode(s.authorizationError),
          name,
          nameMatches: identity === undefined,
          nameError: identity?.message ?? null,
          protocol: s.getProtocol(),
        });
      });
    });
  });
}
