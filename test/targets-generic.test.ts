/**
 * The generic target (app secrets, `simple` strategy, no outside system) runs the Target
 * contract; the tests that need a server or a user are skipped with the reason.
 */
import { runTargetContract } from '../src/contracts/target-contract.js';
import { genericFixture } from './fixtures/targets/generic.js';

const NO_SERVER = 'the generic target has no server: set and test change and probe nothing';

runTargetContract({
  name: 'generic',
  strategies: ['simple'],
  make: genericFixture,
  skip: {
    'an unreachable target fails set and test with KT_TARGET_UNAVAILABLE': NO_SERVER,
    'a server that never answers fails set and test with KT_TARGET_UNAVAILABLE once the connect timeout passes': NO_SERVER,
    'an aborted signal stops set and test with KT_TARGET_UNAVAILABLE': NO_SERVER,
  },
});
