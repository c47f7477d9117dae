/**
 * Principal names and key listings. A principal is taken as `name[/instance...][@REALM]` with a
 * conservative character set (what a kadmin query carries without quoting); without a realm the
 * target's own is added. Key listings are parsed from `klist -k -K -e` and ktutil's `list -e -k`:
 * kvno, encryption type and the key's bytes (hex), which never leave the target's process.
 *
 * @example
 * ```ts
 * fullPrincipal('app', 'EXAMPLE.ORG'); // 'app@EXAMPLE.ORG'
 * parseKeys('   2 app@EXAMPLE.ORG (aes256-cts-hmac-sha1-96)  (0x01ab...)'); // [{ kvno: 2, enctype: 'aes256-cts-hmac-sha1-96', key: '01ab...' }]
 * ```
 */

/** Name components and realm: letters, digits and `._-`, components split by `/`. */
const PRINCIPAL = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*(@[A-Za-z0-9._-]+)?$/;

/** True when `name` is a principal name the target takes. */
export function isPrincipalName(name: string): boolean {
  return name.length <= 256 && PRINCIPAL.test(name) && !name.startsWith('-');
}

/** `name` with the realm added when it has none. */
export function fullPrincipal(name: string, realm: string): string {
  return name.includes('@') ? name : `${name}@${realm}`;
}

/** One key of a principal. */
export interface KeyEntry {
  readonly kvno: number;
  readonly enctype: string;
  /** The key's bytes, hex. */
  readonly key: string;
}

const KEY_LINE = /(\d+)\s+\S+ \(([A-Za-z0-9-]+)\)\s+\(0x([0-9a-f]+)\)/;

/**
 * The keys listed in `klist -k -K -e` or ktutil `list -e -k` output.
 *
 * @example
 * ```ts
 * parseKeys(stdout).map((k) => k.kvno); // [2, 2, 1, 1]
 * ```
 */
export function parseKeys(listing: string): KeyEntry[] {
  const out: KeyEntry[] = [];
  for (const line of listing.split('\n')) {
    const m = KEY_LINE.exec(line);
    if (m) out.push({ kvno: Number(m[1]), enctype: m[2]!, key: m[3]! });
  }
  return out;
}

/** The kvnos at which `held` has one of `derived`'s keys (same encryption type, same bytes), highest first. */
export function matchingKvnos(held: readonly KeyEntry[], derived: readonly KeyEntry[]): number[] {
  const want = new Set(derived.map((d) => `${d.enctype}:${d.key}`));
  return [...new Set(held.filter((h) => want.has(`${h.enctype}:${h.key}`)).map((h) => h.kvno))].sort((a, b) => b - a);
}

/** The highest kvno among `keys` (0 when there are none). */
export function newestKvno(keys: readonly KeyEntry[]): number {
  return keys.reduce((max, k) => Math.max(max, k.kvno), 0);
}
