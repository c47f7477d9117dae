import { beforeAll, describe, expect, it } from 'vitest';
import { ConstraintViolationError, InvalidCredentialsError, UnwillingToPerformError } from 'ldapts';
import { loadLdap } from '../../core/drivers.js';
import { errorText } from '../../contracts/consumer-contract.js';
import { adError } from './errors.js';

const at = { kind: 'active-directory', host: 'dc1.corp.example.com', port: 636 };
const attempt = { username: 'svc_app', action: 'set the password of "svc_app"' };

describe('active-directory errors', () => {
  beforeAll(async () => {
    await loadLdap(); // resultCode recognizes ldapts's errors once it is loaded
  });

  it("a DC's refusal of a new password is KT_TARGET_PASSWORD_REJECTED with its Windows code, the wrong old password of an own change KT_TARGET_AUTH_FAILED", () => {
    const policy = adError(new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: the password is too short'), at, attempt, 'admin', { passwordChange: true });
    expect(policy.code).toBe('KT_TARGET_PASSWORD_REJECTED');
    expect(policy.details).toMatchObject({ driverCode: '19/0000052D' });
    expect(errorText(policy)).not.toContain('too short');
    const insecure = adError(new UnwillingToPerformError('0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0'), at, attempt, 'admin', { passwordChange: true });
    expect(insecure.code).toBe('KT_TARGET_PASSWORD_REJECTED');
    expect(insecure.details).toMatchObject({ driverCode: '53/0000001F' });
    const wrongOld = adError(new ConstraintViolationError("00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!"), at, attempt, 'svc_app', {
      passwordChange: true,
    });
    expect(wrongOld.code).toBe('KT_TARGET_AUTH_FAILED');
    // Outside a password change, a constraint violation is not about the password.
    expect(adError(new ConstraintViolationError('000020B5: AtrErr'), at, attempt, 'admin').code).toBe('KT_TARGET_FAILED');
  });

  it('a refused bind names why by its data code, and only the code', () => {
    const locked = adError(new InvalidCredentialsError('80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 775, v3839'), at, attempt, 'svc_app', { connecting: true });
    expect(locked.code).toBe('KT_TARGET_AUTH_FAILED');
    expect(locked.message).toContain('the account is locked out');
    expect(locked.details).toMatchObject({ driverCode: '49/775' });
    expect(locked.message).not.toContain('AcceptSecurityContext');
  });
});
