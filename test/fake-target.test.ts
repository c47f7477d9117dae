/**
 * The in-memory fake target (test/helpers/fake-target.ts) runs the Target contract like the real
 * targets, so the engine tests on it (src/engine/engine-decisions.test.ts) meet a target that
 * answers as a server would; only the tests that need a network port are skipped.
 */
import { runTargetContract } from '../src/contracts/target-contract.js';
import { FakeTarget } from './helpers/fake-target.js';
import { newPassword, uniqueName } from '../src/contracts/names.js';

const NO_PORT = 'the fake target lives in memory: it has no port to be unreachable at or to hang on';

runTargetContract({
  name: 'fake (in memory)',
  strategies: ['single-user', 'alternating-users'],
  make: async () => {
    const admin = { username: 'kt_admin', password: newPassword() };
    const fake = new FakeTarget({}, admin);
    return {
      target: fake,
      atPort: null,
      admin,
      async createUser(username, password) {
        fake.users.set(username, password);
        fake.memberships.set(username, new Set(['base']));
      },
      async dropUser(username) {
        fake.users.delete(username);
        fake.memberships.delete(username);
      },
      newMembership: async () => uniqueName('role'),
      grant: async (username, membership) => void fake.memberships.get(username)?.add(membership),
      memberships: async (username) => [...(fake.memberships.get(username) ?? [])].sort(),
      async weakAdmin() {
        const weak = { username: uniqueName('kt_adm'), password: newPassword() };
        fake.admins.set(weak.username, { password: weak.password, mayChangeUsers: false });
        return weak;
      },
      close: async () => undefined,
    };
  },
  skip: {
    'an unreachable target fails set and test with KT_TARGET_UNAVAILABLE': NO_PORT,
    'a server that never answers fails set and test with KT_TARGET_UNAVAILABLE once the connect timeout passes': NO_PORT,
  },
});
