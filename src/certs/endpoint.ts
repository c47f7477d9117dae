/**
 * Endpoints as `keyturn cert watch` takes them: `HOST:PORT`, with an IPv6 address in brackets
 * (`[::1]:443`). A parse of its own, so a bad endpoint is a usage error that names it before any
 * connection is tried.
 *
 * @example
 * ```ts
 * parseEndpoint('example.com:443'); // { text: 'example.com:443', host: 'example.com', port: 443 }
 * parseEndpoint('[::1]:8443'); // { text: '[::1]:8443', host: '::1', port: 8443 }
 * ```
 */
import { KeyturnError } from '../core/errors.js';

export interface Endpoint {
  /** As typed (the key the results are reported under). */
  readonly text: string;
  /** A name or an IP address, without brackets. */
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^\s:[\]/]+)):(\d{1,5})$/;

/**
 * Parses `HOST:PORT`; throws KT_USAGE (exit 2) for anything else, or a port outside 1-65535.
 *
 * @example
 * ```ts
 * parseEndpoint('db.internal:5432').port; // 5432
 * parseEndpoint('example.com'); // throws KT_USAGE: no port
 * ```
 */
export function parseEndpoint(text: string): Endpoint {
  const m = HOST_PORT.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65_535) {
    throw new KeyturnError('KT_USAGE', `"${text}" is not an endpoint: give HOST:PORT, such as example.com:443, 10.0.0.5:8443 or [::1]:443 (port 1-65535)`, {
      details: { endpoint: text },
    });
  }
  return { text, host: m[1] ?? m[2]!, port };
}
