/**
 * The External Secrets Operator reading Keyturn through its webhook provider: the ClusterSecretStore
 * and ExternalSecret of docs/consumers.md#external-secrets-operator, read from that page, rendered
 * and applied the way ESO's `providers/v1/webhook` does (./helpers/eso-webhook.ts) against
 * `keyturn server` listening over HTTPS, trusted through the store's `caBundle` alone. Checks a
 * whole value, one property, `dataFrom.extract`, a version by number and by id, 404 (ESO: the secret
 * is gone) for a missing secret or version, an error (not a 404) for a missing property or a
 * soft-deleted secret, 400 for an empty `?version=` (why the docs URL uses `{{ with }}`), 403 for a
 * token whose policy lacks `read`, and each read audited with the token as actor.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { apiHome, type ApiHome } from './helpers/api-home.js';
import { makeCa, makeLeaf } from './helpers/certs.js';
import { esoWebhook, executeTemplate, NoSecretError, queryEscape, type EsoWebhook, type RemoteRef, type WebhookSpec } from './helpers/eso-webhook.js';
import { tempDir } from './helpers/state.js';

type Tok = 'eso' | 'lister' | 'other';

interface ExternalSecret {
  spec: { data: Array<{ secretKey: string; remoteRef: RemoteRef }>; dataFrom: Array<{ extract: RemoteRef }> };
}
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  spec?: { provider: { webhook: WebhookSpec } };
  stringData?: Record<string, string>;
}

/** The YAML block of the docs' ESO section, as documents. */
function docsExample(): K8sDoc[] {
  const page = readFileSync(new URL('../docs/consumers.md', import.meta.url), 'utf8');
  const section = page.slice(page.indexOf('## External Secrets Operator'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  return parseAllDocuments(block).map((d) => d.toJS() as K8sDoc);
}

let h: ApiHome<Tok>;
let base: string;
let store: WebhookSpec;
let externalSecret: ExternalSecret;
let tokenDoc: K8sDoc;
let caPem: string;
const tmp = tempDir('keyturn-eso-');
const opened: EsoWebhook[] = [];

/** ESO's provider for the docs' store, with the named token in the `keyturn-eso-token` Secret. */
function eso(who: Tok | string): EsoWebhook {
  const token = who === 'eso' || who === 'lister' || who === 'other' ? h.tokens[who] : who;
  const w = esoWebhook({ ...store, caBundle: Buffer.from(caPem).toString('base64') }, { keyturn: { ...tokenDoc.stringData, token } });
  opened.push(w);
  return w;
}

async function readEvents(from: number): Promise<Array<Record<string, string | null>>> {
  return (await h.kt.audit.between(from)).map((row) => JSON.parse(row.leaf) as Record<string, string | null>).filter((e) => e.source === 'api');
}

beforeAll(async () => {
  const ca = await makeCa(tmp.dir);
  caPem = ca.pem;
  const leaf = await makeLeaf(ca, { name: 'keyturn', cn: 'keyturn.test', sans: ['IP:127.0.0.1'] });
  h = await apiHome<Tok>({
    policies: {
      'eso-read': 'rules:\n  - path: prod/apps/**\n    capabilities: [read]\n',
      'eso-list': 'rules:\n  - path: prod/apps/**\n    capabilities: [list]\n',
      'other-read': 'rules:\n  - path: prod/other/**\n    capabilities: [read]\n',
    },
    tokens: { eso: ['eso-read'], lister: ['eso-list'], other: ['other-read'] },
    secrets: [
      ['prod/apps/db', { username: 'app', password: 'pw-1&<x>' }],
      ['prod/apps/token', 'tok-1'],
      ['prod/apps/token', 'tok-2'],
      ['prod/apps/token', 'tok-3'],
      ['prod/apps/token', 'tok-4'],
      ['prod/apps/json-looking', '{"a":"1"}'],
      ['prod/apps/gone', 'gone-1'],
    ],
    server: { breakGlassSweepMs: false, https: { cert: readFileSync(leaf.chainFile), key: readFileSync(leaf.keyFile) } },
  });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `https://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  const docs = docsExample();
  const css = docs.find((d) => d.kind === 'ClusterSecretStore')!;
  store = { ...css.spec!.provider.webhook, url: css.spec!.provider.webhook.url.replace('https://keyturn.example.com:8787', base) };
  externalSecret = docs.find((d) => d.kind === 'ExternalSecret') as unknown as ExternalSecret;
  tokenDoc = docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'keyturn-eso-token')!;
});

afterAll(async () => {
  for (const w of opened) await w.close();
  await h?.close();
  tmp.remove();
});

describe('ESO webhook provider against keyturn server', () => {
  it('the docs store names the token Secret it is given, renders the URL as ESO does, and trusts the caBundle', () => {
    expect(store.url.startsWith(`${base}/v1/secrets/`)).toBe(true);
    expect(store.secrets).toEqual([{ name: 'keyturn', secretRef: { name: 'keyturn-eso-token', namespace: 'external-secrets' } }]);
    expect(store.headers?.Authorization).toBe('Bearer {{ .keyturn.token }}');
    const escaped = (ref: RemoteRef) => ({ remoteRef: { key: queryEscape(ref.key), version: queryEscape(ref.version ?? ''), property: queryEscape(ref.property ?? '') } });
    expect(executeTemplate(store.url, escaped({ key: 'prod/apps/db' }))).toBe(`${base}/v1/secrets/prod%2Fapps%2Fdb`);
    expect(executeTemplate(store.url, escaped({ key: 'prod/apps/token', version: '3' }))).toBe(`${base}/v1/secrets/prod%2Fapps%2Ftoken?version=3`);
    expect(executeTemplate(store.result!.jsonPath!, { remoteRef: { property: 'password' } })).toBe('$.value["password"]');
    expect(executeTemplate(store.result!.jsonPath!, { remoteRef: { property: '' } })).toBe('$.value');
  });

  it('reconciles the docs ExternalSecret: a property, a plain string, a version number, dataFrom.extract; each read audited with the token', async () => {
    const from = (await h.kt.audit.between(0)).length;
    const provider = eso('eso');
    const target: Record<string, string> = {};
    // ESO gets dataFrom first, then data (a data key wins).
    for (const f of externalSecret.spec.dataFrom) Object.assign(target, await provider.getSecretMap(f.extract));
    for (const d of externalSecret.spec.data) target[d.secretKey] = await provider.getSecret(d.remoteRef);
    expect(target).toEqual({ username: 'app', password: 'pw-1&<x>', 'api-token': 'tok-4', 'api-token-v3': 'tok-3' });

    const reads = (await readEvents(from)).filter((e) => e.action === 'secret.read');
    expect(reads.map((e) => `${e.path} ${e.outcome}`)).toEqual(['prod/apps/db success', 'prod/apps/db success', 'prod/apps/token success', 'prod/apps/token success']);
    expect(reads.every((e) => e.actor === `token:${h.ids.eso}`)).toBe(true);
    expect(JSON.stringify(await h.kt.audit.between(0))).not.toMatch(/pw-1|tok-\d/);
  });

  it('a whole structured value comes out as its JSON text (Go json.Marshal: keys sorted, HTML escaped); a JSON-looking string stays a string', async () => {
    const provider = eso('eso');
    expect(await provider.getSecret({ key: 'prod/apps/db' })).toBe('{"password":"pw-1\\u0026\\u003cx\\u003e","username":"app"}');
    expect(await provider.getSecret({ key: 'prod/apps/json-looking' })).toBe('{"a":"1"}');
    expect(await provider.getSecret({ key: 'prod/apps/db', property: 'username' })).toBe('app');
  });

  it('a version by its id', async () => {
    const v2 = await h.kt.store.get('prod/apps/token', { number: 2 });
    expect(await eso('eso').getSecret({ key: 'prod/apps/token', version: v2!.id })).toBe('tok-2');
  });

  it('404 for a missing secret or version is what ESO takes for a deleted secret; a missing property is an error, not a deletion', async () => {
    const provider = eso('eso');
    await expect(provider.getSecret({ key: 'prod/apps/missing' })).rejects.toBeInstanceOf(NoSecretError);
    await expect(provider.getSecretMap({ key: 'prod/apps/missing' })).rejects.toBeInstanceOf(NoSecretError);
    await expect(provider.getSecret({ key: 'prod/apps/token', version: '99' })).rejects.toBeInstanceOf(NoSecretError);
    const missingField = provider.getSecret({ key: 'prod/apps/db', property: 'nope' });
    await expect(missingField).rejects.toThrow('unknown key nope');
    await expect(missingField).rejects.not.toBeInstanceOf(NoSecretError);
    await expect(provider.getSecret({ key: 'prod/apps/token', property: 'x' })).rejects.not.toBeInstanceOf(NoSecretError);
  });

  it('a soft-deleted secret (still restorable) is an error, not a deletion; an empty ?version= is refused, hence the {{ with }} in the docs URL', async () => {
    await h.kt.store.remove('prod/apps/gone');
    const deleted = eso('eso').getSecret({ key: 'prod/apps/gone' });
    await expect(deleted).rejects.toThrow('endpoint gave error 409');
    await expect(deleted).rejects.not.toBeInstanceOf(NoSecretError);
    const naive = esoWebhook(
      { ...store, url: `${base}/v1/secrets/{{ .remoteRef.key }}?version={{ .remoteRef.version }}`, caBundle: Buffer.from(caPem).toString('base64') },
      { keyturn: { token: h.tokens.eso } },
    );
    opened.push(naive);
    await expect(naive.getSecret({ key: 'prod/apps/token' })).rejects.toThrow('endpoint gave error 400');
  });

  it('403 for a token whose policy lacks read (list only, or another path), recorded as a refusal; 401 for a wrong token; none is a deletion', async () => {
    const from = (await h.kt.audit.between(0)).length;
    await expect(eso('lister').getSecret({ key: 'prod/apps/db', property: 'password' })).rejects.toThrow('endpoint gave error 403');
    await expect(eso('other').getSecret({ key: 'prod/apps/token' })).rejects.toThrow('endpoint gave error 403');
    await expect(eso('kt_not-a-token').getSecret({ key: 'prod/apps/token' })).rejects.toThrow('endpoint gave error 401');
    const events = await readEvents(from);
    expect(events.filter((e) => e.outcome === 'success')).toEqual([]);
    expect(events.filter((e) => e.action === 'access.denied').map((e) => `${e.actor} ${e.path}`)).toEqual([`token:${h.ids.lister} prod/apps/db`, `token:${h.ids.other} prod/apps/token`]);
  });

  it('a provider without the caBundle does not trust the server', async () => {
    const w = esoWebhook({ ...store, caBundle: '' }, { keyturn: { token: h.tokens.eso } });
    opened.push(w);
    await expect(w.getSecret({ key: 'prod/apps/token' })).rejects.toThrow();
  });
});
