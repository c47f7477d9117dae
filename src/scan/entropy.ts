/**
 * Shannon entropy of a string in bits per character, as gitleaks computes it (over characters,
 * log base 2): a random 40-character base64 string has about 5, a word about 2.5 to 3.
 *
 * @example
 * ```ts
 * shannonEntropy('aaaa'); // 0
 * shannonEntropy('wJalrXUtnFEMIK7MDENGbPxRfiCY1q2w3e4r5t6y'); // ~4.9
 * ```
 */

/** Counts of the one-byte characters, reused by every call (the scan calls this for each candidate). */
const counts = new Uint32Array(256);

export function shannonEntropy(text: string): number {
  const n = text.length;
  if (n === 0) return 0;
  let wide: Map<number, number> | undefined;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 256) counts[c]!++;
    else (wide ??= new Map()).set(c, (wide.get(c) ?? 0) + 1);
  }
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 256 || counts[c] === 0) continue;
    const p = counts[c]! / n;
    bits -= p * Math.log2(p);
    counts[c] = 0;
  }
  if (wide) for (const k of wide.values()) bits -= (k / n) * Math.log2(k / n);
  return bits;
}
