/**
 * Logging: pino, JSON lines on stderr, with every field that could carry a secret redacted by
 * name. Code logs paths, ids and codes; it never passes a value, but redaction is the net under it.
 *
 * pino (with its worker-thread transport machinery) is loaded on the first message at an enabled
 * level, not before: at the default level (warn) most commands log nothing and never pay for it.
 *
 * @example
 * ```ts
 * const log = createLogger('debug');
 * log.debug({ path, versionId }, 'version stored');
 * ```
 */
import { createRequire } from 'node:module';
import type * as Pino from 'pino';

/** Field names whose values are replaced by "[redacted]" wherever they appear (two levels deep). */
export const REDACTED_FIELDS = ['value', 'password', 'secret', 'token', 'key', 'rootKey', 'plaintext', 'fields', 'authorization'] as const;

const paths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export type LevelName = keyof typeof LEVELS;

/** Logs a message with fields (`log.warn({ path }, 'text')`) or a message alone. */
export type LogFn = (fieldsOrMessage: object | string, message?: string) => void;

/** The logger every part of Keyturn receives: pino's methods, pino's output. */
export type Logger = { readonly level: string; isLevelEnabled(level: LevelName): boolean } & { readonly [L in LevelName]: LogFn };

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : (LEVELS[level as LevelName] ?? LEVELS.warn);
  let real: Pino.Logger | undefined;
  const load = (): Pino.Logger => {
    if (real) return real;
    const { pino } = createRequire(import.meta.url)('pino') as typeof Pino;
    real = pino({ level, base: { pid: process.pid }, redact: { paths, censor: '[redacted]' } }, destination as Pino.DestinationStream);
    return real;
  };
  const method =
    (name: LevelName): LogFn =>
    (fieldsOrMessage, message) => {
      if (LEVELS[name] < threshold) return;
      if (typeof fieldsOrMessage === 'string') load()[name](fieldsOrMessage);
      else load()[name](fieldsOrMessage, message);
    };
  return Object.freeze({
    level,
    isLevelEnabled: (name: LevelName) => LEVELS[name] >= threshold,
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
  });
}
