/**
 * The acme target: TLS certificates from any ACME CA (RFC 8555: Let's Encrypt, ZeroSSL, a
 * private step-ca or Boulder, the pebble test server), renewed with the `renew` strategy.
 * Nothing on an outside system is replaced: each issue makes a new key and a new certificate,
 * the old one keeps working until it expires, and consumers carry the new value to its servers.
 *
 * - `issue`: a new key (`keyType`), an order for `names` signed by the account key (the target's
 *   admin secret, ./account-key.ts), the HTTP-01 answers served on `challenge.listen` only while
 *   the CA validates, finalize with a CSR, download; the value is
 *   `{ cert, key, chain, notAfter, serial }` (./certificate-value.ts). Authorizations the CA
 *   already holds as valid need no challenge.
 * - `check`: the leaf parses, the key is its key, its names cover `names`, it is valid now
 *   (a notBefore still ahead is {@link NotYet}), and the chain links (the leaf issued by the
 *   first chain certificate, each by the next).
 * - `renewAt`: notAfter − `renewBefore` (./config.ts).
 *
 * Errors: no answer, TLS failure, 5xx: KT_TARGET_UNAVAILABLE; rate limited: KT_TARGET_RATE_LIMITED;
 * a refused order or a failed validation: KT_ACME_ORDER_FAILED with the ACME problem type;
 * no admin secret: KT_TARGET_ADMIN_REQUIRED. Keys never reach errors or logs.
 *
 * @example
 * ```ts
 * const target = new AcmeTarget(acmeConfigSchema.parse(config));
 * const value = await target.renewer.issue(ctx, null, 'run_1.g1'); // ctx.adminValue: the account key
 * await target.renewer.check(ctx, value, { pendingSince: Date.now(), now: Date.now() });
 * ```
 */
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import { RenewOnlyTarget } from '../renew-target.js';
import { NotYet, type Renewer, type TargetContext } from '../target.js';
import { accountKeyOf } from './account-key.js';
import { AcmeClient, type AcmeAuthorization, type AcmeChallenge, type AcmeOrder } from './client.js';
import { acmeValueFromChain, dnsNames, parseAcmeCertificateValue, pemCertificates } from './certificate-value.js';
import { DEFAULT_TIMEOUT_MS, parseListen, renewBeforeMs, type AcmeTargetConfig, type KeyType } from './config.js';
import { makeCsr } from './csr.js';
import { problemError } from './errors.js';
import { startHttp01 } from './http01.js';

/** A new certificate key and its PKCS#8 PEM. */
function newKey(type: KeyType): { key: KeyObject; pem: string } {
  const { privateKey } = type === 'rsa-2048' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { key: privateKey, pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function certInvalid(reason: string, details: Record<string, unknown> = {}): KeyturnError {
  return new KeyturnError('KT_ACME_CERT_INVALID', `the acme certificate ${reason}`, { details: { target: 'acme', ...details } });
}

export class AcmeRenewer implements Renewer {
  constructor(private readonly config: AcmeTargetConfig) {}

  async issue(ctx: TargetContext, _current: SecretValue | null, versionId: string): Promise<SecretValue> {
    const accountKey = accountKeyOf(ctx);
    const ca = await this.caBundle();
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS)]);
    const client = new AcmeClient({ directoryUrl: this.config.directoryUrl, ca, accountKey, signal });
    const started = performance.now();
    const names = this.config.names;
    try {
      await client.account(this.config.email);
      let order = await client.newOrder(names);
      await this.authorize(ctx, client, order);
      order = await client.poll(
        () => client.orderWithRetry(order.url),
        (o) => o.status !== 'pending',
      );
      const { key, pem } = newKey(this.config.keyType);
      if (order.status === 'ready') order = await client.finalize(order, makeCsr(key, names));
      order = await client.poll(
        () => client.orderWithRetry(order.url),
        (o) => o.status !== 'processing' && o.status !== 'ready',
      );
      if (order.status !== 'valid' || order.certificate === undefined) throw this.orderError(client, order, 'issue the certificate');
      const value = acmeValueFromChain(await client.certificate(order.certificate), pem);
      ctx.log.info({ target: 'acme', names, versionId, serial: value.serial, notAfter: value.notAfter, ms: Math.round(performance.now() - started) }, 'acme certificate issued');
      return value;
    } finally {
      await client.close();
    }
  }

  /** Proves control of each name whose authorization is pending, with HTTP-01. */
  private async authorize(ctx: TargetContext, client: AcmeClient, order: AcmeOrder): Promise<void> {
    if (order.status === 'invalid') throw this.orderError(client, order, 'create the order');
    const pending: Array<{ url: string; name: string; challenge: AcmeChallenge }> = [];
    for (const url of order.authorizations) {
      const authz = await client.authorization(url);
      if (authz.status === 'valid') continue;
      const name = authz.identifier?.value ?? '?';
      if (authz.status !== 'pending') throw this.authzError(client, authz, name);
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      if (!challenge || typeof challenge.token !== 'string') {
        throw problemError(
          { type: 'urn:ietf:params:acme:error:unsupportedChallenge', detail: `the CA offers no http-01 challenge for ${name} (offered: ${authz.challenges.map((c) => c.type).join(', ')})` },
          undefined,
          client.at,
          `validate ${name}`,
        );
      }
      pending.push({ url, name, challenge });
    }
    if (pending.length === 0) return;
    const { host, port } = parseListen(this.config.challenge.listen)!;
    const server = await startHttp01(host, port);
    try {
      for (const p of pending) server.add(p.challenge.token!, await client.keyAuthorization(p.challenge.token!));
      for (const p of pending) if (p.challenge.status === 'pending') await client.respond(p.challenge);
      for (const p of pending) {
        const authz = await client.poll(
          () => client.authorizationWithRetry(p.url),
          (a) => a.status !== 'pending',
        );
        if (authz.status !== 'valid') throw this.authzError(client, authz, p.name);
      }
      ctx.log.debug({ target: 'acme', names: pending.map((p) => p.name), served: server.served }, 'acme http-01 validation passed');
    } finally {
      await server.close();
    }
  }

  private authzError(client: AcmeClient, authz: AcmeAuthorization, name: string): KeyturnError {
    const failed = authz.challenges.find((c) => c.error !== undefined);
    return problemError(
      failed?.error ?? { type: `urn:ietf:params:acme:error:unauthorized`, detail: `the authorization for ${name} is ${authz.status}` },
      undefined,
      client.at,
      `validate ${name} with http-01`,
    );
  }

  private orderError(client: AcmeClient, order: AcmeOrder, action: string): KeyturnError {
    return problemError(order.error ?? { type: 'urn:ietf:params:acme:error:orderNotReady', detail: `the order is ${order.status}` }, undefined, client.at, action);
  }

  private async caBundle(): Promise<string | null> {
    return this.config.caBundle === undefined ? null : (await this.readPemFile(this.config.caBundle, 'caBundle')).join('\n');
  }

  async check(_ctx: TargetContext, value: SecretValue, when: { readonly pendingSince: number; readonly now: number }): Promise<void> {
    const { leaf, chain, key, value: v } = parseAcmeCertificateValue(value);
    if (!leaf.checkPrivateKey(key)) throw certInvalid('key does not match the certificate', { serial: v.serial });
    const have = new Set(dnsNames(leaf));
    const missing = this.config.names.filter((n) => !have.has(n.toLowerCase()));
    if (missing.length > 0) throw certInvalid(`does not cover ${missing.join(', ')} (it names ${[...have].join(', ') || 'no DNS name'})`, { serial: v.serial });
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    if (when.now >= notAfter) throw certInvalid(`expired at ${new Date(notAfter).toISOString()}`, { serial: v.serial });
    if (when.now < notBefore) throw new NotYet(notBefore, `the certificate is valid from ${new Date(notBefore).toISOString()}`);
    if (chain.length === 0) throw certInvalid('comes without its chain (no intermediate certificate)', { serial: v.serial });
    const links: X509Certificate[] = [leaf, ...chain];
    for (let i = 0; i + 1 < links.length; i += 1) {
      if (!links[i]!.checkIssued(links[i + 1]!) || !links[i]!.verify(links[i + 1]!.publicKey)) {
        throw certInvalid(i === 0 ? 'is not issued by the first certificate of its chain' : `chain certificate ${i} is not issued by chain certificate ${i + 1}`, { serial: v.serial });
      }
    }
    // With issuerRoots: the chain ends at one of the CA's roots (else any CA whose chain links would pass).
    if (this.config.issuerRoots !== undefined) {
      const roots = (await this.readPemFile(this.config.issuerRoots, 'issuerRoots')).map((p) => new X509Certificate(p));
      const top = links[links.length - 1]!;
      const anchored = roots.some((root) => root.fingerprint256 === top.fingerprint256 || (top.checkIssued(root) && top.verify(root.publicKey)));
      if (!anchored) throw certInvalid(`does not chain to a root of issuerRoots ${this.config.issuerRoots} (its chain ends at ${top.issuer.replace(/\n/g, ', ')})`, { serial: v.serial });
    }
  }

  /** The PEM certificates of a file the config names (read each time: a file replaced on disk is picked up). */
  private async readPemFile(file: string, key: string): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new KeyturnError('KT_TARGET_CONFIG_INVALID', `the acme target cannot read its ${key} ${file} (${(e as { code?: string }).code ?? 'unknown reason'})`, {
        details: { target: 'acme', file },
      });
    }
    const pems = pemCertificates(text);
    if (pems.length === 0) throw new KeyturnError('KT_TARGET_CONFIG_INVALID', `the acme target's ${key} ${file} holds no PEM certificate`, { details: { target: 'acme', file } });
    return pems;
  }

  renewAt(value: SecretValue): number | null {
    const { leaf } = parseAcmeCertificateValue(value);
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    return notAfter - renewBeforeMs(this.config.renewBefore, notAfter - notBefore);
  }
}

export class AcmeTarget extends RenewOnlyTarget {
  readonly kind = 'acme';
  readonly renewer: AcmeRenewer;

  constructor(config: AcmeTargetConfig) {
    super();
    this.renewer = new AcmeRenewer(config);
  }
}
