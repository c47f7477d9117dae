/**
 * No lockout under kill -9, active-directory target (the test process's own Samba domain
 * controller, test/helpers/samba-dc.ts): every step boundary and seeded random moments of a real
 * `keyturn rotate` process, single-user and alternating-users. What is covered, the knobs
 * (KEYTURN_CRASH_SEED, KEYTURN_CRASH_RANDOM) and the full sweep: test/helpers/crash-suite.ts.
 */
import { crashSuite } from './helpers/crash-suite.js';

crashSuite('active-directory');
