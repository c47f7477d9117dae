import { describe, expect, it } from 'vitest';
import { policyProblem } from './active-directory-target.js';

describe("policyProblem: the domain's rules a new password is checked against before it is sent", () => {
  const complex = { minLength: 7, complex: true };
  it('length, three of four kinds, not the account name; nothing but length without complexity', () => {
    expect(policyProblem(complex, 'app', 'Ab1-')).toContain('at least 7 characters (it has 4)');
    expect(policyProblem(complex, 'app', 'alllowercase')).toContain('it has 1');
    expect(policyProblem(complex, 'app', 'lower-and-dash')).toContain('it has 2');
    expect(policyProblem(complex, 'app', 'Lower-and-dash')).toBeNull();
    expect(policyProblem(complex, 'svc_app', 'X1-svc_APP-y')).toBe('the domain refuses a password that contains the account name');
    expect(policyProblem(complex, 'ab', 'Xab1-yyyy')).toBeNull();
    expect(policyProblem({ minLength: 7, complex: false }, 'app', 'alllowercase')).toBeNull();
    expect(policyProblem(complex, 'app', 'Ünïcode1')).toBeNull();
    // A generated password under the default policy (32 characters of every kind) passes.
    expect(policyProblem({ minLength: 14, complex: true }, 'app', 'aB3-cD4.eF5_gH6~iJ7-kL8.mN9_oP0~')).toBeNull();
  });
});
