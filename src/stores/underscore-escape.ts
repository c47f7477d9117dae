/**
 * `_` as an escape character, for providers whose names allow fewer characters than a Keyturn
 * path or version id (GCP secret ids, OCI secret and version names): each character listed is
 * written `_` + its code, `_` itself included, so a name maps back to exactly one text.
 *
 * @example
 * ```ts
 * const codes = { '/': '_', _: 'u', '.': 'd' };
 * underscoreEscape('prod/db/app_user', codes);     // 'prod__db__app_uuser'
 * underscoreUnescape('prod__db__app_uuser', codes); // 'prod/db/app_user'
 * underscoreUnescape('bad_x', codes);              // null
 * ```
 */

/** Each escaped character and its code (the character after `_`); must list `_`. */
export type EscapeCodes = Readonly<Record<string, string>>;

export function underscoreEscape(text: string, codes: EscapeCodes): string {
  let out = '';
  for (const c of text) out += c in codes ? `_${codes[c]}` : c;
  return out;
}

/** The text `name` stands for, or null when it holds an escape not in `codes` (a name Keyturn did not make). */
export function underscoreUnescape(name: string, codes: EscapeCodes): string | null {
  const back = new Map(Object.entries(codes).map(([c, code]) => [code, c]));
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c !== '_') {
      out += c;
      continue;
    }
    const original = back.get(name[++i] ?? '');
    if (original === undefined) return null;
    out += original;
  }
  return out;
}
