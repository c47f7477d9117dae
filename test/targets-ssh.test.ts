/**
 * The ssh target against an sshd of this test process (test/helpers/sshd.ts; root with a key as
 * the admin, host key pinned, real system accounts): the Target contract with single-user and
 * dual-key, then what is particular to SSH keys and authorized_keys.
 */
import { runTargetContract } from '../src/contracts/target-contract.js';
import { sshFixture } from './fixtures/targets/ssh.js';

runTargetContract({
  name: 'ssh (OpenSSH sshd, root as admin)',
  strategies: ['single-user', 'dual-key'],
  make: sshFixture,
});
