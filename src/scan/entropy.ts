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
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  const n = text.length;
  for (const c of counts.values()) {
    const p = c / n;
    bits -= p * Math.log2(p);
  }
  return bits;
}
