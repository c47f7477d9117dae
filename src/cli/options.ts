/**
 * Parsers for option values, shared by every command: whole numbers and numbers within a range,
 * and a point in time. Each one throws commander's InvalidArgumentError, so a bad value is a
 * usage error (exit 2) whose message names the option and what it takes, printed by commander,
 * or as the only JSON error object with --json (see main.ts). Give defaults as numbers: help then
 * shows `(default: 50)` and the action receives a number, parsed or default.
 *
 * @example
 * ```ts
 * cmd.option('--limit <n>', 'how many runs', intOption('--limit', { min: 1, max: 1000 }), 50);
 * // keyturn runs --limit abc
 * // error: option '--limit <n>' argument 'abc' is invalid. --limit takes a whole number from 1 to 1000.
 * ```
 */
import { parseDuration } from '../core/duration.js';
import { InvalidArgumentError } from 'commander';

/** The values an option takes: from `min`, up to `max` when given (both inclusive). */
export interface Range {
  readonly min: number;
  readonly max?: number;
}

function takes(name: string, what: string, range: Range): InvalidArgumentError {
  const span = range.max === undefined ? `, ${range.min} or more` : ` from ${range.min} to ${range.max}`;
  return new InvalidArgumentError(`${name} takes ${what}${span}.`);
}

function inRange(n: number, range: Range): boolean {
  return n >= range.min && (range.max === undefined || n <= range.max);
}

/**
 * A whole number in decimal digits (no sign, fraction, exponent or hex) within `range`.
 *
 * @example
 * ```ts
 * cmd.option('--concurrency <n>', 'rotations at once', intOption('--concurrency', { min: 1, max: 64 }), 4);
 * ```
 */
export function intOption(name: string, range: Range): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || !inRange(n, range)) throw takes(name, 'a whole number', range);
    return n;
  };
}

/**
 * A number in decimal digits, with an optional fraction (`1.5`), within `range`.
 *
 * @example
 * ```ts
 * cmd.option('--hours <n>', 'the events of the last N hours', numberOption('--hours', { min: 0 }));
 * ```
 */
export function numberOption(name: string, range: Range): (value: string) => number {
  return (value) => {
    const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isFinite(n) || !inRange(n, range)) throw takes(name, 'a number', range);
    return n;
  };
}

/**
 * A point in time as an RFC 3339 date-time (`2025-01-02T00:00:00Z`), as milliseconds since 1970.
 *
 * @example
 * ```ts
 * cmd.option('--since <time>', 'the events since this time', timeOption('--since'));
 * ```
 */
export function timeOption(name: string): (value: string) => number {
  return (value) => {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new InvalidArgumentError(`${name} takes an RFC 3339 time such as 2025-01-02T00:00:00Z.`);
    return ms;
  };
}

/**
 * A duration such as `30s`, `15m`, `24h` or `90d` (./../core/duration.ts), as milliseconds.
 *
 * @example
 * ```ts
 * cmd.option('--ttl <duration>', 'how long the token is valid', durationOption('--ttl'));
 * ```
 */
export function durationOption(name: string): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === null) throw new InvalidArgumentError(`${name} takes a duration: a whole number and s, m, h or d, such as 90s, 20m, 24h or 30d.`);
    return ms;
  };
}
