/**
 * No lockout under kill -9, script target (test/fixtures/scripts/pg-role.sh, psql on the
 * password-auth cluster): every step boundary and seeded random moments of a real `keyturn rotate`
 * process, single-user and alternating-users. A kill during a call leaves the script running to
 * its end (it has its own process group): recovery must converge whatever it did. What is covered, the knobs (KEYTURN_CRASH_SEED, KEYTURN_CRASH_RANDOM) and the full sweep:
 * test/helpers/crash-suite.ts.
 */
import { crashSuite } from './helpers/crash-suite.js';

crashSuite('script');
