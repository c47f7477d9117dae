/**
 * A minimal MaxMind DB writer for tests (format v2.0, https://maxmind.github.io/MaxMind-DB/), so
 * a test can make a small GeoIP database of its own networks instead of shipping a real one.
 *
 * It writes what the spec requires and nothing more: an IPv6 search tree (IPv4 networks sit at
 * `::a.b.c.d`, the first 32 bits of the address space after 96 zero bits, as the spec says)
 * with 24-bit records, the 16 zero bytes of the data section separator, a data section with
 * each distinct value once (strings, maps, arrays, unsigned integers), and the metadata map
 * after the `\xab\xcd\xefMaxMind.com` marker. No pointers in the data section, no aliases for
 * IPv4-mapped or 6to4 addresses, and networks must not overlap (it throws when they do).
 *
 * @example
 * ```ts
 * const file = writeMmdb([{ network: '198.51.100.0/24', data: { country: { iso_code: 'DE' } } }]);
 * new Reader(file).get('198.51.100.7'); // { country: { iso_code: 'DE' } }
 * ```
 */

/** An unsigned integer of one of the spec's widths (type 5: 16 bits, 6: 32 bits, 9: 64 bits). */
export class Uint {
  constructor(
    readonly bits: 16 | 32 | 64,
    readonly value: number | bigint,
  ) {}
}

/** A value of the data section: a UTF-8 string, an unsigned integer, an array or a map with string keys. */
export type MmdbValue = string | Uint | readonly MmdbValue[] | { readonly [key: string]: MmdbValue };

/** One network (`198.51.100.0/24`, `2001:db8::/32`) and the value an address in it gets. */
export interface MmdbNetwork {
  readonly network: string;
  readonly data: MmdbValue;
}

const TYPE = { string: 2, map: 7, uint16: 5, uint32: 6, uint64: 9, array: 11 } as const;
const RECORD_SIZE = 24;
const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com', 'latin1')]);

/** The control byte(s) of a field: type (extended types in a second byte) and payload size (29/30/31 + more bytes beyond 28). */
function control(type: number, size: number): Buffer {
  const head = type <= 7 ? [type << 5] : [0, type - 7];
  let extra: number[] = [];
  if (size < 29) head[0]! |= size;
  else if (size < 285) [head[0], extra] = [head[0]! | 29, [size - 29]];
  else if (size < 65_821) [head[0], extra] = [head[0]! | 30, [(size - 285) >> 8, (size - 285) & 255]];
  else [head[0], extra] = [head[0]! | 31, [((size - 65_821) >> 16) & 255, ((size - 65_821) >> 8) & 255, (size - 65_821) & 255]];
  return Buffer.from([...head, ...extra]);
}

/** The field of `value`, as the data section and the metadata store it. */
export function encodeValue(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(TYPE.string, bytes.length), bytes]);
  }
  if (value instanceof Uint) {
    const bytes: number[] = [];
    for (let v = BigInt(value.value); v > 0n; v >>= 8n) bytes.unshift(Number(v & 255n));
    const type = value.bits === 16 ? TYPE.uint16 : value.bits === 32 ? TYPE.uint32 : TYPE.uint64;
    return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(value)) {
    const items = value as readonly MmdbValue[];
    return Buffer.concat([control(TYPE.array, items.length), ...items.map(encodeValue)]);
  }
  const entries = Object.entries(value as { readonly [key: string]: MmdbValue });
  return Buffer.concat([control(TYPE.map, entries.length), ...entries.flatMap(([k, v]) => [encodeValue(k), encodeValue(v)])]);
}

/** The 128 bits (as 0/1) of an address and the prefix length of `network` in the IPv6 tree. */
function networkBits(network: string): { bits: Array<0 | 1>; prefix: number } {
  const [address = '', length] = network.split('/');
  const bytes: number[] = [];
  let width: number;
  if (address.includes('.')) {
    width = 32;
    bytes.push(...new Array<number>(12).fill(0), ...address.split('.').map(Number));
  } else {
    width = 128;
    const [head = '', tail] = address.split('::');
    const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    for (const g of [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]) bytes.push(g >> 8, g & 255);
  }
  if (bytes.length !== 16 || bytes.some((b) => !(b >= 0 && b <= 255))) throw new Error(`mmdb-writer: not a network: ${network}`);
  const prefix = length === undefined ? width : Number(length);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > width) throw new Error(`mmdb-writer: not a network: ${network}`);
  return { bits: bytes.flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => ((b >> i) & 1) as 0 | 1)), prefix: 128 - width + prefix };
}

interface TreeNode {
  readonly children: [Child, Child];
}
type Child = TreeNode | { readonly data: number } | null;

/**
 * A MaxMind DB file mapping each of `networks` to its data. `databaseType` defaults to
 * `Keyturn-Test-Country`; `buildEpoch` (seconds) to 0, so the same input gives the same bytes.
 *
 * @example
 * ```ts
 * writeFileSync(path, writeMmdb([{ network: '2001:db8::/32', data: { country: { iso_code: 'FR' } } }]));
 * ```
 */
export function writeMmdb(networks: readonly MmdbNetwork[], options: { databaseType?: string; buildEpoch?: number } = {}): Buffer {
  // The data section: each distinct value once, at its offset.
  const offsets = new Map<string, number>();
  const fields: Buffer[] = [];
  let size = 0;
  const offsetOf = (value: MmdbValue): number => {
    const field = encodeValue(value);
    const key = field.toString('hex');
    let offset = offsets.get(key);
    if (offset === undefined) {
      offset = size;
      offsets.set(key, offset);
      fields.push(field);
      size += field.length;
    }
    return offset;
  };

  // The search tree, one level per bit: left is 0, right is 1.
  const root: TreeNode = { children: [null, null] };
  for (const { network, data } of networks) {
    const { bits, prefix } = networkBits(network);
    const leaf = { data: offsetOf(data) };
    let node = root;
    for (let depth = 0; depth < prefix - 1; depth++) {
      const bit = bits[depth]!;
      const child = node.children[bit];
      if (child !== null && !('children' in child)) throw new Error(`mmdb-writer: ${network} overlaps another network`);
      node = child ?? (node.children[bit] = { children: [null, null] });
    }
    const last = bits[prefix - 1]!;
    if (node.children[last] !== null) throw new Error(`mmdb-writer: ${network} overlaps another network`);
    node.children[last] = leaf;
  }

  // Number the nodes breadth first (the root is node 0), then write each as two 24-bit records.
  const order: TreeNode[] = [root];
  for (let i = 0; i < order.length; i++) for (const c of order[i]!.children) if (c !== null && 'children' in c) order.push(c);
  const number = new Map(order.map((n, i) => [n, i]));
  const nodeCount = order.length;
  const record = (c: Child): number => (c === null ? nodeCount : 'children' in c ? number.get(c)! : nodeCount + 16 + c.data);
  const tree = Buffer.alloc(nodeCount * ((RECORD_SIZE * 2) / 8));
  order.forEach((n, i) => {
    const [left, right] = n.children.map(record) as [number, number];
    if (Math.max(left, right) >= 2 ** RECORD_SIZE) throw new Error('mmdb-writer: too large for 24-bit records');
    tree.writeUIntBE(left, i * 6, 3);
    tree.writeUIntBE(right, i * 6 + 3, 3);
  });

  const metadata = encodeValue({
    node_count: new Uint(32, nodeCount),
    record_size: new Uint(16, RECORD_SIZE),
    ip_version: new Uint(16, 6),
    database_type: options.databaseType ?? 'Keyturn-Test-Country',
    languages: ['en'],
    binary_format_major_version: new Uint(16, 2),
    binary_format_minor_version: new Uint(16, 0),
    build_epoch: new Uint(64, BigInt(options.buildEpoch ?? 0)),
    description: { en: 'Keyturn test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...fields, METADATA_MARKER, metadata]);
}
