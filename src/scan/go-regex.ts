/**
 * Translates the RE2 (Go) regex syntax of gitleaks configs into a JavaScript RegExp: a leading
 * `(?i)`/`(?s)`/`(?m)` becomes flags, one later in the pattern a scoped modifier group
 * (`(?i:...)`, which V8 supports), `(?P<name>` becomes `(?<name>`, `\z` and `\A` anchors, and
 * POSIX classes (`[[:alnum:]]`) their ranges. Returns the source and flags, or throws a plain
 * Error naming what cannot be translated (the caller wraps it in a KeyturnError).
 *
 * @example
 * ```ts
 * fromGoRegex('(?i)key=([a-z0-9]{32})'); // { source: 'key=([a-z0-9]{32})', flags: 'i' }
 * ```
 */

const POSIX: Readonly<Record<string, string>> = {
  alnum: 'A-Za-z0-9',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: ' \\t',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\r\\n\\v\\f',
  upper: 'A-Z',
  word: 'A-Za-z0-9_',
  xdigit: '0-9A-Fa-f',
};

export function fromGoRegex(pattern: string): { source: string; flags: string } {
  let source = pattern;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    if (lead[1]!.includes('U')) throw new Error('the (?U) flag (ungreedy) has no JavaScript equivalent');
    flags = [...new Set(lead[1]!.replace('U', ''))].join('');
    source = source.slice(lead[0].length);
  }
  // A flag group later in the pattern applies to the rest of its group: scope it to the rest of the pattern.
  const inner = /\(\?([ims]+)\)/.exec(source);
  if (inner) source = `${source.slice(0, inner.index)}(?${inner[1]}:${source.slice(inner.index + inner[0].length)})`;
  if (/\(\?[imsU]*\)/.test(source)) throw new Error('more than one inline flag group');
  source = source
    .replace(/\(\?P</g, '(?<')
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\\A/g, '^(?<![\\s\\S])')
    .replace(/\[:(\^?)([a-z]+):\]/g, (whole, neg: string, name: string) => {
      const range = POSIX[name];
      if (range === undefined) throw new Error(`unknown POSIX class [:${name}:]`);
      if (neg) throw new Error(`negated POSIX class [:^${name}:]`);
      return range;
    });
  return { source, flags };
}
