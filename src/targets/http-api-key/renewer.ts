/**
 * The http-api-key target's `renew` strategy, for providers that make the key themselves and
 * answer it in the create response (`create.response.key`: Stripe, OpenAI, Datadog). The value is
 * still a credential, `{ username, password: <the key>, keyName, keyId? }`, so consumers and
 * `asCredential` read it as any API key; `keyName` (`kt-` and 16 hex digits of the SHA-256 of the
 * version id) is the name the key was created with, `keyId` the provider's id from the answer.
 *
 * - `issue(ctx, current, versionId)`: lists the account's keys first; a key already named for
 *   `versionId` was made by an interrupted earlier attempt (a kill after the create, a lost
 *   answer), whose value nobody holds (the provider shows a hint at most): it is revoked, then
 *   the `create` request makes a new key, read from the answer. So a retry never leaves a key
 *   nobody holds, and never needs more than one key slot more than the current key holds. The
 *   engine commits the run before `issue` (the renewer has `retire`), then stores the value as
 *   pending.
 * - `check`: the `test` request with the key (2xx: works; refused: KT_TARGET_AUTH_FAILED).
 * - `renewAt`: null (the policy's schedule decides).
 * - `retire`: the target's revoke (by the stored `keyId`, else the key's name through `list`, or
 *   the key itself), for a failed run's pending key and, after the policy's `grace`, the replaced
 *   one: the dual-key overlap. A key gone already is success.
 *
 * The admin credential comes from `ctx.adminValue` (a renew run passes the admin secret's value,
 * not a login): its fields fill `{{admin.<field>}}`; a plain string is `{{admin.password}}`.
 *
 * @example
 * ```ts
 * const target = new HttpApiKeyTarget(httpApiKeyConfigSchema.parse(config)); // with create.response.key
 * const value = await target.renewer!.issue(ctx, current, 'run_abc.g1'); // { username, password: 'sk_…', keyName: 'kt-…', keyId: 'key_7' }
 * await target.renewer!.check(ctx, value, { pendingSince: Date.now(), now: Date.now() });
 * await target.renewer!.retire!(ctx, old); // after grace
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { SecretValue } from '../../core/types.js';
import { assertUsername } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, Renewer, TargetContext } from '../target.js';
import type { HttpApiKeyTarget } from './http-api-key-target.js';
import { keyName, pick } from './keys.js';
import { withProvider } from './session.js';

/** No provider's limit: this keeps account names sane (as the target's own check). */
const MAX_USERNAME_CHARS = 512;

const ok = (status: number): boolean => status >= 200 && status < 300;

/** The fields a renewal replaces; every other field of the current value rides along. */
const KEY_FIELDS = new Set(['password', 'keyName', 'keyId']);

function text(v: unknown): string | null {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** The admin login of a renew context: `ctx.admin` when set, else the admin secret's value. */
function withAdmin(ctx: TargetContext): TargetContext {
  if (ctx.admin !== null || ctx.adminValue === undefined || ctx.adminValue === null) return ctx;
  const v = ctx.adminValue;
  const admin: Credential =
    typeof v === 'string' ? { username: '', password: v } : { ...v, username: typeof v.username === 'string' ? v.username : '', password: typeof v.password === 'string' ? v.password : '' };
  return { ...ctx, admin };
}

export class ProviderKeyRenewer implements Renewer {
  constructor(private readonly target: HttpApiKeyTarget) {}

  async issue(ctx: TargetContext, current: SecretValue | null, versionId: string): Promise<SecretValue> {
    const { config, kind } = this.target;
    const response = config.create.response!;
    const from = current !== null && typeof current === 'object' ? current : {};
    const username = typeof from.username === 'string' && from.username !== '' ? from.username : config.account;
    if (username === undefined) {
      throw new KeyturnError(
        'KT_TARGET_CONFIG_INVALID',
        'the http-api-key target has no account for a first key: set account in the target config, or give the secret an initial value with a username',
        {
          details: { target: kind },
        },
      );
    }
    assertUsername(kind, username, MAX_USERNAME_CHARS);
    const admin = withAdmin(ctx);
    const name = keyName(versionId);
    // No key yet: render with an empty password (create names no {{key}}: the config says so).
    const blank: Credential = { username, password: '', keyName: name };
    const attempt = { username, action: `create a key for "${username}"` };
    return withProvider(config, ctx.signal, async (send) => {
      // A key named for this version: an earlier attempt made it and its value is lost. End it first.
      const stale = (await this.target.list(send, admin, blank)).filter((k) => k.name !== null && k.name.includes(name));
      for (const k of stale) await this.target.revokeWith(send, admin, { ...blank, keyId: k.id });
      if (stale.length > 0) ctx.log.info({ target: kind, username, key: name, revoked: stale.length }, 'a key an interrupted issue made (its value lost) was revoked');

      const answer = await send(this.target.render(admin, 'create', blank, attempt), 'create', attempt);
      if (!ok(answer.status)) throw this.target.answerError(answer, 'create', attempt, admin);
      const json = answer.json();
      const key = text(pick(json, response.key));
      const keyId = response.id === undefined ? null : text(pick(json, response.id));
      if (key === null || (response.id !== undefined && keyId === null)) {
        // The provider made a key nobody can hold: take it back (a retry would find it by its name too).
        await this.target.revokeWith(send, admin, { ...blank, ...(keyId === null ? {} : { keyId }) }).catch((e: unknown) => {
          ctx.log.warn({ target: kind, username, key: name, code: (e as { code?: unknown }).code }, 'a key whose create answer could not be read could not be revoked');
        });
        const missing = key === null ? `no key at create.response.key (${response.key})` : `no id at create.response.id (${response.id ?? ''})`;
        throw targetError('KT_TARGET_FAILED', this.target.at, attempt, answer.status, `the create answer has ${missing}`);
      }
      ctx.log.debug({ target: kind, username, key: name }, 'api key created by the provider');
      const rest = Object.fromEntries(Object.entries(from).filter(([field]) => !KEY_FIELDS.has(field)));
      return { ...rest, username, password: key, keyName: name, ...(keyId === null ? {} : { keyId }) };
    });
  }

  async check(ctx: TargetContext, value: SecretValue): Promise<void> {
    await this.target.test(ctx, this.credentialOf(value));
  }

  renewAt(): number | null {
    return null;
  }

  async retire(ctx: TargetContext, value: SecretValue): Promise<void> {
    await this.target.revoke(withAdmin(ctx), this.credentialOf(value));
  }

  private credentialOf(value: SecretValue): Credential {
    if (typeof value === 'string' || typeof value.username !== 'string' || typeof value.password !== 'string' || value.password === '') {
      throw new KeyturnError('KT_TARGET_FAILED', 'the value is not an API key credential: it needs the fields username and password (the key)', { details: { target: this.target.kind } });
    }
    return value as Credential;
  }
}
