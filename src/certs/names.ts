/**
 * The names a TLS certificate is for: DNS names (a leading `*.` wildcard allowed) and IP
 * addresses, checked and put in one canonical form (DNS lowercase, IPv6 compressed), and read
 * back from a certificate's subjectAltName.
 *
 * @example
 * ```ts
 * isDnsName('*.web.internal'); // true
 * canonicalIp('0:0:0:0:0:0:0:1'); // '::1'
 * certificateNames(new X509Certificate(pem)); // { dnsNames: ['web.internal'], ipAddresses: ['10.0.0.5'] }
 * ```
 */
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

const LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^(\\*\\.)?(${LABEL}\\.)*${LABEL}$`, 'i');

/** A DNS name a certificate can hold: labels of letters, digits, `-` and `_`, at most 253 characters, optionally `*.` first. */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && DNS_NAME.test(name);
}

/** An IP address in one form (IPv6 compressed, lowercase), or null when it is not one. */
export function canonicalIp(ip: string): string | null {
  const v = isIP(ip);
  if (v === 4) return ip;
  if (v === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return null;
}

/** The DNS names and IP addresses of a certificate's subjectAltName, canonical and sorted. */
export function certificateNames(cert: X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ').filter(Boolean)) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith('IP Address:')) ipAddresses.push(canonicalIp(entry.slice(11)) ?? entry.slice(11));
  }
  return { dnsNames: dnsNames.sort(), ipAddresses: ipAddresses.sort() };
}
