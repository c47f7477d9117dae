/**
 * Durations as people write them: a whole number and a unit, `s`, `m`, `h` or `d` (`90s`, `20m`,
 * `24h`, `90d`), as milliseconds. One unit per value: `1h30m` is `90m`.
 *
 * @example
 * ```ts
 * parseDuration('24h'); // 86_400_000
 * parseDuration('1.5h'); // null (whole numbers only)
 * ```
 */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds, or null when `text` is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}
