/**
 * The http-api-key target: API keys of any provider whose HTTP API can create a key of the
 * caller's choosing, test one, list an account's keys and revoke one, described in keyturn.yaml
 * (./config.ts). The credential is `{ username, password }`: `username` is the account the keys
 * belong to (a project, a service account, a gateway consumer), `password` the API key, which
 * Keyturn generates under the secret's password rules and stores before the provider sees it, so
 * the store always knows a key before it can work (a crash cannot leave a key nobody holds).
 * The provider's admin credential (`ctx.admin`, the target's `admin:` secret) goes into the
 * requests through `{{admin.<field>}}` placeholders.
 *
 * `dual-key`: a rotation adds a second key, both work, consumers move to the new one, and
 * after the policy's `grace` the engine's cleanup revokes the old one. When the provider makes
 * the key (`create.response.key`), `renew` instead, through the target's `renewer`
 * (./renewer.ts): the same overlap, with the key made by the provider.
 *
 * - `set`: nothing when the key already works (a retry after a crash or a lost answer); else the
 *   `create` request, named `{{keyName}}` (derived from the key), then a `test`: a key the
 *   provider took the request for but that does not work is revoked again and the set fails. A
 *   409 answer is a key already there (it works) or the provider's limit of active keys
 *   (KT_TARGET_KEY_LIMIT).
 * - `revoke`: with `{{keyId}}`, the account's keys are listed and each one named for the key is
 *   revoked; a key Keyturn did not create (the first, made by hand) is found by the provider's
 *   hint of it when the list shows one, only while the key still works and only when exactly one
 *   listed key fits. A key that no longer works and is not listed is gone: success. Without
 *   `{{keyId}}` the revoke request names the key itself (`{{key}}` or `{{keyName}}`); a 404 or 410
 *   answer means gone.
 * - `test`: the `test` request; 2xx works, a status of `refusedStatus` is KT_TARGET_AUTH_FAILED.
 *
 * Keys and admin tokens never reach errors or logs: messages name the request and the HTTP
 * status, logs the key's name.
 *
 * @example
 * ```ts
 * const target = new HttpApiKeyTarget(httpApiKeyConfigSchema.parse(config));
 * await target.set(ctx, { username: 'acct_1', password: next }, { username: 'acct_1', password: old });
 * await target.test(ctx, { username: 'acct_1', password: next });
 * await target.revoke(ctx, { username: 'acct_1', password: old }); // after grace
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import { adminRequired, assertStrategy, assertUsername } from '../checks.js';
import { targetError, type Attempt, type Endpoint } from '../target-error.js';
import type { Credential, PasswordLimits, Renewer, Strategy, Target, TargetContext } from '../target.js';
import { httpApiKeyStrategiesOf, type HttpApiKeyTargetConfig } from './config.js';
import { answerError, endpointOf } from './errors.js';
import { hintMatches, isKeyturnName, keyName, listedKeys, type ListedKey } from './keys.js';
import { ProviderKeyRenewer } from './renewer.js';
import { renderRequest, UnsafeHeader, withProvider, type Answer, type RenderedRequest, type Send } from './session.js';
import { jsonStrings, MissingValue, requestNames, type RequestName } from './template.js';

/** No provider's limit: this keeps account names sane. */
const MAX_USERNAME_CHARS = 512;

const ok = (status: number): boolean => status >= 200 && status < 300;
const gone = (status: number): boolean => status === 404 || status === 410;

/** The name a credential's key has at the provider: the one stored with it (a provider-made key, named after its version), else derived from the key. */
export function nameOf(cred: Credential): string {
  return typeof cred.keyName === 'string' ? cred.keyName : keyName(cred.password);
}

export class HttpApiKeyTarget implements Target {
  readonly kind = 'http-api-key';
  readonly strategies: readonly Strategy[];
  readonly passwordLimits: PasswordLimits = {};
  /** Only when the provider makes the keys (`create.response.key`). */
  readonly renewer?: Renewer;
  readonly at: Endpoint;
  /** The revoke request names `{{keyId}}`: the key's id comes from `list` (or, for a provider-made key, from the create answer). */
  readonly revokeById: boolean;

  constructor(readonly config: HttpApiKeyTargetConfig) {
    this.at = endpointOf(config.baseUrl);
    this.strategies = httpApiKeyStrategiesOf(config);
    const r = config.revoke;
    this.revokeById = requestNames([r.path, ...Object.values(r.headers ?? {}), ...jsonStrings(r.body)], 'keyId');
    if (config.create.response !== undefined) this.renewer = new ProviderKeyRenewer(this);
  }

  async set(ctx: TargetContext, next: Credential, _current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS);
    const attempt = { username: next.username, action: `create a key for "${next.username}"` };
    const create = this.render(ctx, 'create', next, attempt);
    await withProvider(this.config, ctx.signal, async (send) => {
      // Already there: a retry after a crash, or after an answer that was lost.
      if (await this.works(send, ctx, next)) return;
      const answer = await send(create, 'create', attempt);
      if (!ok(answer.status)) {
        // A 409 may be the key itself, created by a request whose answer was lost.
        if (answer.status === 409 && (await this.works(send, ctx, next))) return;
        throw this.answerError(answer, 'create', attempt, ctx);
      }
      if (await this.works(send, ctx, next)) {
        ctx.log.debug({ target: this.kind, username: next.username, key: keyName(next.password) }, 'api key created');
        return;
      }
      // The provider took the request, not the key (it made one of its own, or {{key}} is where it reads nothing): take it back.
      await this.revokeWith(send, ctx, next).catch((e: unknown) => {
        ctx.log.warn({ target: this.kind, username: next.username, key: keyName(next.password), code: (e as { code?: unknown }).code }, 'a key created by a refused set could not be revoked');
      });
      throw targetError(
        'KT_TARGET_PASSWORD_REJECTED',
        this.at,
        attempt,
        answer.status,
        "the provider answered the create request, but the key sent does not work: create must send {{key}} where the provider takes a key of the caller's choosing",
      );
    });
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    assertUsername(this.kind, cred.username, MAX_USERNAME_CHARS);
    await withProvider(this.config, ctx.signal, async (send) => {
      const answer = await this.probe(send, ctx, cred);
      if (!ok(answer.status)) throw this.answerError(answer, 'test', { username: cred.username, action: 'test a key' }, ctx);
    });
  }

  /** Ends `cred`'s key, leaving the account's other keys; a key already gone is success. */
  async revoke(ctx: TargetContext, cred: Credential): Promise<void> {
    assertUsername(this.kind, cred.username, MAX_USERNAME_CHARS);
    await withProvider(this.config, ctx.signal, (send) => this.revokeWith(send, ctx, cred));
  }

  /** Sends the test request with `cred`'s key: the answer when it works (2xx) or is refused (`refusedStatus`); other failures throw. */
  async probe(send: Send, ctx: TargetContext, cred: Credential): Promise<Answer> {
    const attempt = { username: cred.username, action: 'test a key' };
    const answer = await send(this.render(ctx, 'test', cred, attempt), 'test', attempt);
    if (ok(answer.status) || this.config.test.refusedStatus.includes(answer.status)) return answer;
    throw this.answerError(answer, 'test', attempt, ctx);
  }

  /** True when `cred`'s key works; false when the provider refuses it; other failures throw. */
  private async works(send: Send, ctx: TargetContext, cred: Credential): Promise<boolean> {
    return ok((await this.probe(send, ctx, cred)).status);
  }

  /** Ends `cred`'s key with an open `send` (./renewer.ts uses it too). */
  async revokeWith(send: Send, ctx: TargetContext, cred: Credential): Promise<void> {
    const attempt = { username: cred.username, action: `revoke a key of "${cred.username}"` };
    const name = nameOf(cred);
    // A provider-made key's id came with it: no list needed.
    if (this.revokeById && typeof cred.keyId === 'string') {
      const answer = await send(this.render(ctx, 'revoke', cred, attempt, cred.keyId), 'revoke', attempt);
      if (!ok(answer.status) && !gone(answer.status)) throw this.answerError(answer, 'revoke', attempt, ctx);
      ctx.log.debug({ target: this.kind, username: cred.username, key: name }, 'api key revoked');
      return;
    }
    if (!this.revokeById) {
      const answer = await send(this.render(ctx, 'revoke', cred, attempt), 'revoke', attempt);
      if (!ok(answer.status) && !gone(answer.status)) throw this.answerError(answer, 'revoke', attempt, ctx);
      ctx.log.debug({ target: this.kind, username: cred.username, key: name }, 'api key revoked');
      return;
    }
    const listed = await this.list(send, ctx, cred);
    let mine = listed.filter((k) => k.name !== null && k.name.includes(name));
    if (mine.length === 0) {
      // Not one Keyturn created, or gone: a key that no longer works needs nothing more.
      if (!(await this.works(send, ctx, cred))) return;
      const hinted = this.config.list?.response.hint === undefined ? [] : listed.filter((k) => k.hint !== null && !isKeyturnName(k.name) && hintMatches(k.hint, cred.password));
      if (hinted.length !== 1) {
        const why =
          hinted.length === 0
            ? `the key still works, but the provider lists no key named ${name}${this.config.list?.response.hint === undefined ? '' : ' nor one whose hint fits it'}: revoke it by hand`
            : `the key still works, and ${hinted.length} listed keys have a hint that fits it: revoke it by hand`;
        throw targetError('KT_TARGET_FAILED', this.at, attempt, undefined, why);
      }
      mine = hinted;
    }
    for (const k of mine) {
      const answer = await send(this.render(ctx, 'revoke', cred, attempt, k.id), 'revoke', attempt);
      if (!ok(answer.status) && !gone(answer.status)) throw this.answerError(answer, 'revoke', attempt, ctx);
    }
    ctx.log.debug({ target: this.kind, username: cred.username, key: name, revoked: mine.length }, 'api key revoked');
  }

  /** The account's keys; none when the account is not there (404). */
  async list(send: Send, ctx: TargetContext, cred: Credential): Promise<ListedKey[]> {
    const attempt = { username: cred.username, action: `list the keys of "${cred.username}"` };
    const answer = await send(this.render(ctx, 'list', cred, attempt), 'list', attempt);
    if (answer.status === 404) return [];
    if (!ok(answer.status)) throw this.answerError(answer, 'list', attempt, ctx);
    const keys = listedKeys(answer.json(), this.config.list!.response);
    if (keys === null) throw targetError('KT_TARGET_FAILED', this.at, attempt, answer.status, 'the list answer does not have the shape list.response describes');
    return keys;
  }

  /** One request rendered for `cred` (an empty `password`: no key yet, as a provider-made key's create). */
  render(ctx: TargetContext, name: RequestName, cred: Credential, attempt: Attempt, keyId?: string): RenderedRequest {
    const request = this.config[name];
    if (!request) throw new KeyturnError('KT_TARGET_CONFIG_INVALID', `the http-api-key target has no ${name} request`, { details: { target: this.kind } });
    const values = { username: cred.username, ...(cred.password === '' ? {} : { key: cred.password }), keyName: nameOf(cred), ...(keyId === undefined ? {} : { keyId }), admin: ctx.admin };
    try {
      return renderRequest(this.config, request, values);
    } catch (e) {
      if (e instanceof UnsafeHeader) throw targetError('KT_TARGET_PASSWORD_REJECTED', this.at, attempt, undefined, `the value of header ${e.header} would hold a line break`);
      if (!(e instanceof MissingValue)) throw e;
      if (e.adminField !== null && ctx.admin === null) throw adminRequired(this.kind, ctx, `send its ${name} request, which names {{${e.placeholder}}}`);
      throw new KeyturnError(
        'KT_TARGET_CONFIG_INVALID',
        e.adminField !== null
          ? `the ${name} request names {{${e.placeholder}}}, but the admin credential has no field ${e.adminField}`
          : `the ${name} request names {{${e.placeholder}}}, which has no value here`,
        { details: { target: this.kind } },
      );
    }
  }

  answerError(answer: Answer, name: RequestName, attempt: Attempt, ctx: TargetContext): KeyturnError {
    return answerError(answer.status, name, this.at, attempt, ctx.admin?.username ?? 'the admin', answer.retryAfterMs, this.config.test.refusedStatus);
  }
}
