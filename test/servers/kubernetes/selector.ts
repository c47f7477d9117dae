/**
 * Kubernetes label selectors as the `labelSelector` query parameter spells them:
 * comma-separated requirements, each `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)` or
 * `k notin (a,b)`; all must hold.
 *
 * @example
 * ```ts
 * parseSelector('keyturn.dev/path-hash=ab12,!old')({ 'keyturn.dev/path-hash': 'ab12' }); // true
 * ```
 */
import { ApiFailure, badRequest } from './status.js';

export type Labels = Record<string, string>;

/** Splits on commas outside parentheses. */
function requirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((r) => r.trim()).filter((r) => r !== '');
}

/** A predicate over labels; throws a 400 Status for a malformed selector. */
export function parseSelector(text: string | null): (labels: Labels) => boolean {
  if (text === null || text.trim() === '') return () => true;
  const tests = requirements(text).map((req): ((l: Labels) => boolean) => {
    let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(req);
    if (m) {
      const [, key, op, list] = m;
      const values = new Set(list!.split(',').map((v) => v.trim()));
      return op === 'in' ? (l) => key! in l && values.has(l[key!]!) : (l) => !(key! in l) || !values.has(l[key!]!);
    }
    m = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(req);
    if (m) {
      const [, key, op, value] = m;
      return op === '!=' ? (l) => l[key!] !== value : (l) => l[key!] === value;
    }
    m = /^(!?)([^\s!=()]+)$/.exec(req);
    if (m) return m[1] === '!' ? (l) => !(m![2]! in l) : (l) => m![2]! in l;
    throw new ApiFailure(badRequest(`unable to parse requirement: ${req}`));
  });
  return (labels) => tests.every((t) => t(labels));
}
