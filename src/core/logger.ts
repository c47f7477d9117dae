/**
 * Logging: pino, JSON lines on stderr, with every field that could carry a secret redacted by
 * name. Code logs paths, ids and codes; it never passes a value, but redaction is the net under it.
 *
 * @example
 * ```ts
 * const log = createLogger('debug');
 * log.debug({ path, versionId }, 'version stored');
 * ```
 */
import { pino, type Logger } from 'pino';

/** Field names whose values are replaced by "[redacted]" wherever they appear (two levels deep). */
export const REDACTED_FIELDS = ['value', 'password', 'secret', 'token', 'key', 'rootKey', 'plaintext', 'fields', 'authorization'] as const;

const paths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { pid: process.pid }, redact: { paths, censor: '[redacted]' } }, destination as pino.DestinationStream);
}

export type { Logger };
