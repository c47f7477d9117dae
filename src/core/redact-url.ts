/**
 * The one place a URL is made safe to show, log, put in an error or store as a name: the
 * password of its userinfo and the values of query (and fragment) parameters named like a
 * credential (`password`, `token`, `sig`, `sslkey`, `api_key`…, any case) become `***`.
 * A URL with nothing to hide comes back exactly as `new URL(url).toString()` writes it, so names
 * derived from it (an audit sink's cursor) stay what they were.
 *
 * @example
 * ```ts
 * redactUrl('postgres://u:pw@db/app?sslpassword=x&application_name=kt');
 * // 'postgres://u:***@db/app?sslpassword=***&application_name=kt'
 * ```
 */

const SENSITIVE = new Set([
  'password',
  'passwd',
  'pass',
  'pwd',
  'passphrase',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'sessiontoken',
  'securitytoken',
  'key',
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'clientkey',
  'secret',
  'clientsecret',
  'sig',
  'signature',
  'auth',
  'authorization',
  'credential',
  'credentials',
  'sslpassword',
  'sslkey',
  'sessionid',
  'jwt',
  'bearer',
]);

/** Whether a query parameter of this name carries a credential (`API-Key`, `x-amz-signature`…). */
export function isSensitiveParam(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (SENSITIVE.has(n)) return true;
  return /(password|passwd|secret|token|signature|apikey|credential)$/.test(n) || /^(x)?(amz|goog)(signature|credential|securitytoken)$/.test(n);
}

/** Replaces the values of sensitive `name=value` pairs in a query or fragment (without its `?`/`#`). */
function redactPairs(text: string): { text: string; changed: boolean } {
  let changed = false;
  const out = text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq === -1) return pair;
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // keep the raw name
    }
    if (!isSensitiveParam(name) || pair.slice(eq + 1) === '') return pair;
    changed = true;
    return `${pair.slice(0, eq)}=***`;
  });
  return { text: out.join('&'), changed };
}

/** The URL with its password and credential parameters replaced by `***`. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'url:';
    return `${scheme}//(unparseable url)`;
  }
  if (u.password) u.password = '***';
  if (u.search.length > 1) {
    const q = redactPairs(u.search.slice(1));
    if (q.changed) u.search = `?${q.text}`;
  }
  if (u.hash.length > 1) {
    const h = redactPairs(u.hash.slice(1));
    if (h.changed) u.hash = `#${h.text}`;
  }
  return u.toString();
}

/** Every URL inside `text` (a driver's error message, say) passed through {@link redactUrl}. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (m) => {
    const tail = /[:,.;)]+$/.exec(m)?.[0] ?? '';
    return redactUrl(m.slice(0, m.length - tail.length)) + tail;
  });
}
