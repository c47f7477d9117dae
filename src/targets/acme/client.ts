/**
 * A small ACME client (RFC 8555): the directory, nonces, JWS-signed requests (jose), the account,
 * orders, authorizations, challenges, finalize and the certificate download. Each request is
 * bounded by the issue's signal (the rotation's own and the target's `timeoutMs`); a `badNonce`
 * answer is retried with the fresh nonce it carries (a CA may refuse any nonce, RFC 8555 6.5).
 * HTTPS trust is the system's, or only `caBundle`'s when the target gives one.
 *
 * @example
 * ```ts
 * const client = new AcmeClient({ directoryUrl, ca: null, accountKey, signal });
 * await client.account('ops@example.com');
 * const order = await client.newOrder(['www.example.com']);
 * ```
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { calculateJwkThumbprint, exportJWK, FlattenedSign, type JWK } from 'jose';
import { Agent, fetch } from 'undici';
import { KeyturnError } from '../../core/errors.js';
import { targetError, type Endpoint } from '../target-error.js';
import { problemError, problemName, requestError, type AcmeProblem } from './errors.js';

export interface AcmeDirectory {
  readonly newNonce: string;
  readonly newAccount: string;
  readonly newOrder: string;
}

export interface AcmeOrder {
  readonly url: string;
  readonly status: string;
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
  readonly error?: AcmeProblem;
}

export interface AcmeChallenge {
  readonly type: string;
  readonly url: string;
  readonly token?: string;
  readonly status: string;
  readonly error?: AcmeProblem;
}

export interface AcmeAuthorization {
  readonly status: string;
  readonly identifier: { readonly type: string; readonly value: string };
  readonly challenges: readonly AcmeChallenge[];
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** badNonce answers retried per request before giving up. */
const NONCE_RETRIES = 5;
/** Polling interval bounds when the CA sends no (or an odd) Retry-After. */
const POLL_MIN_MS = 100;
const POLL_MAX_MS = 10_000;

/** The JWS algorithm for an account key (ES256, ES384, RS256), or KT_ACME_ACCOUNT_KEY_INVALID. */
export function accountAlg(key: KeyObject): 'ES256' | 'ES384' | 'RS256' {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && curve === 'prime256v1') return 'ES256';
  if (type === 'ec' && curve === 'secp384r1') return 'ES384';
  if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return 'RS256';
  throw new KeyturnError(
    'KT_ACME_ACCOUNT_KEY_INVALID',
    `the ACME account key must be an EC P-256 or P-384 key, or an RSA key of at least 2048 bits (it is ${type ?? 'unknown'}${curve ? ` ${curve}` : ''})`,
    {
      details: { target: 'acme' },
    },
  );
}

export class AcmeClient {
  readonly at: Endpoint;
  private readonly dispatcher: Agent | undefined;
  private readonly alg: 'ES256' | 'ES384' | 'RS256';
  private directoryCache: AcmeDirectory | null = null;
  private nonce: string | null = null;
  private kid: string | null = null;
  private jwk: JWK | null = null;

  constructor(private readonly options: { readonly directoryUrl: string; readonly ca: string | null; readonly accountKey: KeyObject; readonly signal: AbortSignal }) {
    const url = new URL(options.directoryUrl);
    this.at = { kind: 'acme', host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port) };
    this.dispatcher = options.ca === null ? undefined : new Agent({ connect: { ca: options.ca } });
    this.alg = accountAlg(options.accountKey);
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  /** The account key's JWK thumbprint (RFC 7638), the second half of each key authorization. */
  async thumbprint(): Promise<string> {
    return calculateJwkThumbprint(await this.publicJwk());
  }

  /** `token.thumbprint`: what the HTTP-01 answer serves. */
  async keyAuthorization(token: string): Promise<string> {
    return `${token}.${await this.thumbprint()}`;
  }

  /** Finds or creates the account of the key (terms of service agreed); remembers its URL. */
  async account(email: string | undefined): Promise<string> {
    if (this.kid) return this.kid;
    const dir = await this.directory();
    const payload: Record<string, unknown> = { termsOfServiceAgreed: true };
    if (email !== undefined) payload.contact = [`mailto:${email}`];
    const answer = await this.post(dir.newAccount, payload, 'register the ACME account', true);
    const location = answer.headers.get('location');
    if (!location) throw problemError({ type: 'malformed', detail: 'the new-account answer has no Location' }, answer.status, this.at, 'register the ACME account');
    this.kid = location;
    return location;
  }

  async newOrder(names: readonly string[]): Promise<AcmeOrder> {
    const dir = await this.directory();
    const answer = await this.post(dir.newOrder, { identifiers: names.map((value) => ({ type: 'dns', value })) }, `order a certificate for ${names.join(', ')}`);
    const location = answer.headers.get('location');
    if (!location) throw problemError({ type: 'malformed', detail: 'the new-order answer has no Location' }, answer.status, this.at, 'create the order');
    return { ...(JSON.parse(answer.text) as Omit<AcmeOrder, 'url'>), url: location };
  }

  async authorization(url: string): Promise<AcmeAuthorization> {
    return JSON.parse((await this.post(url, null, 'read an authorization')).text) as AcmeAuthorization;
  }

  async order(url: string): Promise<AcmeOrder> {
    return { ...(JSON.parse((await this.post(url, null, 'read the order')).text) as Omit<AcmeOrder, 'url'>), url };
  }

  /** Tells the CA the challenge is ready to be validated. */
  async respond(challenge: AcmeChallenge): Promise<void> {
    await this.post(challenge.url, {}, `start the ${challenge.type} validation`);
  }

  async finalize(order: AcmeOrder, csrDer: Buffer): Promise<AcmeOrder> {
    const answer = await this.post(order.finalize, { csr: csrDer.toString('base64url') }, 'finalize the order');
    return { ...(JSON.parse(answer.text) as Omit<AcmeOrder, 'url'>), url: order.url };
  }

  /** The certificate chain as PEM (leaf first). */
  async certificate(url: string): Promise<string> {
    return (await this.post(url, null, 'download the certificate', false, 'application/pem-certificate-chain')).text;
  }

  /** Polls `read` until `done` holds of its answer, waiting what the CA's Retry-After says (bounded). */
  async poll<T>(read: () => Promise<{ value: T; retryAfterMs: number | null }>, done: (value: T) => boolean): Promise<T> {
    let wait = POLL_MIN_MS;
    for (;;) {
      const { value, retryAfterMs } = await read();
      if (done(value)) return value;
      await this.wait(Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, retryAfterMs ?? wait)));
      wait = Math.min(POLL_MAX_MS, wait * 2);
    }
  }

  /** Like {@link order}, with the answer's Retry-After, for {@link poll}. */
  async orderWithRetry(url: string): Promise<{ value: AcmeOrder; retryAfterMs: number | null }> {
    const answer = await this.post(url, null, 'read the order');
    return { value: { ...(JSON.parse(answer.text) as Omit<AcmeOrder, 'url'>), url }, retryAfterMs: retryAfter(answer.headers) };
  }

  /** Like {@link authorization}, with the answer's Retry-After, for {@link poll}. */
  async authorizationWithRetry(url: string): Promise<{ value: AcmeAuthorization; retryAfterMs: number | null }> {
    const answer = await this.post(url, null, 'read an authorization');
    return { value: JSON.parse(answer.text) as AcmeAuthorization, retryAfterMs: retryAfter(answer.headers) };
  }

  private async wait(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.options.signal });
    } catch (e) {
      throw requestError(e, this.at, 'wait for the CA', true);
    }
  }

  private async publicJwk(): Promise<JWK> {
    this.jwk ??= await exportJWK(createPublicKey(this.options.accountKey));
    const { kty, crv, x, y, n, e } = this.jwk;
    return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK;
  }

  async directory(): Promise<AcmeDirectory> {
    if (this.directoryCache) return this.directoryCache;
    const action = 'read the ACME directory';
    const answer = await this.send(this.options.directoryUrl, { method: 'GET' }, action);
    let dir: Partial<AcmeDirectory> = {};
    try {
      dir = JSON.parse(answer.text) as Partial<AcmeDirectory>;
    } catch {
      // not JSON: not a directory
    }
    if (answer.status !== 200 || typeof dir.newNonce !== 'string' || typeof dir.newAccount !== 'string' || typeof dir.newOrder !== 'string') {
      if (answer.status === 429 || answer.status >= 500) throw this.answerError(answer, action);
      throw targetError('KT_TARGET_UNAVAILABLE', this.at, { username: 'acme account', action }, answer.status, `${this.options.directoryUrl} is not an ACME directory (check directoryUrl)`);
    }
    this.directoryCache = { newNonce: dir.newNonce, newAccount: dir.newAccount, newOrder: dir.newOrder };
    return this.directoryCache;
  }

  private async freshNonce(): Promise<string> {
    if (this.nonce) {
      const n = this.nonce;
      this.nonce = null;
      return n;
    }
    const dir = await this.directory();
    const answer = await this.send(dir.newNonce, { method: 'HEAD' }, 'get a nonce');
    const nonce = answer.headers.get('replay-nonce');
    if (!nonce) throw this.answerError(answer, 'get a nonce');
    this.nonce = null; // send() kept it as the next nonce: it is used now
    return nonce;
  }

  /** A JWS-signed POST (`payload` null: POST-as-GET); throws on a problem answer. */
  private async post(url: string, payload: unknown, action: string, useJwk = false, accept = 'application/json'): Promise<Answer> {
    const body = payload === null ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(payload));
    for (let attempt = 0; ; attempt += 1) {
      const header = { alg: this.alg, nonce: await this.freshNonce(), url, ...(useJwk || !this.kid ? { jwk: await this.publicJwk() } : { kid: this.kid }) };
      const jws = await new FlattenedSign(body).setProtectedHeader(header).sign(this.options.accountKey);
      const answer = await this.send(url, { method: 'POST', headers: { 'content-type': 'application/jose+json', accept }, body: JSON.stringify(jws) }, action);
      if (answer.status < 400) return answer;
      if (problemName(parseProblem(answer.text)) === 'badNonce' && attempt < NONCE_RETRIES) continue;
      throw this.answerError(answer, action);
    }
  }

  private answerError(answer: Answer, action: string): KeyturnError {
    return problemError(parseProblem(answer.text), answer.status, this.at, action);
  }

  private async send(url: string, init: { method: string; headers?: Record<string, string>; body?: string }, action: string): Promise<Answer> {
    if (this.options.signal.aborted) throw requestError(this.options.signal.reason, this.at, action, true);
    try {
      const res = await fetch(url, { ...init, signal: this.options.signal, redirect: 'manual', ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}) });
      const text = init.method === 'HEAD' ? '' : await res.text();
      const nonce = res.headers.get('replay-nonce');
      if (nonce) this.nonce = nonce;
      return { status: res.status, headers: res.headers as unknown as Headers, text };
    } catch (e) {
      throw requestError(e, this.at, action, this.options.signal.aborted);
    }
  }
}

function parseProblem(text: string): AcmeProblem | null {
  try {
    const p = JSON.parse(text) as unknown;
    return p !== null && typeof p === 'object' ? (p as AcmeProblem) : null;
  } catch {
    return null;
  }
}

/** Retry-After in ms (seconds or an HTTP date), or null. */
function retryAfter(headers: Headers): number | null {
  const v = headers.get('retry-after');
  if (v === null) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
