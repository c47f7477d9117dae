/**
 * Client addresses as the source detectors see them: an IPv4 or IPv6 literal parsed once into
 * its family and the network it belongs to at a given prefix length (`203.0.113.0/24`,
 * `2001:db8:1::/48`), so that "the networks an identity comes from" is a set of strings.
 *
 * An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, what a dual-stack listener reports for an
 * IPv4 client) is the IPv4 address it maps; a zone (`fe80::1%eth0`) is dropped. Validation is
 * node:net's (`isIP`), the canonical IPv6 text node:net's (`SocketAddress`); only the masking of
 * the address to its prefix is done here.
 *
 * @example
 * ```ts
 * const a = parseAddress('::ffff:203.0.113.7')!; // { family: 4, address: '203.0.113.7', ... }
 * networkOf(a, 24); // '203.0.113.0/24'
 * ```
 */
import { isIP, SocketAddress } from 'node:net';

/** A parsed client address: its family, its normalized text and its bits (IPv4: one 32-bit number; IPv6: eight 16-bit groups). */
export interface ParsedAddress {
  readonly family: 4 | 6;
  /** The address as node:net writes it, IPv4-mapped addresses as IPv4, without a zone. */
  readonly address: string;
  readonly v4: number;
  readonly v6: readonly number[];
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Parses an IPv4 or IPv6 literal; null when it is not one.
 *
 * @example
 * ```ts
 * parseAddress('2001:db8::1')?.family; // 6
 * parseAddress('not an address'); // null
 * ```
 */
export function parseAddress(text: string): ParsedAddress | null {
  const zone = text.indexOf('%');
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  const family = isIP(bare);
  if (family === 4) return { family: 4, address: bare, v4: v4Number(bare), v6: [] };
  if (family !== 6) return null;
  const mapped = MAPPED.exec(bare);
  if (mapped && isIP(mapped[1]!) === 4) return { family: 4, address: mapped[1]!, v4: v4Number(mapped[1]!), v6: [] };
  return { family: 6, address: new SocketAddress({ address: bare, family: 'ipv6' }).address, v4: 0, v6: v6Groups(bare) };
}

/**
 * The network `address` is in at `prefix` bits, as `address/prefix` with the host bits zero.
 *
 * @example
 * ```ts
 * networkOf(parseAddress('2001:db8:1:2::5')!, 48); // '2001:db8:1::/48'
 * ```
 */
export function networkOf(address: ParsedAddress, prefix: number): string {
  if (address.family === 4) {
    const bits = Math.min(prefix, 32);
    const masked = bits === 0 ? 0 : (address.v4 & (0xffffffff << (32 - bits))) >>> 0;
    return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${bits}`;
  }
  const bits = Math.min(prefix, 128);
  const groups = address.v6.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - 16 * i));
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${new SocketAddress({ address: groups.map((g) => g.toString(16)).join(':'), family: 'ipv6' }).address}/${bits}`;
}

/** The 32-bit number of a valid dotted IPv4 literal. */
function v4Number(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** The eight 16-bit groups of a valid IPv6 literal (`::` expanded, a trailing dotted IPv4 as two groups). */
function v6Groups(text: string): number[] {
  const words = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((w) => {
          if (!w.includes('.')) return [parseInt(w, 16)];
          const n = v4Number(w);
          return [n >>> 16, n & 0xffff];
        });
  const gap = text.indexOf('::');
  if (gap < 0) return words(text);
  const head = words(text.slice(0, gap));
  const tail = words(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
