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

/**
 * A duration in the largest unit that divides it: `formatDuration(7_776_000_000)` is `90d`,
 * `formatDuration(90_000)` is `90s`; `0s` for zero, milliseconds (`1500ms`) when no unit divides it.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [...Object.entries(UNIT_MS)].reverse()) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * A length of time for people to read, in whole units from days down to seconds:
 * `spanText(207_477)` is `3m 27s`, `spanText(90_061_000)` is `1d 1h 1m 1s`; under a second, `0s`.
 */
export function spanText(ms: number): string {
  const parts: string[] = [];
  let rest = Math.floor(ms / 1000) * 1000;
  for (const [unit, size] of [...Object.entries(UNIT_MS)].reverse()) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.length === 0 ? '0s' : parts.join(' ');
}
