/**
 * MySQL/MariaDB grants for `alternating-users`: parses `SHOW GRANTS` output into privileges per
 * object (column privileges and GRANT OPTION included), role grants (with ADMIN OPTION) and the
 * default role, then computes the statements that make the clone's grants equal to the
 * primary's: revoke what the clone has beyond the primary first, then grant what it lacks.
 *
 * Object and role names are kept exactly as the server printed them (backtick-quoted), so they
 * are replayed verbatim; the grantee is never copied, the clone's account is put in its place.
 * What SHOW GRANTS prints after the grantee (IDENTIFIED BY PASSWORD '<hash>', REQUIRE ...,
 * resource limits) is ignored except GRANT OPTION: the primary's password hash never reaches
 * the clone. A line Keyturn cannot read fails the sync rather than being skipped.
 *
 * @example
 * ```ts
 * const statements = grantSyncStatements(parseGrants(primaryLines), parseGrants(cloneLines), "'app_clone'@'%'");
 * ```
 */

export interface Grants {
  /** Object as printed (`*.*`, `` `db`.* ``, `` `db`.`t` ``, `PROCEDURE ...`, `''@'%'`) → privilege atoms such as `SELECT` or ``SELECT (`a`)``. */
  readonly privileges: Map<string, Set<string>>;
  /** Objects on which the user holds GRANT OPTION. */
  readonly grantOption: Set<string>;
  /** Role as printed → whether the user holds ADMIN OPTION on it. */
  readonly roles: Map<string, boolean>;
  /** The default role as printed (MariaDB `SET DEFAULT ROLE` line), or null. */
  defaultRole: string | null;
}

/** A line of SHOW GRANTS output that cannot be read. Carries no text of the line (it may hold a hash). */
export class GrantParseError extends Error {
  constructor(readonly lineNumber: number) {
    super(`SHOW GRANTS line ${lineNumber} is not understood`);
  }
}

interface Token {
  readonly kind: 'word' | 'quoted' | 'punct';
  /** Upper-cased for words, the raw text otherwise. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

function tokenize(line: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '`' || c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= line.length) return null;
        if (line[j] === '\\' && c !== '`') j += 2;
        else if (line[j] === c && line[j + 1] === c) j += 2;
        else if (line[j] === c) break;
        else j++;
      }
      out.push({ kind: 'quoted', value: line.slice(i, j + 1), start: i, end: j + 1 });
      i = j + 1;
    } else if (/[A-Za-z0-9_$]/.test(c)) {
      let j = i;
      while (j < line.length && /[A-Za-z0-9_$]/.test(line[j]!)) j++;
      out.push({ kind: 'word', value: line.slice(i, j).toUpperCase(), start: i, end: j });
      i = j;
    } else {
      out.push({ kind: 'punct', value: c, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** Index of the first top-level (outside parentheses) word `w` at or after `from`, or -1. */
function findWord(tokens: Token[], w: string, from = 0): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.value === '(') depth++;
    else if (t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'word' && t.value === w) return i;
  }
  return -1;
}

/** Splits tokens at top-level commas. */
function splitCommas(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.value === '(') depth++;
    if (t.value === ')') depth--;
    if (depth === 0 && t.value === ',') parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  return parts.filter((p) => p.length > 0);
}

function hasWords(tokens: Token[], a: string, b: string): boolean {
  return tokens.some((t, i) => t.kind === 'word' && t.value === a && tokens[i + 1]?.value === b);
}

/** Privilege atoms of one `PRIV [(col, ...)]` item; USAGE means none. */
function privilegeAtoms(item: Token[], line: string): string[] | null {
  const open = item.findIndex((t) => t.value === '(');
  const words = (open === -1 ? item : item.slice(0, open)).filter((t) => t.kind === 'word');
  if (words.length === 0 || words.length !== (open === -1 ? item.length : open)) return null;
  let name = words.map((t) => t.value).join(' ');
  if (name === 'ALL') name = 'ALL PRIVILEGES';
  if (name === 'USAGE') return [];
  if (open === -1) return [name];
  if (item[item.length - 1]?.value !== ')') return null;
  return splitCommas(item.slice(open + 1, -1)).map((col) => `${name} (${line.slice(col[0]!.start, col[col.length - 1]!.end)})`);
}

function parseLine(line: string, grants: Grants): boolean {
  const tokens = tokenize(line);
  if (!tokens || tokens.length === 0) return false;
  const text = (from: number, to: number) => line.slice(tokens[from]!.start, tokens[to]!.end);
  if (tokens[0]!.value === 'SET') {
    // SET DEFAULT ROLE <role> FOR <grantee>   (MariaDB)
    const forAt = findWord(tokens, 'FOR');
    if (tokens[1]?.value !== 'DEFAULT' || tokens[2]?.value !== 'ROLE' || forAt < 4) return false;
    const role = text(3, forAt - 1);
    grants.defaultRole = role.toUpperCase() === 'NONE' ? null : role;
    return true;
  }
  if (tokens[0]!.value !== 'GRANT') return false;
  const on = findWord(tokens, 'ON');
  const to = findWord(tokens, 'TO', on === -1 ? 1 : on + 1);
  if (to === -1) return false;
  const tail = tokens.slice(to + 1);
  if (on === -1 || on > to) {
    // GRANT <role>[, <role>] TO <grantee> [WITH ADMIN OPTION]
    if (to < 2) return false;
    const admin = hasWords(tail, 'ADMIN', 'OPTION');
    for (const role of splitCommas(tokens.slice(1, to))) grants.roles.set(line.slice(role[0]!.start, role[role.length - 1]!.end), admin);
    return true;
  }
  if (on < 2 || to < on + 2) return false;
  const object = text(on + 1, to - 1);
  const atoms = grants.privileges.get(object) ?? new Set<string>();
  for (const item of splitCommas(tokens.slice(1, on))) {
    const got = privilegeAtoms(item, line);
    if (!got) return false;
    for (const a of got) atoms.add(a);
  }
  if (atoms.size > 0) grants.privileges.set(object, atoms);
  if (hasWords(tail, 'GRANT', 'OPTION')) grants.grantOption.add(object);
  return true;
}

/**
 * Parses the lines of `SHOW GRANTS FOR user`.
 *
 * @example
 * ```ts
 * parseGrants(['GRANT SELECT, INSERT ON `app`.* TO `app`@`%` WITH GRANT OPTION']).privileges.get('`app`.*'); // Set { 'SELECT', 'INSERT' }
 * ```
 */
export function parseGrants(lines: readonly string[]): Grants {
  const grants: Grants = { privileges: new Map(), grantOption: new Set(), roles: new Map(), defaultRole: null };
  lines.forEach((line, i) => {
    if (!parseLine(line, grants)) throw new GrantParseError(i + 1);
  });
  return grants;
}

const COLUMN_ATOM = /^([A-Z][A-Z ]*) \((.*)\)$/;

/** ``SELECT (`a`, `b`), INSERT`` from atoms: column atoms of one privilege are merged. */
function renderPrivileges(atoms: readonly string[]): string {
  const plain: string[] = [];
  const columns = new Map<string, string[]>();
  for (const atom of atoms) {
    const m = COLUMN_ATOM.exec(atom);
    if (m) columns.set(m[1]!, [...(columns.get(m[1]!) ?? []), m[2]!]);
    else plain.push(atom);
  }
  return [...plain, ...[...columns].map(([name, cols]) => `${name} (${cols.join(', ')})`)].join(', ');
}

function minus<T>(a: Iterable<T>, b: { has(x: T): boolean } | undefined): T[] {
  return [...a].filter((x) => !b?.has(x));
}

/**
 * The statements that make `clone`'s grants equal to `primary`'s, revokes first (so a revoked
 * `ALL PRIVILEGES` cannot take away a privilege granted after it). `cloneAccount` is `'user'@'host'`.
 *
 * @example
 * ```ts
 * grantSyncStatements(parseGrants(['GRANT SELECT ON `a`.* TO `p`@`%`']), parseGrants([]), "'c'@'%'"); // ["GRANT SELECT ON `a`.* TO 'c'@'%'"]
 * ```
 */
export function grantSyncStatements(primary: Grants, clone: Grants, cloneAccount: string): string[] {
  const revokes: string[] = [];
  const grants: string[] = [];
  for (const [object, atoms] of clone.privileges) {
    const extra = minus(atoms, primary.privileges.get(object));
    if (extra.length > 0) revokes.push(`REVOKE ${renderPrivileges(extra)} ON ${object} FROM ${cloneAccount}`);
  }
  for (const object of minus(clone.grantOption, primary.grantOption)) revokes.push(`REVOKE GRANT OPTION ON ${object} FROM ${cloneAccount}`);
  for (const [role, admin] of clone.roles) {
    if (!primary.roles.has(role)) revokes.push(`REVOKE ${role} FROM ${cloneAccount}`);
    else if (admin && !primary.roles.get(role)) revokes.push(`REVOKE ADMIN OPTION FOR ${role} FROM ${cloneAccount}`);
  }
  for (const [role, admin] of primary.roles) {
    if (!clone.roles.has(role) || (admin && !clone.roles.get(role))) grants.push(`GRANT ${role} TO ${cloneAccount}${admin ? ' WITH ADMIN OPTION' : ''}`);
  }
  const objects = new Set([...primary.privileges.keys(), ...primary.grantOption]);
  for (const object of objects) {
    const missing = minus(primary.privileges.get(object) ?? [], clone.privileges.get(object));
    const option = primary.grantOption.has(object) && !clone.grantOption.has(object);
    if (missing.length === 0 && !option) continue;
    grants.push(`GRANT ${missing.length > 0 ? renderPrivileges(missing) : 'USAGE'} ON ${object} TO ${cloneAccount}${option ? ' WITH GRANT OPTION' : ''}`);
  }
  if (primary.defaultRole !== clone.defaultRole) grants.push(`SET DEFAULT ROLE ${primary.defaultRole ?? 'NONE'} FOR ${cloneAccount}`);
  return [...revokes, ...grants];
}
