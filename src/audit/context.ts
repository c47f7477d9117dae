/**
 * Who is acting, through what, as part of which request: the fields every audit event takes
 * from the entry point that caused it. Passed explicitly (to `openKeyturn`, to the hooks), never
 * kept in a global, so a server can give each request its own.
 *
 * @example
 * ```ts
 * const ctx = cliContext();            // { actor: 'user:alice', source: 'cli', correlationId: 'cli-…' }
 * const kt = await openKeyturn(settings, { audit: ctx });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';

export interface AuditContext {
  /** Who: `user:<os user>`, `token:<name>`, `system:<component>`. */
  readonly actor: string;
  /** Through what: `cli`, `api`, `engine`, `agent:<host>`. */
  readonly source: string;
  /** Ties together the events of one command, request or job. */
  readonly correlationId: string | null;
  /** The client's network address, for an API request (the anomaly detectors learn from it). */
  readonly address?: string | null;
  /** The client's User-Agent header, for an API request, as an event takes it ({@link eventSafeText}). */
  readonly userAgent?: string | null;
}

const ID_CHAR = /[^A-Za-z0-9._:@/-]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * An id as an event accepts it (`[A-Za-z0-9._:@/-]`, at most 128), other characters as `_`;
 * null for nothing.
 *
 * @example
 * ```ts
 * eventSafeId('run 1'); // 'run_1'
 * ```
 */
export function eventSafeId(id: string | null | undefined): string | null {
  if (id === null || id === undefined || id === '') return null;
  return id.replace(ID_CHAR, '_').slice(0, 128);
}

/** Text as an event accepts it: no control characters, 1 to `max` characters. */
export function eventSafeText(text: string, max = 256): string {
  const clean = text.replace(CONTROL, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/**
 * The context of one command line run: the OS user, source `cli`, a fresh correlation id.
 *
 * @example
 * ```ts
 * cliContext().source; // 'cli'
 * ```
 */
export function cliContext(): AuditContext {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return Object.freeze({ actor: eventSafeText(`user:${user}`), source: 'cli', correlationId: `cli-${randomUUID()}` });
}

/** The context when the caller gives none: a library user of `openKeyturn`. */
export function defaultContext(): AuditContext {
  return Object.freeze({ actor: 'system:keyturn', source: 'library', correlationId: `lib-${randomUUID()}` });
}
