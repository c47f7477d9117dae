/**
 * When a certificate is renewed: `renewBefore` its notAfter, a duration (`30d`, the default) or a
 * share of its lifetime (`33%`: a third of the time between notBefore and notAfter). A duration
 * as long as the lifetime or longer (a certificate clamped to a CA that ends soon, a short
 * validity) would renew at once, again and again: then a third of the lifetime is used instead.
 *
 * @example
 * ```ts
 * parseRenewBefore('33%'); // { percent: 33 }
 * renewAtMs({ notBeforeMs: 0, notAfterMs: 90 * DAY }, { ms: 30 * DAY }); // 60 * DAY
 * ```
 */
import { parseDuration } from '../../core/duration.js';

export type RenewBefore = { readonly ms: number } | { readonly percent: number };

export const DEFAULT_RENEW_BEFORE = '30d';

const PERCENT = /^(\d{1,2}(?:\.\d{1,2})?)%$/;

/** A renewBefore text as a duration or a percentage (more than 0, less than 100), or null. */
export function parseRenewBefore(text: string): RenewBefore | null {
  const p = PERCENT.exec(text.trim());
  if (p) {
    const percent = Number(p[1]);
    return percent > 0 && percent < 100 ? { percent } : null;
  }
  const ms = parseDuration(text);
  return ms === null ? null : { ms };
}

/** The time to renew a certificate valid from `notBeforeMs` to `notAfterMs` (ms since the epoch). */
export function renewAtMs(validity: { readonly notBeforeMs: number; readonly notAfterMs: number }, renewBefore: RenewBefore): number {
  const lifetime = Math.max(0, validity.notAfterMs - validity.notBeforeMs);
  const before = 'percent' in renewBefore ? (lifetime * renewBefore.percent) / 100 : renewBefore.ms >= lifetime ? lifetime / 3 : renewBefore.ms;
  return Math.round(validity.notAfterMs - before);
}
