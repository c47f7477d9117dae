/**
 * The External Secrets Operator's webhook provider (external-secrets `providers/v1/webhook`), as far
 * as the ESO tests need it, written from its code: the Go `text/template` rendering of `url`,
 * `headers`, `body` and `result.jsonPath` over `.remoteRef.key/.version/.property/.namespace` and
 * the store's `secrets:` (`.NAME.KEY`), the URL rendered with each remoteRef value passed through
 * Go's `url.QueryEscape` and everything else unescaped; the HTTP call (404: the secret is gone,
 * 304: not modified, any other status outside 2xx: an error); and `result.jsonPath` applied the way
 * PaesslerAG/jsonpath does for `$`, `.name` and `["name"]`, the result turned into bytes as ESO's
 * `extractSecretData` (GetSecret) and `GetByteValue` (GetSecretMap, `dataFrom.extract`) do.
 *
 * The template subset: `{{ .a.b }}`, `{{ . }}`, `{{ with .a.b }}...{{ else }}...{{ end }}`,
 * `{{ if .a.b }}...{{ else }}...{{ end }}`; anything else throws, so a documented template outside
 * it fails the test instead of being misread.
 *
 * @example
 * ```ts
 * const eso = esoWebhook(spec, { keyturn: { token } }, { ca });
 * await eso.getSecret({ key: 'prod/apps/db', property: 'password' }); // 'pw-1'
 * ```
 */
import { request, Agent } from 'undici';

/** ESO's `spec.provider.webhook` (the fields used here). */
export interface WebhookSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  result?: { jsonPath?: string };
  secrets?: Array<{ name: string; secretRef: { name: string; namespace?: string } }>;
  caBundle?: string;
}

/** An ExternalSecret's `remoteRef`. */
export interface RemoteRef {
  key: string;
  version?: string;
  property?: string;
}

/** What ESO's provider returns for a 404: the remote secret does not exist (deletionPolicy applies). */
export class NoSecretError extends Error {
  constructor() {
    super('Secret does not exist');
  }
}

type Data = Record<string, Record<string, string>>;

/** Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, every other UTF-8 byte `%XX`. */
export function queryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

type Node = { t: 'text'; s: string } | { t: 'field'; path: string[] } | { t: 'block'; kind: 'with' | 'if'; path: string[]; then: Node[]; else: Node[] };

function fieldPath(expr: string): string[] {
  if (expr === '.') return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(expr)) throw new Error(`template action outside the subset: ${expr}`);
  return expr.slice(1).split('.');
}

function parseTemplate(tmpl: string): Node[] {
  const tokens = tmpl.split(/(\{\{.*?\}\})/s).filter((t) => t !== '');
  let i = 0;
  const parse = (stop: readonly string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i++]!;
      if (!tok.startsWith('{{')) {
        nodes.push({ t: 'text', s: tok });
        continue;
      }
      const action = tok.slice(2, -2).trim();
      if (stop.includes(action)) return { nodes, end: action };
      const block = /^(with|if)\s+(\S+)$/.exec(action);
      if (block) {
        const then = parse(['else', 'end']);
        const otherwise = then.end === 'else' ? parse(['end']).nodes : [];
        nodes.push({ t: 'block', kind: block[1] as 'with' | 'if', path: fieldPath(block[2]!), then: then.nodes, else: otherwise });
        continue;
      }
      nodes.push({ t: 'field', path: fieldPath(action) });
    }
    if (stop.length > 0) throw new Error(`template: unexpected EOF (missing {{ end }})`);
    return { nodes, end: '' };
  };
  return parse([]).nodes;
}

function lookup(dot: unknown, path: readonly string[]): unknown {
  let v = dot;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v ?? '';
}

/** Go's `text/template` Execute for the subset above (a missing map key is the zero value ""). */
export function executeTemplate(tmpl: string, data: Data): string {
  if (tmpl === '') return '';
  const run = (nodes: readonly Node[], dot: unknown): string =>
    nodes
      .map((n) => {
        if (n.t === 'text') return n.s;
        const v = lookup(dot, n.path);
        if (n.t === 'field') {
          if (typeof v !== 'string') throw new Error('template: a map printed (two levels: .NAME.KEY)');
          return v;
        }
        const truthy = v !== '';
        return truthy ? run(n.then, n.kind === 'with' ? v : dot) : run(n.else, dot);
      })
      .join('');
  return run(parseTemplate(tmpl), data);
}

/** PaesslerAG/jsonpath `Get` for `$`, `.name` and `["name"]` selectors. */
export function jsonPathGet(expr: string, doc: unknown): unknown {
  if (!expr.startsWith('$')) throw new Error(`jsonpath outside the subset: ${expr}`);
  let rest = expr.slice(1);
  let v = doc;
  while (rest !== '') {
    const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest) ?? /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest);
    if (!m) throw new Error(`jsonpath outside the subset: ${expr}`);
    const key = m[0].startsWith('[') ? (JSON.parse(`"${m[1]!}"`) as string) : m[1]!;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`unsupported value type for select, expected map[string]interface{}`);
    if (!Object.hasOwn(v, key)) throw new Error(`unknown key ${key}`);
    v = (v as Record<string, unknown>)[key];
    rest = rest.slice(m[0].length);
  }
  return v;
}

/** Go's `json.Marshal` of what `json.Unmarshal` gave (map keys sorted, `<`, `>`, `&`, U+2028/9 escaped). */
export function goJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${goJson(k)}:${goJson(o[k])}`)
    .join(',')}}`;
}

/** ESO's `extractSecretData` (GetSecret with a jsonPath). */
function extractSecretData(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v === null) return '';
  if (typeof v === 'number') return v.toFixed(0);
  if (Array.isArray(v)) {
    if (v.length === 0) throw new Error("filter worked but didn't get any result");
    return extractSecretData(v[0]);
  }
  return goJson(v);
}

/** ESO's `GetByteValue` (each key of GetSecretMap). */
function byteValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return '';
  return goJson(v);
}

export interface EsoWebhook {
  /** ESO's GetSecret: one ExternalSecret `data` entry's value. */
  getSecret(ref: RemoteRef): Promise<string>;
  /** ESO's GetSecretMap: a `dataFrom.extract` entry's keys and values. */
  getSecretMap(ref: RemoteRef): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * The webhook provider of a store `spec`, its `secrets:` already read (`.NAME.KEY` values), calling
 * with the store's `caBundle` (base64 PEM) as the only trusted CA when it has one.
 */
export function esoWebhook(spec: WebhookSpec, secrets: Data, namespace = 'apps'): EsoWebhook {
  const ca = spec.caBundle ? Buffer.from(spec.caBundle, 'base64').toString('utf8') : undefined;
  const agent = new Agent(ca ? { connect: { ca } } : {});
  const templateData = (ref: RemoteRef, escape: boolean): Data => {
    const e = escape ? queryEscape : (s: string) => s;
    const data: Data = { remoteRef: { key: e(ref.key), version: e(ref.version ?? ''), property: e(ref.property ?? ''), namespace } };
    for (const s of spec.secrets ?? []) data[s.name] = { ...data[s.name], ...secrets[s.name] };
    return data;
  };
  const webhookData = async (ref: RemoteRef): Promise<string> => {
    const escaped = templateData(ref, true);
    const raw = templateData(ref, false);
    const url = executeTemplate(spec.url, escaped);
    const body = executeTemplate(spec.body ?? '', raw);
    const headers: Record<string, string> = {};
    for (const [k, tpl] of Object.entries(spec.headers ?? {})) headers[k] = executeTemplate(tpl, raw);
    const res = await request(url, { method: (spec.method ?? 'GET') as 'GET', headers, dispatcher: agent, ...(body === '' ? {} : { body }) });
    const text = await res.body.text();
    if (res.statusCode === 404) throw new NoSecretError();
    if (res.statusCode === 304) throw new Error('not modified');
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`endpoint gave error ${res.statusCode}`);
    return text;
  };
  return {
    getSecret: async (ref) => {
      const result = await webhookData(ref);
      const path = executeTemplate(spec.result?.jsonPath ?? '', templateData(ref, false));
      if (path === '') return result;
      return extractSecretData(jsonPathGet(path, JSON.parse(result)));
    },
    getSecretMap: async (ref) => {
      const path = executeTemplate(spec.result?.jsonPath ?? '', templateData(ref, false));
      let json: unknown = JSON.parse(await webhookData(ref));
      if (path !== '') json = jsonPathGet(path, json);
      if (typeof json === 'string') json = JSON.parse(json);
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('failed to get response (wrong type)');
      return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, byteValue(v)]));
    },
    close: () => agent.close(),
  };
}
